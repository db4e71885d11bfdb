import { isIPv6 } from 'node:net';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { AppError } from '../errors/app-error.ts';
import type { Redis } from '../redis/redis.ts';

export interface RateLimitState {
  limit: number;
  remaining: number;
  resetSeconds: number;
}

export interface RateLimitHeaders {
  set(name: string, value: string): void;
}

const WINDOW_SECONDS = 60;

/**
 * Fixed one-minute windows kept in Redis (rate-limiter-flexible), so every API process
 * shares one count per key. If Redis is unreachable the library's insurance limiter
 * counts in-process instead: limits stay on, per process, and requests keep flowing.
 */
export class RateLimits {
  private readonly byPoints = new Map<string, RateLimiterRedis>();

  constructor(
    private readonly redis: Redis,
    private readonly options: { keyPrefix: string; perKeyPerMinute: number; perIpPerMinute: number },
  ) {}

  /** Per API key; a tenant may have its own limit instead of the default. */
  async consumeForKey(keyId: string, tenantLimit: number | null, headers?: RateLimitHeaders): Promise<void> {
    await this.consume('key', keyId, tenantLimit ?? this.options.perKeyPerMinute, headers);
  }

  /** Per client address, for requests that carry no valid key. */
  async consumeForIp(ip: string, headers?: RateLimitHeaders): Promise<void> {
    await this.consume('ip', clientAddressKey(ip), this.options.perIpPerMinute, headers);
  }

  private limiter(kind: 'key' | 'ip', points: number): RateLimiterRedis {
    const id = `${kind}:${points}`;
    let limiter = this.byPoints.get(id);
    if (!limiter) {
      limiter = new RateLimiterRedis({
        storeClient: this.redis,
        keyPrefix: `${this.options.keyPrefix}:rl:${kind}`,
        points,
        duration: WINDOW_SECONDS,
        insuranceLimiter: new RateLimiterMemory({ keyPrefix: `${this.options.keyPrefix}:rl-local:${kind}`, points, duration: WINDOW_SECONDS }),
      });
      this.byPoints.set(id, limiter);
    }
    return limiter;
  }

  private async consume(kind: 'key' | 'ip', subject: string, points: number, headers?: RateLimitHeaders): Promise<void> {
    try {
      const res = await this.limiter(kind, points).consume(subject);
      setHeaders(headers, points, res);
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) throw rejection;
      setHeaders(headers, points, rejection);
      const retryAfterSeconds = Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
      headers?.set('Retry-After', String(retryAfterSeconds));
      const who = kind === 'key' ? 'this API key' : 'this client address';
      throw new AppError('RATE_LIMITED', `Rate limit of ${points} requests per minute exceeded for ${who}. Retry after ${retryAfterSeconds} s.`, {
        limitPerMinute: points,
        retryAfterSeconds,
        scope: kind === 'key' ? 'api_key' : 'client_ip',
      });
    }
  }
}

/**
 * IPv4 addresses count one by one; IPv6 clients by their /64, since one host usually
 * holds a whole /64 and could otherwise rotate through it.
 */
export function clientAddressKey(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1]!;
  if (!isIPv6(ip)) return ip;
  const [head = '', tail = ''] = ip.toLowerCase().split('::');
  const headGroups = head ? head.split(':') : [];
  const tailGroups = ip.includes('::') ? (tail ? tail.split(':') : []) : [];
  const groups = ip.includes('::') ? [...headGroups, ...Array(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups] : headGroups;
  return `${groups.slice(0, 4).map((group) => group.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

function setHeaders(headers: RateLimitHeaders | undefined, limit: number, res: RateLimiterRes): void {
  if (!headers) return;
  headers.set('RateLimit-Limit', String(limit));
  headers.set('RateLimit-Remaining', String(Math.max(0, res.remainingPoints)));
  headers.set('RateLimit-Reset', String(Math.ceil(res.msBeforeNext / 1000)));
}
