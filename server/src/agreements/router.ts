import { z } from 'zod';
import { offerSummarySchema } from '../offers/offer.ts';
import { slugSchema } from '../tenants/tenant.ts';
import { operatorProcedure, router, tenantProcedure } from '../trpc/trpc.ts';
import {
  agreementDecisionReason,
  agreementIdSchema,
  agreementOutputSchema,
  agreementStatusChangeSchema,
  agreementStatusSchema,
  createAgreementInputSchema,
  proposeAgreementInputSchema,
} from './agreement.ts';
import { changeAgreementStatus, createAgreement, decideProposal, getAgreement, listAgreements, proposeAgreement } from './manage-agreements.ts';

const byId = z.strictObject({ agreementId: agreementIdSchema });
const withReason = byId.extend({ reason: agreementDecisionReason }).strict();
const read = { scopes: ['agreements:read' as const] };
const write = { scopes: ['agreements:write' as const] };
const listOutput = z.object({ agreements: z.array(agreementOutputSchema) });

export const agreementsRouter = router({
  propose: tenantProcedure
    .meta({
      ...write,
      openapi: {
        method: 'POST',
        path: '/v1/agreements',
        tags: ['agreements'],
        summary: 'Propose an agreement to a partner (as issuer) or to an issuer (as partner)',
        description: 'Nothing is in force until the other side accepts. Name `partner` when you are the issuer, `issuer` when you are the partner.',
        protect: true,
      },
    })
    .input(proposeAgreementInputSchema)
    .output(agreementOutputSchema)
    .mutation(({ ctx, input }) => proposeAgreement({ db: ctx.services.db, tenant: ctx.tenant, actor: ctx.keyId, now: ctx.services.clock.now() }, input)),
  list: tenantProcedure
    .meta({ ...read, openapi: { method: 'GET', path: '/v1/agreements', tags: ['agreements'], summary: 'Agreements this tenant is a party to, newest first', protect: true } })
    .input(
      z
        .strictObject({
          status: agreementStatusSchema.optional(),
          side: z.enum(['issuer', 'partner']).optional().describe('Only those where this tenant is on this side.'),
          counterparty: slugSchema.optional().describe('Only those with this other tenant.'),
        })
        .optional(),
    )
    .output(listOutput)
    .query(async ({ ctx, input }) => ({ agreements: await listAgreements({ db: ctx.services.db, tenant: ctx.tenant, now: ctx.services.clock.now() }, input ?? {}) })),
  get: tenantProcedure
    .meta({ ...read, openapi: { method: 'GET', path: '/v1/agreements/{agreementId}', tags: ['agreements'], summary: "One agreement, with the partner's offers it covers", protect: true } })
    .input(byId)
    .output(
      agreementOutputSchema.extend({
        offers: z.array(offerSummarySchema).describe("The partner's offers it covers; empty for the issuer while its own proposal is not accepted (the partner has not disclosed them yet)."),
      }),
    )
    .query(({ ctx, input }) => getAgreement({ db: ctx.services.db, tenant: ctx.tenant, now: ctx.services.clock.now() }, input.agreementId)),
  accept: tenantProcedure
    .meta({ ...write, openapi: { method: 'POST', path: '/v1/agreements/{agreementId}/accept', tags: ['agreements'], summary: 'Accept a proposal from the other side: it comes into force', protect: true } })
    .input(byId)
    .output(agreementOutputSchema)
    .mutation(({ ctx, input }) => decideProposal({ db: ctx.services.db, tenant: ctx.tenant, actor: ctx.keyId, now: ctx.services.clock.now() }, input.agreementId, 'accept')),
  decline: tenantProcedure
    .meta({ ...write, openapi: { method: 'POST', path: '/v1/agreements/{agreementId}/decline', tags: ['agreements'], summary: 'Decline a proposal from the other side', protect: true } })
    .input(withReason)
    .output(agreementOutputSchema)
    .mutation(({ ctx, input }) => decideProposal({ db: ctx.services.db, tenant: ctx.tenant, actor: ctx.keyId, now: ctx.services.clock.now() }, input.agreementId, 'decline', input.reason)),
  withdraw: tenantProcedure
    .meta({ ...write, openapi: { method: 'POST', path: '/v1/agreements/{agreementId}/withdraw', tags: ['agreements'], summary: 'Withdraw your own proposal before it is accepted', protect: true } })
    .input(withReason)
    .output(agreementOutputSchema)
    .mutation(({ ctx, input }) => decideProposal({ db: ctx.services.db, tenant: ctx.tenant, actor: ctx.keyId, now: ctx.services.clock.now() }, input.agreementId, 'withdraw', input.reason)),
  setStatus: tenantProcedure
    .meta({
      ...write,
      openapi: {
        method: 'POST',
        path: '/v1/agreements/{agreementId}/status',
        tags: ['agreements'],
        summary: 'Suspend, resume or end an agreement (issued vouchers stay valid)',
        protect: true,
      },
    })
    .input(byId.extend(agreementStatusChangeSchema.shape).strict())
    .output(agreementOutputSchema)
    .mutation(({ ctx, input }) => {
      const { agreementId, ...change } = input;
      return changeAgreementStatus({ db: ctx.services.db, tenant: ctx.tenant, actor: ctx.keyId, now: ctx.services.clock.now() }, agreementId, change);
    }),
});

export const operatorAgreementsRouter = router({
  create: operatorProcedure
    .meta({ openapi: { method: 'POST', path: '/v1/operator/agreements', tags: ['operator'], summary: 'Set up an agreement between an issuer and a partner, in force at once', protect: true } })
    .input(createAgreementInputSchema)
    .output(agreementOutputSchema)
    .mutation(({ ctx, input }) => createAgreement({ db: ctx.services.db, actor: ctx.operatorKeyId, now: ctx.services.clock.now() }, input)),
  list: operatorProcedure
    .meta({ openapi: { method: 'GET', path: '/v1/operator/agreements', tags: ['operator'], summary: 'All agreements, or those of one tenant', protect: true } })
    .input(z.strictObject({ tenant: slugSchema.optional(), status: agreementStatusSchema.optional() }).optional())
    .output(listOutput)
    .query(async ({ ctx, input }) => ({
      agreements: await listAgreements({ db: ctx.services.db, tenant: null, now: ctx.services.clock.now() }, { status: input?.status, counterparty: input?.tenant }),
    })),
  setStatus: operatorProcedure
    .meta({ openapi: { method: 'POST', path: '/v1/operator/agreements/{agreementId}/status', tags: ['operator'], summary: 'Suspend, resume or end any agreement', protect: true } })
    .input(byId.extend(agreementStatusChangeSchema.shape).strict())
    .output(agreementOutputSchema)
    .mutation(({ ctx, input }) => {
      const { agreementId, ...change } = input;
      return changeAgreementStatus({ db: ctx.services.db, tenant: null, actor: ctx.operatorKeyId, now: ctx.services.clock.now() }, agreementId, change);
    }),
});
