import { apiKeysRouter, operatorApiKeysRouter } from '../auth/router.ts';
import { whoamiProcedure } from '../auth/whoami.procedure.ts';
import { versionProcedure } from '../system/version.procedure.ts';
import { auditEventsRouter, operatorAuditEventsRouter, operatorTenantsRouter } from '../tenants/router.ts';
import { campaignsRouter } from '../campaigns/router.ts';
import { customersRouter } from '../customers/router.ts';
import { issuerSettingsRouter } from '../issuer-settings/procedures.ts';
import { posRouter } from '../pos/router.ts';
import { offersRouter } from '../offers/router.ts';
import { codeBatchesRouter, codesRouter } from '../pools/router.ts';
import { agreementsRouter, operatorAgreementsRouter } from '../agreements/router.ts';
import { catalogProcedure, rewardsRouter } from '../rewards/router.ts';
import { exchangeProcedure } from '../exchange/router.ts';
import { jwksProcedure, signingKeysRouter, vouchersRouter } from '../vouchers/router.ts';
import { redemptionsRouter } from '../redemptions/router.ts';
import { webhooksRouter } from '../webhooks/router.ts';
import { operatorSettlementRouter, settlementRouter } from '../settlement/router.ts';
import { operatorUsersRouter, usersRouter } from '../users/router.ts';
import { fraudRouter } from '../fraud/router.ts';
import { router } from './trpc.ts';

export const appRouter = router({
  version: versionProcedure,
  me: whoamiProcedure,
  apiKeys: apiKeysRouter,
  auditEvents: auditEventsRouter,
  users: usersRouter,
  issuerSettings: issuerSettingsRouter,
  campaigns: campaignsRouter,
  customers: customersRouter,
  pos: posRouter,
  offers: offersRouter,
  codeBatches: codeBatchesRouter,
  codes: codesRouter,
  agreements: agreementsRouter,
  rewards: rewardsRouter,
  catalog: catalogProcedure,
  exchange: exchangeProcedure,
  vouchers: vouchersRouter,
  signingKeys: signingKeysRouter,
  jwks: jwksProcedure,
  redemptions: redemptionsRouter,
  webhooks: webhooksRouter,
  settlement: settlementRouter,
  fraud: fraudRouter,
  operator: router({
    tenants: operatorTenantsRouter,
    apiKeys: operatorApiKeysRouter,
    users: operatorUsersRouter,
    auditEvents: operatorAuditEventsRouter,
    agreements: operatorAgreementsRouter,
    settlement: operatorSettlementRouter,
  }),
});

export type AppRouter = typeof appRouter;
