import { z } from 'zod';
import type { TenantHandle } from '../auth/principal.ts';
import type { RequestContext } from '../trpc/context.ts';
import { router, tenantProcedure } from '../trpc/trpc.ts';
import { purchaseInputSchema, purchaseOutputSchema, returnInputSchema, returnOutputSchema } from './receipt.ts';
import { recordPurchase, type PosContext } from './record-purchase.ts';
import { recordReturn } from './record-return.ts';

const idempotencyHeader = z.object({
  'Idempotency-Key': z.string().describe('Required. A unique value per receipt or return (e.g. a UUID); send the same value when retrying.'),
});

type Outcome<T> = { result: T; replayed: boolean };

/** Runs a POS use-case with the request's clock, secrets and Idempotency-Key, and flags replays. */
async function posCall<T>(
  ctx: RequestContext & { tenant: TenantHandle },
  run: (context: PosContext) => Promise<Outcome<T>>,
): Promise<T> {
  const { result, replayed } = await run({ tenant: ctx.tenant, secrets: ctx.services.secrets, now: ctx.services.clock.now(), idempotencyKey: ctx.idempotencyKey });
  if (replayed) ctx.responseHeaders.set('Idempotent-Replayed', 'true');
  return result;
}

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
        description:
          "A retry with the same Idempotency-Key returns the first answer (with the header Idempotent-Replayed: true); the same key with a different body is refused with IDEMPOTENCY_KEY_REUSED. The issuer's anti-fraud rules (docs/fraud.md) judge the receipt in the same transaction: a flag or a hold shows in `review`, a block answers FRAUD_SUSPECTED and records nothing but the case.",
        requestHeaders: idempotencyHeader,
        protect: true,
      },
    })
    .input(purchaseInputSchema)
    .output(purchaseOutputSchema)
    .mutation(({ ctx, input }) => posCall(ctx, (context) => recordPurchase(context, input))),
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
    .mutation(({ ctx, input }) => posCall(ctx, (context) => recordReturn(context, input))),
});
