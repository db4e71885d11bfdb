import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { ErrorCode as ServerErrorCode } from '../server/src/errors/error-codes.ts';
import { OUTBOX_EVENT_TYPES } from '../server/src/outbox/events.ts';
import { appRouter, type AppRouter as ServerAppRouter } from '../server/src/trpc/app-router.ts';
import type { ProcedureMeta } from '../server/src/trpc/trpc.ts';
import type { voucherClaims } from '../server/src/vouchers/voucher-token.ts';
import { IDEMPOTENT_PROCEDURES, WEBHOOK_EVENT_TYPES, type AppRouter, type ErrorCode, type VoucherClaims } from '../client-sdk/src/index.ts';

/** What the SDK assumes about the server, checked against the server itself (the test may import it; the SDK may not). */
describe('the SDK agrees with the server', () => {
  it('adds an Idempotency-Key to exactly the procedures whose OpenAPI description declares the header', () => {
    const procedures = appRouter._def.procedures as unknown as Record<string, { _def: { type: string; meta?: ProcedureMeta } }>;
    const declaring = Object.entries(procedures)
      .filter(([, procedure]) => {
        const headers = procedure._def.meta?.openapi?.requestHeaders as { shape?: Record<string, unknown> } | undefined;
        return headers?.shape !== undefined && 'Idempotency-Key' in headers.shape;
      })
      .map(([path, procedure]) => ({ path, type: procedure._def.type }));
    expect(declaring.length).toBeGreaterThan(0);
    expect(declaring.every((procedure) => procedure.type === 'mutation')).toBe(true);
    expect([...IDEMPOTENT_PROCEDURES].sort()).toEqual(declaring.map((procedure) => procedure.path).sort());
  });

  it('knows every webhook event type the server writes, and the test event', () => {
    expect([...WEBHOOK_EVENT_TYPES].sort()).toEqual([...OUTBOX_EVENT_TYPES, 'webhook.test'].sort());
  });

  it('types inputs, outputs, error codes and voucher claims exactly as the server defines them', () => {
    // Checked by the compiler (npx tsc --noEmit): a mismatch is a type error here.
    expectTypeOf<inferRouterInputs<AppRouter>>().toEqualTypeOf<inferRouterInputs<ServerAppRouter>>();
    expectTypeOf<inferRouterOutputs<AppRouter>>().toEqualTypeOf<inferRouterOutputs<ServerAppRouter>>();
    expectTypeOf<ErrorCode>().toEqualTypeOf<ServerErrorCode>();
    // Both ways: the server's inferred union spells each branch's missing fields as optional undefined.
    expectTypeOf<ReturnType<typeof voucherClaims>>().toExtend<VoucherClaims>();
    expectTypeOf<VoucherClaims>().toExtend<ReturnType<typeof voucherClaims>>();
  });
});
