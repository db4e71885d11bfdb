import { z } from 'zod';
import { getIssuerSettings } from '../issuer-settings/issuer-settings.ts';
import { adjustmentInputSchema, adjustStickers } from '../stickers/adjust-stickers.ts';
import { balanceOutputSchema, computeBalance, computeProgress, progressOutputSchema } from '../stickers/balance.ts';
import { historyEntrySchema, listHistory } from '../stickers/history.ts';
import { humanText } from '../errors/text-schemas.ts';
import { router, tenantProcedure } from '../trpc/trpc.ts';
import { cardNumberSchema, customerIdSchema, customerOutputSchema, customerRefSchema, phoneInputSchema, toCustomer } from './customer.ts';
import { attachIdentity, enrolCustomer, lookUpCustomer, requireCustomer, setCustomerBlocked } from './manage-customers.ts';

const byId = z.strictObject({ customerId: customerIdSchema });
const identities = { cardNumber: cardNumberSchema.optional(), phone: phoneInputSchema.optional() };

export const customersRouter = router({
  enrol: tenantProcedure
    .meta({ scopes: ['pos:write'], role: 'issuer', openapi: { method: 'POST', path: '/v1/customers', tags: ['customers'], summary: 'Enrol a customer by card, phone or both', protect: true } })
    .input(z.strictObject(identities))
    .output(customerOutputSchema)
    .mutation(({ ctx, input }) => enrolCustomer({ tenant: ctx.tenant, secrets: ctx.services.secrets }, input, 'api')),
  attachIdentity: tenantProcedure
    .meta({ scopes: ['pos:write'], role: 'issuer', openapi: { method: 'POST', path: '/v1/customers/{customerId}/identities', tags: ['customers'], summary: 'Attach a card or phone to a customer', protect: true } })
    .input(byId.extend(identities).strict().refine((input) => input.cardNumber !== undefined || input.phone !== undefined, 'give a cardNumber, a phone, or both'))
    .output(customerOutputSchema)
    .mutation(({ ctx, input }) => attachIdentity({ tenant: ctx.tenant, secrets: ctx.services.secrets }, input.customerId, input)),
  lookup: tenantProcedure
    .meta({ scopes: ['customers:read'], role: 'issuer', openapi: { method: 'GET', path: '/v1/customers/lookup', tags: ['customers'], summary: 'Find a customer by card number or phone', protect: true } })
    .input(customerRefSchema)
    .output(customerOutputSchema)
    .query(({ ctx, input }) => lookUpCustomer({ tenant: ctx.tenant, secrets: ctx.services.secrets }, input)),
  get: tenantProcedure
    .meta({ scopes: ['customers:read'], role: 'issuer', openapi: { method: 'GET', path: '/v1/customers/{customerId}', tags: ['customers'], summary: 'One customer', protect: true } })
    .input(byId)
    .output(customerOutputSchema)
    .query(async ({ ctx, input }) => toCustomer(await requireCustomer(ctx.tenant, input.customerId))),
  block: tenantProcedure
    .meta({ scopes: ['admin'], role: 'issuer', openapi: { method: 'POST', path: '/v1/customers/{customerId}/block', tags: ['customers'], summary: 'Block a customer: no accrual, no exchange', protect: true } })
    .input(byId.extend({ reason: humanText(500) }).strict())
    .output(customerOutputSchema)
    .mutation(({ ctx, input }) => setCustomerBlocked({ tenant: ctx.tenant, actor: ctx.keyId }, input.customerId, { reason: input.reason }, ctx.services.clock.now())),
  unblock: tenantProcedure
    .meta({ scopes: ['admin'], role: 'issuer', openapi: { method: 'POST', path: '/v1/customers/{customerId}/unblock', tags: ['customers'], summary: 'Lift a block', protect: true } })
    .input(byId)
    .output(customerOutputSchema)
    .mutation(({ ctx, input }) => setCustomerBlocked({ tenant: ctx.tenant, actor: ctx.keyId }, input.customerId, null, ctx.services.clock.now())),
  balance: tenantProcedure
    .meta({ scopes: ['customers:read'], role: 'issuer', openapi: { method: 'GET', path: '/v1/customers/{customerId}/balance', tags: ['customers'], summary: 'Available, pending (with release dates) and expiring-soon stickers', protect: true } })
    .input(byId)
    .output(balanceOutputSchema)
    .query(async ({ ctx, input }) => {
      await requireCustomer(ctx.tenant, input.customerId);
      return computeBalance(ctx.tenant.db, input.customerId, ctx.services.clock.now(), await getIssuerSettings(ctx.tenant.db));
    }),
  progress: tenantProcedure
    .meta({ scopes: ['customers:read'], role: 'issuer', openapi: { method: 'GET', path: '/v1/customers/{customerId}/progress', tags: ['customers'], summary: 'Stickers still needed for each goal, and percent complete', protect: true } })
    .input(byId)
    .output(progressOutputSchema)
    .query(async ({ ctx, input }) => {
      await requireCustomer(ctx.tenant, input.customerId);
      return computeProgress(ctx.tenant.db, input.customerId, ctx.services.clock.now());
    }),
  history: tenantProcedure
    .meta({ scopes: ['customers:read'], role: 'issuer', openapi: { method: 'GET', path: '/v1/customers/{customerId}/history', tags: ['customers'], summary: 'Sticker history, newest first, with reasons', protect: true } })
    .input(
      byId
        .extend({
          limit: z.coerce.number().int().min(1).max(200).default(50),
          cursor: z.string().regex(/^\d{1,18}$/, 'must be the nextCursor of a previous page').optional(),
        })
        .strict(),
    )
    .output(z.object({ entries: z.array(historyEntrySchema), nextCursor: z.string().nullable() }))
    .query(async ({ ctx, input }) => {
      await requireCustomer(ctx.tenant, input.customerId);
      return listHistory(ctx.tenant.db, input.customerId, input);
    }),
  adjust: tenantProcedure
    .meta({ scopes: ['admin'], role: 'issuer', openapi: { method: 'POST', path: '/v1/customers/{customerId}/adjustments', tags: ['customers'], summary: 'Manual correction with a reason (support)', protect: true } })
    .input(byId.extend(adjustmentInputSchema.shape).strict())
    .output(balanceOutputSchema)
    .mutation(({ ctx, input }) => {
      const { customerId, ...adjustment } = input;
      return adjustStickers({ tenant: ctx.tenant, actor: ctx.keyId, now: ctx.services.clock.now() }, customerId, adjustment);
    }),
});
