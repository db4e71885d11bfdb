import { sql } from 'kysely';
import type { ResolvedConfig } from '../config/config.ts';
import { createDatabase } from '../db/database.ts';
import { RateLimits } from '../http/rate-limits.ts';
import { JobQueues } from '../jobs/job-queues.ts';
import { withoutPassword, type Logger } from '../logging/logger.ts';
import { connectApiRedis } from '../redis/redis.ts';
import { CodeFormatCache } from '../redemptions/code-formats.ts';
import { Secrets } from '../secrets/secrets.ts';
import { systemClock, type Clock } from './clock.ts';
import type { AppServices } from './services.ts';

/**
 * Builds the long-lived services from a resolved configuration: the one place the
 * API, the workers, the tests and the benchmarks assemble them.
 */
export async function connectServices(
  config: ResolvedConfig,
  logger: Logger,
  options: { clock?: Clock } = {},
): Promise<{ services: AppServices; close(): Promise<void> }> {
  const db = createDatabase({ url: config.databaseUrl, poolMax: config.dbPoolMax });
  try {
    await sql`select 1`.execute(db);
  } catch (error) {
    await db.destroy();
    throw new Error(`Cannot reach PostgreSQL at ${withoutPassword(config.databaseUrl)}: ${(error as Error).message}`, { cause: error });
  }
  let redis;
  try {
    redis = await connectApiRedis(config.redisUrl);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  const rateLimits = new RateLimits(redis, {
    keyPrefix: config.queuePrefix,
    perKeyPerMinute: config.rateLimits.perKeyPerMinute,
    perIpPerMinute: config.rateLimits.perIpPerMinute,
  });
  const jobs = new JobQueues(config.redisUrl, config.queuePrefix);
  const services: AppServices = { config, db, redis, logger, rateLimits, secrets: new Secrets(config.secretKey), clock: options.clock ?? systemClock, jobs, codeFormats: new CodeFormatCache() };
  return {
    services,
    close: async () => {
      await jobs.close();
      await redis.quit().catch(() => redis.disconnect());
      await db.destroy();
    },
  };
}
