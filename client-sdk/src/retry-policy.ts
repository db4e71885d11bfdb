/** How a client retries a call the server could not answer, or asked to be retried. */
export interface RetryOptions {
  /** HTTP requests per call in all, the first included; 1 turns retries off. Default 4. */
  attempts?: number;
  /** The first backoff; each further retry doubles it, with jitter. Default 250 ms. */
  baseDelayMs?: number;
  /**
   * The longest wait before a retry, a `Retry-After` included: a server asking for a
   * longer wait gets the error thrown at once instead. Default 60 s (a per-minute rate
   * limit's longest wait).
   */
  maxDelayMs?: number;
}

export type RetryPolicy = Required<RetryOptions>;

export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 250, maxDelayMs: 60_000 };

export function retryPolicy(options: RetryOptions = {}): RetryPolicy {
  const policy = { ...DEFAULT_RETRY, ...options };
  if (!Number.isInteger(policy.attempts) || policy.attempts < 1) throw new RangeError('retry.attempts must be an integer of at least 1');
  if (!(policy.baseDelayMs >= 0) || !(policy.maxDelayMs >= 0)) throw new RangeError('retry delays must not be negative');
  return policy;
}

/** What one HTTP attempt came to, as far as retrying goes. */
export type AttemptOutcome = { kind: 'network-error' } | { kind: 'response'; status: number; retryAfter: string | null };

/**
 * The wait before the next attempt in milliseconds, or null for no retry.
 *
 * 429 is always retried: the server refused the call before running it. Network
 * errors and 502/503/504 leave it open whether the call ran, so they are retried only
 * when a repeat is harmless (`repeatable`: a query, or a mutation carrying an
 * Idempotency-Key, which the server answers from its first run). Other statuses are
 * answers, never retried.
 */
export function retryDelay(policy: RetryPolicy, input: { attempt: number; outcome: AttemptOutcome; repeatable: boolean; now?: number; random?: () => number }): number | null {
  const { attempt, outcome } = input;
  if (attempt >= policy.attempts) return null;
  const retryable =
    outcome.kind === 'network-error' ? input.repeatable : outcome.status === 429 || ([502, 503, 504].includes(outcome.status) && input.repeatable);
  if (!retryable) return null;
  const asked = outcome.kind === 'response' ? retryAfterMs(outcome.retryAfter, input.now ?? Date.now()) : null;
  if (asked !== null) return asked <= policy.maxDelayMs ? asked : null;
  return backoffMs(policy, attempt, input.random ?? Math.random);
}

/** Exponential backoff with "equal jitter": half the step fixed, half random, so a crowd of clients spreads out. */
export function backoffMs(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(step / 2 + random() * (step / 2));
}

/** `Retry-After` as delta-seconds or an HTTP date (RFC 9110 §10.2.3), in ms from `now`; null when absent or unreadable. */
export function retryAfterMs(value: string | null, now: number): number | null {
  if (value === null) return null;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // Otherwise only an HTTP date ("Sun, 06 Nov 1994 08:49:37 GMT"): "1.5" or "-1" would
  // parse as dates long past and mean "retry at once".
  if (!/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(text)) return null;
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}
