const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/**
 * The published retry schedule (docs/webhooks.md): the wait after the 1st, 2nd, …
 * failed attempt. Eight attempts over about 27.5 hours; after the last one the
 * delivery is failed for good (replayable).
 */
export const RETRY_SCHEDULE_MS = [5 * SECOND, 5 * MINUTE, 30 * MINUTE, 2 * HOUR, 5 * HOUR, 10 * HOUR, 10 * HOUR] as const;

/** Each wait is spread by up to ±10 %, so endpoints that failed together do not all retry in the same second. */
export const JITTER = 0.1;

/** A Retry-After is honoured between these bounds. */
const MIN_RETRY_AFTER_MS = SECOND;
const MAX_RETRY_AFTER_MS = 24 * HOUR;

/** An endpoint whose attempts have all failed for this long is disabled. */
export const DISABLE_AFTER_FAILING_MS = 5 * 24 * HOUR;

/**
 * The wait before the next attempt after `failedAttempts` failures in this schedule,
 * or null when the schedule is used up. A Retry-After (429, 503) replaces the
 * scheduled wait.
 */
export function nextRetryDelay(failedAttempts: number, retryAfterMs: number | null, random: () => number = Math.random): number | null {
  if (failedAttempts > RETRY_SCHEDULE_MS.length) return null;
  if (retryAfterMs !== null) return Math.min(MAX_RETRY_AFTER_MS, Math.max(MIN_RETRY_AFTER_MS, retryAfterMs));
  const base = RETRY_SCHEDULE_MS[failedAttempts - 1]!;
  return Math.round(base * (1 + JITTER * (2 * random() - 1)));
}

/** Retry-After as delta-seconds or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now: Date): number | null {
  if (value === undefined) return null;
  const trimmed = value.trim();
  if (/^\d{1,9}$/.test(trimmed)) return Number(trimmed) * SECOND;
  // An HTTP date (IMF-fixdate, e.g. "Wed, 21 Oct 2026 07:28:00 GMT"; RFC 850 and asctime
  // forms too): Date.parse alone would also take "-5" or "1.5" for dates.
  if (!/^(mon|tue|wed|thu|fri|sat|sun)[a-z]*,? .*\b\d{2}:\d{2}:\d{2}\b/i.test(trimmed)) return null;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? null : Math.max(0, at - now.getTime());
}
