import { TRPCClientError, type Operation, type TRPCLink } from '@trpc/client';
import { observable } from '@trpc/server/observable';
import type { AppRouter } from './app-router.ts';
import type { FailedCallMeta } from './coalition-error.ts';
import { needsIdempotencyKey } from './idempotent-procedures.ts';
import { retryDelay, type AttemptOutcome, type RetryPolicy } from './retry-policy.ts';

/** The part of `fetch` the client uses; the global `fetch` and most wrappers fit. */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

export interface CoalitionLinkOptions {
  /** The tRPC endpoint, e.g. `https://exchange.example.com/trpc`. */
  url: string;
  apiKey: string;
  fetch: FetchLike;
  retry: RetryPolicy;
  newIdempotencyKey: () => string;
}

// A type, not an interface: tRPC's context is a Record, which only literal types satisfy.
/** Per call: `client.redemptions.redeem.mutate(input, { context: { idempotencyKey } })`. */
export type CoalitionCallContext = {
  /** Your own key for this call (e.g. derived from your order id), instead of a fresh UUID. */
  idempotencyKey?: string;
};

interface PreparedRequest {
  url: string;
  init: RequestInit;
  /** A repeat cannot run the call twice: a query, or a mutation with an Idempotency-Key. */
  repeatable: boolean;
}

type Answer = { response: Response; json: unknown };

/**
 * The client's one link, and its transport: every call is its own HTTP request (no
 * batching), so each carries its own Idempotency-Key. The request, key included, is
 * built once per call and sent again unchanged on each retry.
 */
export function coalitionLink(options: CoalitionLinkOptions): TRPCLink<AppRouter> {
  return () =>
    ({ op }) =>
      observable((observer) => {
        const abort = new AbortController();
        const onAbort = () => abort.abort();
        op.signal?.addEventListener('abort', onAbort, { once: true });
        if (op.signal?.aborted) abort.abort();
        call(options, op, abort.signal).then(
          (data) => {
            observer.next({ result: { type: 'data', data } });
            observer.complete();
          },
          (error: TRPCClientError<AppRouter>) => observer.error(error),
        );
        return () => {
          op.signal?.removeEventListener('abort', onAbort);
          abort.abort();
        };
      });
}

type Failure = (message: string, meta: FailedCallMeta, extra?: { cause?: unknown; result?: unknown }) => TRPCClientError<AppRouter>;

/** One call: sent, and sent again while the retry policy says so. Resolves to the data or rejects with a TRPCClientError. */
async function call(options: CoalitionLinkOptions, op: Operation, signal: AbortSignal): Promise<unknown> {
  if (op.type === 'subscription') throw new TRPCClientError<AppRouter>('The Coalition Exchange API has no subscriptions.');
  const request = buildRequest(options, op);
  for (let attempt = 1; ; attempt += 1) {
    const failure: Failure = (message, meta, extra = {}) =>
      new TRPCClientError<AppRouter>(message, { meta: { ...meta, attempts: attempt }, cause: extra.cause as Error | undefined, result: extra.result as never });
    let answer: Answer | undefined;
    let networkError: unknown;
    try {
      answer = await send(options.fetch, request, signal);
    } catch (error) {
      if (signal.aborted) throw failure('The call was aborted.', { aborted: true }, { cause: error });
      networkError = error;
    }
    const outcome: AttemptOutcome = answer ? { kind: 'response', status: answer.response.status, retryAfter: answer.response.headers.get('retry-after') } : { kind: 'network-error' };
    const delay = retryDelay(options.retry, { attempt, outcome, repeatable: request.repeatable });
    if (delay !== null) {
      try {
        await sleep(delay, signal);
      } catch (error) {
        throw failure('The call was aborted.', { aborted: true }, { cause: error });
      }
      continue;
    }
    if (!answer) throw failure(messageOf(networkError), {}, { cause: networkError });
    return settle(answer, failure);
  }
}

function buildRequest(options: CoalitionLinkOptions, op: Operation): PreparedRequest {
  const context = op.context as CoalitionCallContext;
  const headers: Record<string, string> = { authorization: `Bearer ${options.apiKey}`, accept: 'application/json' };
  const base = `${options.url.replace(/\/$/, '')}/${op.path}`;
  if (op.type === 'query') {
    const url = op.input === undefined ? base : `${base}?input=${encodeURIComponent(JSON.stringify(op.input))}`;
    return { url, init: { method: 'GET', headers }, repeatable: true };
  }
  const keyed = needsIdempotencyKey(op.path);
  const key = context.idempotencyKey ?? (keyed ? options.newIdempotencyKey() : undefined);
  if (key !== undefined) headers['idempotency-key'] = key;
  headers['content-type'] = 'application/json';
  const init: RequestInit = { method: 'POST', headers, ...(op.input === undefined ? {} : { body: JSON.stringify(op.input) }) };
  return { url: base, init, repeatable: keyed && key !== undefined };
}

/** One attempt. Throws only when no complete answer arrived (connection, DNS, reset mid-body). */
async function send(fetch: FetchLike, request: PreparedRequest, signal: AbortSignal): Promise<Answer> {
  const response = await fetch(request.url, { ...request.init, signal });
  const text = await response.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { response, json };
}

/** The data of a successful answer; otherwise the error, with the server's error body (`error.data`) when it sent one. */
function settle(answer: Answer, failure: Failure): unknown {
  const { response, json } = answer;
  const body = json as { result?: { data?: unknown }; error?: { message?: unknown } } | undefined;
  if (body?.error && typeof body.error.message === 'string') throw failure(body.error.message, { response }, { result: body });
  if (response.ok && body?.result) return body.result.data;
  throw failure(`HTTP ${response.status} without an API answer`, { response });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function messageOf(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  const detail = typeof cause?.code === 'string' ? cause.code : typeof cause?.message === 'string' ? cause.message : undefined;
  const message = error instanceof Error ? error.message : String(error);
  return detail ? `${message} (${detail})` : message;
}
