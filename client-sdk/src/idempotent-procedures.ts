import type { AppRouterSurface } from './app-router.ts';

type MutationPath<TSurface, TPrefix extends string = ''> = {
  [K in keyof TSurface & string]: TSurface[K] extends { type: 'mutation' }
    ? `${TPrefix}${K}`
    : TSurface[K] extends { type: 'query' }
      ? never
      : MutationPath<TSurface[K], `${TPrefix}${K}.`>;
}[keyof TSurface & string];

/** The path of a mutation of the server's router, e.g. `redemptions.redeem`. */
export type MutationProcedurePath = MutationPath<AppRouterSurface>;

/**
 * The mutations the server runs at most once per `Idempotency-Key`, and refuses
 * without one (IDEMPOTENCY_KEY_REQUIRED). The client gives each call of these a fresh
 * key and sends it again on every retry of that call. Kept equal to the procedures
 * whose OpenAPI description declares the header by test/sdk-contract.test.ts.
 */
export const IDEMPOTENT_PROCEDURES = [
  'pos.recordPurchase',
  'pos.recordReturn',
  'exchange',
  'redemptions.redeem',
  'settlement.adjust',
] as const satisfies readonly MutationProcedurePath[];

export type IdempotentProcedurePath = (typeof IDEMPOTENT_PROCEDURES)[number];

const idempotent: ReadonlySet<string> = new Set(IDEMPOTENT_PROCEDURES);

export function needsIdempotencyKey(path: string): boolean {
  return idempotent.has(path);
}
