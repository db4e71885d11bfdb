import { z } from 'zod';
import { router, tenantProcedure } from '../trpc/trpc.ts';
import { getPoolState, poolStateOutputSchema } from '../pools/pool-state.ts';
import { createOffer, getOffer, listOffers, setOfferStatus, updateOffer } from './manage-offers.ts';
import { createOfferInputSchema, offerIdSchema, offerOutputSchema, offerStatusSchema, updateOfferInputSchema } from './offer.ts';

const byId = z.strictObject({ offerId: offerIdSchema });
const partner = { scopes: ['pools:write' as const], role: 'partner' as const };

export const offersRouter = router({
  create: tenantProcedure
    .meta({ ...partner, openapi: { method: 'POST', path: '/v1/offers', tags: ['offers'], summary: 'Create an offer (draft or active) with its value and code rules', protect: true } })
    .input(createOfferInputSchema)
    .output(offerOutputSchema)
    .mutation(({ ctx, input }) => createOffer({ tenant: ctx.tenant, actor: ctx.keyId, now: ctx.services.clock.now() }, input)),
  list: tenantProcedure
    .meta({ ...partner, openapi: { method: 'GET', path: '/v1/offers', tags: ['offers'], summary: 'All offers, newest first', protect: true } })
    .input(z.strictObject({ status: offerStatusSchema.optional() }).optional())
    .output(z.object({ offers: z.array(offerOutputSchema) }))
    .query(async ({ ctx, input }) => ({ offers: await listOffers(ctx.tenant, { status: input?.status }) })),
  get: tenantProcedure
    .meta({ ...partner, openapi: { method: 'GET', path: '/v1/offers/{offerId}', tags: ['offers'], summary: 'One offer', protect: true } })
    .input(byId)
    .output(offerOutputSchema)
    .query(({ ctx, input }) => getOffer(ctx.tenant, input.offerId)),
  update: tenantProcedure
    .meta({ ...partner, openapi: { method: 'PATCH', path: '/v1/offers/{offerId}', tags: ['offers'], summary: 'Edit an offer; its value is fixed once codes are issued', protect: true } })
    .input(byId.extend(updateOfferInputSchema.shape).strict())
    .output(offerOutputSchema)
    .mutation(({ ctx, input }) => {
      const { offerId, ...patch } = input;
      return updateOffer({ tenant: ctx.tenant, actor: ctx.keyId, now: ctx.services.clock.now() }, offerId, patch);
    }),
  setStatus: tenantProcedure
    .meta({ ...partner, openapi: { method: 'POST', path: '/v1/offers/{offerId}/status', tags: ['offers'], summary: 'Activate, pause or close an offer', protect: true } })
    .input(byId.extend({ status: offerStatusSchema }).strict())
    .output(offerOutputSchema)
    .mutation(({ ctx, input }) => setOfferStatus({ tenant: ctx.tenant, actor: ctx.keyId, now: ctx.services.clock.now() }, input.offerId, input.status)),
  poolState: tenantProcedure
    .meta({ ...partner, openapi: { method: 'GET', path: '/v1/offers/{offerId}/pool', tags: ['offers'], summary: 'Codes by status, 7-day issue rate and days until empty', protect: true } })
    .input(byId)
    .output(poolStateOutputSchema)
    .query(({ ctx, input }) => getPoolState(ctx.tenant, input.offerId, ctx.services.clock.now())),
});
