import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { HeaderSink } from '../auth/access.ts';
import { AppError } from '../errors/app-error.ts';
import { clientAddressKey } from '../http/rate-limits.ts';
import type { Redis } from '../redis/redis.ts';

const WINDOW_SECONDS = 15 * 60;
/** Attempts one account takes (a right password clears them) before it is locked for the rest of the window. */
export const FAILURES_PER_ACCOUNT = 10;

/**
 * Two limits on guessing passwords: attempts per client address (every attempt
 * counts), and failures per account (from any address), so neither one address nor a
 * botnet aimed at one account gets far. Counts live in Redis, shared by every process.
 */
export class SignInLimits {
  private readonly perIp: RateLimiterRedis;
  private readonly perAccount: RateLimiterRedis;

  constructor(redis: Redis, options: { keyPrefix: string; attemptsPerIp: number }) {
    const limiter = (name: string, points: number) =>
      new RateLimiterRedis({
        storeClient: redis,
        keyPrefix: `${options.keyPrefix}:signin:${name}`,
        points,
        duration: WINDOW_SECONDS,
        insuranceLimiter: new RateLimiterMemory({ keyPrefix: `${options.keyPrefix}:signin-local:${name}`, points, duration: WINDOW_SECONDS }),
      });
    this.perIp = limiter('ip', options.attemptsPerIp);
    this.perAccount = limiter('account', FAILURES_PER_ACCOUNT);
  }

  /**
   * Before checking a password: counts the attempt against the address and against the
   * account, atomically, so a burst of simultaneous guesses cannot all slip in while
   * the first ones are still being checked. A right password clears the account's count.
   */
  async admit(ip: string, email: string, headers: HeaderSink): Promise<void> {
    try {
      await this.perIp.consume(clientAddressKey(ip));
    } catch (rejection) {
      throw limited(rejection, headers, 'client_ip');
    }
    try {
      await this.perAccount.consume(email);
    } catch (rejection) {
      throw limited(rejection, headers, 'account');
    }
  }

  async recordSuccess(email: string): Promise<void> {
    await this.perAccount.delete(email).catch(() => {});
  }
}

function limited(rejection: unknown, headers: HeaderSink, scope: 'client_ip' | 'account'): unknown {
  if (!(rejection instanceof RateLimiterRes)) return rejection;
  const retryAfterSeconds = Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
  headers.set('Retry-After', String(retryAfterSeconds));
  const who = scope === 'account' ? 'this account (too many wrong passwords)' : 'this client address';
  return new AppError('RATE_LIMITED', `Too many sign-in attempts for ${who}. Try again in ${Math.ceil(retryAfterSeconds / 60)} min.`, { retryAfterSeconds, scope });
}
