import { sql } from 'kysely';
import type { Database } from '../db/database.ts';
import type { Redis } from '../redis/redis.ts';

export type CheckState = 'up' | 'down';

export interface Readiness {
  ready: boolean;
  checks: { postgres: CheckState; redis: CheckState };
}

const CHECK_TIMEOUT_MS = 2_000;

function withinTimeout(work: Promise<unknown>): Promise<CheckState> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<CheckState>((resolve) => {
    timer = setTimeout(() => resolve('down'), CHECK_TIMEOUT_MS);
  });
  return Promise.race([work.then((): CheckState => 'up', (): CheckState => 'down'), timeout]).finally(() => clearTimeout(timer));
}

export async function checkReadiness(db: Database, redis: Redis): Promise<Readiness> {
  const [postgres, redisState] = await Promise.all([withinTimeout(sql`select 1`.execute(db)), withinTimeout(redis.ping())]);
  return { ready: postgres === 'up' && redisState === 'up', checks: { postgres, redis: redisState } };
}
