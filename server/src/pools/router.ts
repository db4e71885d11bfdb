import { z } from 'zod';
import { offerIdSchema } from '../offers/offer.ts';
import { router, tenantProcedure } from '../trpc/trpc.ts';
import { batchIdSchema, batchOutputSchema } from './batch.ts';
import { findCode, findCodeInputSchema, listCodes, listCodesInputSchema, maskedCodeSchema } from './codes.ts';
import { generateCodesInputSchema } from './generation.ts';
import { generateBatch, getBatch, listBatches, voidBatch, voidBatchInputSchema } from './manage-batches.ts';

const partner = { scopes: ['pools:write' as const], role: 'partner' as const };
const byBatch = z.strictObject({ batchId: batchIdSchema });
const byOffer = z.strictObject({ offerId: offerIdSchema });

export const codeBatchesRouter = router({
  generate: tenantProcedure
    .meta({ ...partner, openapi: { method: 'POST', path: '/v1/offers/{offerId}/code-batches/generate', tags: ['code batches'], summary: 'Generate N codes into a new batch (runs as a job)', protect: true } })
    .input(byOffer.extend(generateCodesInputSchema.shape).strict())
    .output(batchOutputSchema)
    .mutation(({ ctx, input }) => {
      const { offerId, ...spec } = input;
      return generateBatch({ services: ctx.services, tenant: ctx.tenant, actor: ctx.keyId }, offerId, spec);
    }),
  list: tenantProcedure
    .meta({ ...partner, openapi: { method: 'GET', path: '/v1/offers/{offerId}/code-batches', tags: ['code batches'], summary: 'Batches of an offer, newest first', protect: true } })
    .input(byOffer)
    .output(z.object({ batches: z.array(batchOutputSchema) }))
    .query(async ({ ctx, input }) => ({ batches: await listBatches({ services: ctx.services, tenant: ctx.tenant, actor: ctx.keyId }, input.offerId) })),
  get: tenantProcedure
    .meta({ ...partner, openapi: { method: 'GET', path: '/v1/code-batches/{batchId}', tags: ['code batches'], summary: 'One batch: status, import progress, codes by status, rejects by reason', protect: true } })
    .input(byBatch)
    .output(batchOutputSchema)
    .query(({ ctx, input }) => getBatch({ services: ctx.services, tenant: ctx.tenant, actor: ctx.keyId }, input.batchId)),
  void: tenantProcedure
    .meta({ ...partner, openapi: { method: 'POST', path: '/v1/code-batches/{batchId}/void', tags: ['code batches'], summary: 'Void a batch: its unissued codes leave the pool', protect: true } })
    .input(byBatch.extend(voidBatchInputSchema.shape).strict())
    .output(batchOutputSchema)
    .mutation(({ ctx, input }) => voidBatch({ services: ctx.services, tenant: ctx.tenant, actor: ctx.keyId }, input.batchId, { reason: input.reason })),
});

export const codesRouter = router({
  list: tenantProcedure
    .meta({ ...partner, openapi: { method: 'GET', path: '/v1/offers/{offerId}/codes', tags: ['codes'], summary: 'Codes of an offer, masked, a page at a time', protect: true } })
    .input(listCodesInputSchema)
    .output(z.object({ codes: z.array(maskedCodeSchema), next: z.string().nullable() }))
    .query(({ ctx, input }) => listCodes(ctx.tenant, input, ctx.services.clock.now())),
  find: tenantProcedure
    .meta({ ...partner, openapi: { method: 'POST', path: '/v1/codes/find', tags: ['codes'], summary: 'Look one code up by its full value (sent in the body, never in a URL)', protect: true } })
    .input(findCodeInputSchema)
    .output(maskedCodeSchema)
    .mutation(({ ctx, input }) => findCode(ctx.tenant, ctx.services.secrets, input, ctx.services.clock.now())),
});
