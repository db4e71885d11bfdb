import { z } from 'zod';
import { tenantProcedure } from '../trpc/trpc.ts';
import { exchangeInputSchema, exchangeOutputSchema, exchangeStickers } from './exchange-stickers.ts';

export const exchangeProcedure = tenantProcedure
  .meta({
    scopes: ['exchange:write'],
    role: 'issuer',
    openapi: {
      method: 'POST',
      path: '/v1/exchanges',
      tags: ['exchange'],
      summary: "Exchange a customer's stickers for a reward: one promo code and a signed voucher (idempotent)",
      description:
        'Debits the stickers, takes one code from the partner pool and records the voucher in one transaction. A retry with the same Idempotency-Key returns the first answer (with Idempotent-Replayed: true); the same key with a different body is IDEMPOTENCY_KEY_REUSED. An anti-fraud rule of the issuer (docs/fraud.md) may refuse it with FRAUD_SUSPECTED: nothing is spent, and the case is open for review.',
      requestHeaders: z.object({ 'Idempotency-Key': z.string().describe('Required. A unique value per intended exchange (e.g. a UUID); send the same value when retrying.') }),
      protect: true,
    },
  })
  .input(exchangeInputSchema)
  .output(exchangeOutputSchema)
  .mutation(async ({ ctx, input }) => {
    const { result, replayed } = await exchangeStickers(
      { db: ctx.services.db, secrets: ctx.services.secrets, tenant: ctx.tenant, now: ctx.services.clock.now(), idempotencyKey: ctx.idempotencyKey },
      input,
    );
    if (replayed) ctx.responseHeaders.set('Idempotent-Replayed', 'true');
    return result;
  });
