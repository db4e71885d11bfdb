import { Redis } from 'ioredis';
import { withoutPassword } from '../logging/logger.ts';

export type { Redis };

/**
 * The API's own connection (rate limits, readiness). Commands fail fast while Redis is
 * away instead of queueing, so a Redis outage degrades rate limiting to the in-process
 * fallback rather than stalling requests. BullMQ workers use createWorkerRedis().
 */
export async function connectApiRedis(url: string): Promise<Redis> {
  const redis = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 5_000,
  });
  let lastError: Error | undefined;
  redis.on('error', (error: Error) => (lastError = error)); // reconnects by itself; readiness reports the state
  try {
    await redis.connect();
  } catch (error) {
    redis.disconnect();
    const reason = (lastError ?? (error as Error)).message;
    throw new Error(`Cannot reach Redis at ${withoutPassword(url)}: ${reason}`, { cause: lastError ?? error });
  }
  return redis;
}

/** BullMQ requires maxRetriesPerRequest: null on worker connections. */
export function createWorkerRedis(url: string): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: null });
  redis.on('error', () => {});
  return redis;
}
