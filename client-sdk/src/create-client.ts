import { TRPCClientError, TRPCUntypedClient, createTRPCClientProxy, type TRPCClient } from '@trpc/client';
import type { AppRouter } from './app-router.ts';
import { CoalitionError } from './coalition-error.ts';
import { coalitionLink, type CoalitionCallContext, type FetchLike } from './coalition-link.ts';
import { retryPolicy, type RetryOptions } from './retry-policy.ts';

export interface ClientOptions {
  /** Where the exchange runs, e.g. `https://exchange.example.com` (the client calls `<baseUrl>/trpc`). */
  baseUrl: string;
  /** A tenant key (`cx_live_…`) or an operator key (`cx_op_…`). */
  apiKey: string;
  /** Defaults to the global `fetch`: pass one for proxies, tracing or tests. */
  fetch?: FetchLike;
  retry?: RetryOptions;
  /** Makes the Idempotency-Key of a call that needs one and was given none. Default `crypto.randomUUID()`. */
  idempotencyKey?: () => string;
}

/** Typed from the server's router: `client.<router>.<procedure>.query(input)` or `.mutate(input)`. */
export type CoalitionClient = TRPCClient<AppRouter>;

/** Failed calls throw CoalitionError (with the TRPCClientError as its cause) instead of TRPCClientError. */
class CoalitionUntypedClient extends TRPCUntypedClient<AppRouter> {
  override query(path: string, input?: unknown, opts?: Parameters<TRPCUntypedClient<AppRouter>['query']>[2]): Promise<unknown> {
    return super.query(path, input, opts).catch(rethrowAsCoalitionError);
  }

  override mutation(path: string, input?: unknown, opts?: Parameters<TRPCUntypedClient<AppRouter>['mutation']>[2]): Promise<unknown> {
    return super.mutation(path, input, opts).catch(rethrowAsCoalitionError);
  }
}

function rethrowAsCoalitionError(error: unknown): never {
  if (error instanceof TRPCClientError) throw CoalitionError.fromTRPCClientError(error);
  throw error;
}

/**
 * A client for the Coalition Exchange API. Every call is its own HTTP request with
 * `Authorization: Bearer <apiKey>`; the mutations in IDEMPOTENT_PROCEDURES get an
 * Idempotency-Key; failed calls are retried as RetryOptions says and then throw
 * CoalitionError.
 */
export function createClient(options: ClientOptions): CoalitionClient {
  const fetch = options.fetch ?? ((url, init) => globalThis.fetch(url, init));
  const link = coalitionLink({
    url: `${options.baseUrl.replace(/\/+$/, '')}/trpc`,
    apiKey: options.apiKey,
    fetch,
    retry: retryPolicy(options.retry),
    newIdempotencyKey: options.idempotencyKey ?? (() => crypto.randomUUID()),
  });
  return createTRPCClientProxy<AppRouter>(new CoalitionUntypedClient({ links: [link] }));
}

/**
 * Call options that send your own Idempotency-Key, e.g. one derived from your order id
 * so that a retry after a crash of your own process is also recognised:
 * `client.redemptions.redeem.mutate(input, withIdempotencyKey(`order-${orderId}`))`.
 */
export function withIdempotencyKey(idempotencyKey: string): { context: CoalitionCallContext } {
  return { context: { idempotencyKey } };
}
