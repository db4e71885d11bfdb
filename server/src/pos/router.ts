import { z } from 'zod';
import { router, tenantProcedure } from '../trpc/trpc.ts';
import { purchaseInputSchema, purchaseOutputSchema, returnInputSchema, returnOutputSchema } from './receipt.ts';
import { recordPurchase } from './record-purchase.ts';
import { recordReturn } from './record-return.ts';

const idempotencyHeader = z.object({
  'Idempotency-Key': z.string().describe('Required. A unique value per receipt or return (e.g. a UUID); send the same value when retrying.'),
});

export const posRouter = router({
  recordPurchase: tenantProcedure
    .meta({
      scopes: ['pos:write'],
      role: 'issuer',
      openapi: {
        method: 'POST',
        path: '/v1/pos/purchases',
        tags: ['pos'],
        summary: 'Record a purchase and credit its stickers (idempotent)',
        description: 'A retry with the same Idempotency-Key returns the first answer (with the header Idempotent-Replayed: true); the same key with a different body is refused with IDEMPOTENCY_KEY_REUSED.',
        requestHeaders: idempotencyHeader,
        protect: true,
      },
    })
    .input(purchaseInputSchema)
    .output(purchaseOutputSchema)
    .mutation(async ({ ctx, input }) => {
      const { result, replayed } = await recordPurchase(
        { tenant: ctx.tenant, secrets: ctx.services.secrets, now: ctx.services.clock.now(), idempotencyKey: ctx.idempotencyKey },
        input,
      );
      if (replayed) ctx.responseHeaders.set('Idempotent-Replayed', 'true');
      return result;
    }),
  recordReturn: tenantProcedure
    .meta({
      scopes: ['pos:write'],
      role: 'issuer',
      openapi: {
        method: 'POST',
        path: '/v1/pos/returns',
        tags: ['pos'],
        summary: 'Record a return (whole receipt or lines) and take back its stickers (idempotent)',
        requestHeaders: idempotencyHeader,
        protect: true,
      },
    })
    .input(returnInputSchema)
    .output(returnOutputSchema)
    .mutation(async ({ ctx, input }) => {
      const { result, replayed } = await recordReturn(
        { tenant: ctx.tenant, secrets: ctx.services.secrets, now: ctx.services.clock.now(), idempotencyKey: ctx.idempotencyKey },
        input,
      );
      if (replayed) ctx.responseHeaders.set('Idempotent-Replayed', 'true');
      return result;
    }),
});
