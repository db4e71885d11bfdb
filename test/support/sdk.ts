import { createClient, type ClientOptions, type CoalitionClient, type FetchLike } from '../../client-sdk/src/index.ts';
import type { ExchangeWorld } from './exchange.ts';

/** One HTTP request the SDK made, and what came of it. */
export interface SentRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string | undefined;
  sentAt: number;
  /** The server's status; undefined when the server was never reached (an injected fault). */
  status?: number;
  retryAfter?: string | null;
  replayed?: boolean;
}

/**
 * What to do to the next request:
 * - `answer-503`: a gateway's 503 page, the server never sees the request;
 * - `lose-answer`: the server gets and processes the request, then the connection
 *   drops before the answer reaches the client (a timeout, a reset);
 * - `refuse`: no connection at all.
 */
export type Fault = 'answer-503' | 'lose-answer' | 'refuse';

/** A fetch for the SDK that records every request and injects the faults it is told to, in order. */
export function faultyFetch() {
  const sent: SentRequest[] = [];
  const faults: Fault[] = [];
  const fetch: FetchLike = async (url, init) => {
    const headers = Object.fromEntries(new Headers(init.headers).entries());
    const request: SentRequest = { url, method: init.method ?? 'GET', headers, body: typeof init.body === 'string' ? init.body : undefined, sentAt: Date.now() };
    sent.push(request);
    const fault = faults.shift();
    if (fault === 'refuse') throw new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }) });
    if (fault === 'answer-503') return new Response('<html><body>503 Service Temporarily Unavailable</body></html>', { status: 503, headers: { 'content-type': 'text/html' } });
    const response = await globalThis.fetch(url, init);
    request.status = response.status;
    request.retryAfter = response.headers.get('retry-after');
    request.replayed = response.headers.get('idempotent-replayed') === 'true';
    if (fault === 'lose-answer') {
      await response.arrayBuffer();
      throw new TypeError('fetch failed', { cause: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }) });
    }
    return response;
  };
  return {
    fetch,
    sent,
    /** Requests to one procedure, e.g. `redemptions.redeem`. */
    to: (path: string) => sent.filter((request) => new URL(request.url).pathname === `/trpc/${path}`),
    inject: (...next: Fault[]) => void faults.push(...next),
  };
}

/** A client of the world's server with the given key; retries are quick so tests stay fast. */
export function sdkClient(world: ExchangeWorld, apiKey: string, options: Partial<ClientOptions> = {}): CoalitionClient {
  return createClient({ baseUrl: world.system.baseUrl, apiKey, retry: { baseDelayMs: 5, maxDelayMs: 5_000 }, ...options });
}

/** The error a promise rejects with (fails the test if it resolves). */
export async function rejectionOf(promise: Promise<unknown>): Promise<any> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail, but it succeeded');
}
