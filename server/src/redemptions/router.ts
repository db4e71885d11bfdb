import { z } from 'zod';
import { router, tenantProcedure } from '../trpc/trpc.ts';
import { getRedemption, listRedemptions, reverseRedemption } from './manage-redemptions.ts';
import { redeemCode, validateCode, type RedemptionContext } from './redeem-code.ts';
import {
  listRedemptionsInputSchema,
  redeemCodeInputSchema,
  redemptionIdSchema,
  redemptionOutputSchema,
  reverseRedemptionInputSchema,
  validateCodeInputSchema,
  validationOutputSchema,
} from './redemption.ts';

const redeemer = { scopes: ['codes:redeem' as const], role: 'partner' as const };

function contextOf(ctx: { services: RedemptionContext['services']; tenant: RedemptionContext['tenant']; keyId: string }): RedemptionContext {
  return { services: ctx.services, tenant: ctx.tenant, actor: ctx.keyId, now: ctx.services.clock.now() };
}

export const redemptionsRouter = router({
  validate: tenantProcedure
    .meta({
      ...redeemer,
      openapi: {
        method: 'POST',
        path: '/v1/codes/validate',
        tags: ['redemption'],
        summary: 'Check a code or signed voucher before payment: valid or why not, and the discount it gives (changes nothing)',
        description: 'Always 200 for a well-formed request: `valid` and `reason` say whether the code can be redeemed now. A code failing its check character is refused without a lookup.',
        protect: true,
      },
    })
    .input(validateCodeInputSchema)
    .output(validationOutputSchema)
    .mutation(({ ctx, input }) => validateCode(contextOf(ctx), input)),
  redeem: tenantProcedure
    .meta({
      ...redeemer,
      openapi: {
        method: 'POST',
        path: '/v1/redemptions',
        tags: ['redemption'],
        summary: 'Redeem a code for an order, exactly once (idempotent)',
        description:
          'A retry with the same Idempotency-Key returns the first answer (with Idempotent-Replayed: true). Anyone redeeming a redeemed code gets ALREADY_REDEEMED; other refusals use the reason codes of validate.',
        requestHeaders: z.object({ 'Idempotency-Key': z.string().describe('Required. A unique value per intended redemption (e.g. the order id plus the code); send the same value when retrying.') }),
        protect: true,
      },
    })
    .input(redeemCodeInputSchema)
    .output(redemptionOutputSchema)
    .mutation(async ({ ctx, input }) => {
      const { result, replayed } = await redeemCode(contextOf(ctx), ctx.idempotencyKey, input);
      if (replayed) ctx.responseHeaders.set('Idempotent-Replayed', 'true');
      return result;
    }),
  reverse: tenantProcedure
    .meta({
      ...redeemer,
      openapi: {
        method: 'POST',
        path: '/v1/redemptions/{redemptionId}/reverse',
        tags: ['redemption'],
        summary: 'Reverse a redemption (order cancelled or refunded): the code can be redeemed again',
        description: 'Allowed within REDEMPTION_REVERSAL_DAYS (default 30) of the redemption. Reversing a reversed redemption returns it unchanged.',
        protect: true,
      },
    })
    .input(z.strictObject({ redemptionId: redemptionIdSchema, ...reverseRedemptionInputSchema.shape }))
    .output(redemptionOutputSchema)
    .mutation(({ ctx, input }) => reverseRedemption(contextOf(ctx), input.redemptionId, { reason: input.reason })),
  get: tenantProcedure
    .meta({ ...redeemer, openapi: { method: 'GET', path: '/v1/redemptions/{redemptionId}', tags: ['redemption'], summary: 'One redemption', protect: true } })
    .input(z.strictObject({ redemptionId: redemptionIdSchema }))
    .output(redemptionOutputSchema)
    .query(({ ctx, input }) => getRedemption(contextOf(ctx), input.redemptionId)),
  list: tenantProcedure
    .meta({
      ...redeemer,
      openapi: { method: 'GET', path: '/v1/redemptions', tags: ['redemption'], summary: 'Your redemptions, newest first: search by code, order reference, status and time', protect: true },
    })
    .input(listRedemptionsInputSchema)
    .output(z.object({ redemptions: z.array(redemptionOutputSchema), nextCursor: z.string().nullable() }))
    .query(({ ctx, input }) => listRedemptions(contextOf(ctx), input)),
});
