import type { ResolvedConfig } from '../config/config.ts';
import type { Database } from '../db/database.ts';
import type { RateLimits } from '../http/rate-limits.ts';
import type { JobQueues } from '../jobs/job-queues.ts';
import type { Logger } from '../logging/logger.ts';
import type { Redis } from '../redis/redis.ts';
import type { Secrets } from '../secrets/secrets.ts';
import type { Clock } from './clock.ts';
import type { CodeFormatCache } from '../redemptions/code-formats.ts';

/** Long-lived dependencies, built once per process and handed to every request. */
export interface AppServices {
  config: ResolvedConfig;
  db: Database;
  redis: Redis;
  logger: Logger;
  rateLimits: RateLimits;
  secrets: Secrets;
  clock: Clock;
  /** Adds background jobs (after commit). */
  jobs: JobQueues;
  /** Partners' check-character formats, so a mistyped code is refused without a lookup. */
  codeFormats: CodeFormatCache;
}
