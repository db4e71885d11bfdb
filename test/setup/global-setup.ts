import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { customAlphabet } from 'nanoid';
import type { TestProject } from 'vitest/node';
import { createDatabase } from '../../server/src/db/database.ts';
import { migrateCoalition } from '../../server/src/db/migrate.ts';
import { createLogger } from '../../server/src/logging/logger.ts';
import { startEmbeddedPostgres } from '../../server/src/runtime/embedded-postgres.ts';
import { startEmbeddedRedis } from '../../server/src/runtime/embedded-redis.ts';
import { ensurePortalBuilt } from '../../server/src/portal/portal-build.ts';
import { databaseUrl } from '../support/database-url.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A URL on the test server with rights to create databases. */
    adminDatabaseUrl: string;
    /** Migrated coalition schema; each test file clones it. */
    templateDatabase: string;
    redisUrl: string;
    runId: string;
  }
}

/**
 * Real PostgreSQL and Redis for the whole run: throwaway embedded servers by default,
 * or the servers named by TEST_DATABASE_URL / TEST_REDIS_URL. Either way this run only
 * touches databases and Redis keys carrying its own run id.
 */
export default async function setup(project: TestProject) {
  const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'warn' });
  // The portal's browser tests and every `start` serve partner-portal/dist: build it once, first.
  await ensurePortalBuilt(logger);
  const runId = customAlphabet('abcdefghijklmnopqrstuvwxyz0123456789', 8)();
  const stops: (() => Promise<unknown>)[] = [];

  let adminUrl = process.env.TEST_DATABASE_URL;
  if (!adminUrl) {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'cx-test-pg-'));
    stops.push(() => rm(dir, { recursive: true, force: true }));
    await chmod(dir, 0o755); // as root, postgres runs as the "postgres" user and must enter it
    const postgres = await startEmbeddedPostgres({ dir: path.join(dir, 'data'), database: 'postgres', logger });
    stops.push(() => postgres.stop());
    adminUrl = postgres.url;
  }
  let redisUrl = process.env.TEST_REDIS_URL;
  if (!redisUrl) {
    const redis = await startEmbeddedRedis({ logger });
    stops.push(() => redis.stop());
    redisUrl = redis.url;
  }

  const templateDatabase = `cx_test_${runId}_template`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${templateDatabase}`);
  await admin.end();
  const db = createDatabase({ url: databaseUrl(adminUrl, templateDatabase), poolMax: 2 });
  await migrateCoalition(db);
  await db.destroy();

  project.provide('adminDatabaseUrl', adminUrl);
  project.provide('templateDatabase', templateDatabase);
  project.provide('redisUrl', redisUrl);
  project.provide('runId', runId);

  return async () => {
    const cleanup = new pg.Client({ connectionString: adminUrl });
    await cleanup.connect();
    const { rows } = await cleanup.query<{ datname: string }>('select datname from pg_database where datname like $1', [`cx_test_${runId}_%`]);
    for (const { datname } of rows) await cleanup.query(`drop database if exists ${datname} with (force)`);
    await cleanup.end();
    // Keys this run left in a shared Redis (queue prefixes start with cxt_<runId>_).
    const redis = new Redis(redisUrl);
    for await (const keys of redis.scanStream({ match: `cxt_${runId}_*`, count: 500 })) {
      if ((keys as string[]).length) await redis.del(...(keys as string[]));
    }
    await redis.quit();
    for (const stop of stops.reverse()) await stop();
  };
}
