import { randomBytes } from 'node:crypto';
import { customAlphabet } from 'nanoid';
import pg from 'pg';
import { Writable } from 'node:stream';
import { inject } from 'vitest';
import { configFromEnv, type ResolvedConfig } from '../../server/src/config/config.ts';
import { parseEnv } from '../../server/src/config/env.ts';
import { createHttpApp, type HttpAppState } from '../../server/src/http/app.ts';
import { startHttpServer } from '../../server/src/http/server.ts';
import { createLogger } from '../../server/src/logging/logger.ts';
import type { Clock } from '../../server/src/system/clock.ts';
import { connectServices } from '../../server/src/system/connect-services.ts';
import type { AppServices } from '../../server/src/system/services.ts';
import { databaseUrl } from './database-url.ts';

const suffix = customAlphabet('abcdefghijklmnopqrstuvwxyz0123456789', 10);

export interface TestSystem {
  services: AppServices;
  config: ResolvedConfig;
  /** Base URL of a real HTTP server running the app. */
  baseUrl: string;
  /** Environment that points a spawned `coalition` process at this file's database and Redis. */
  env: Record<string, string>;
  /** Every log line the app wrote, for asserting what is (not) logged. */
  logLines: string[];
  stop(): Promise<void>;
}

/**
 * A fresh database cloned from the migrated template, a private Redis key prefix and
 * the real app on an ephemeral port: one per test file, so files never share data.
 */
export async function startTestSystem(overrides: Record<string, string> = {}, options: { clock?: Clock } = {}): Promise<TestSystem> {
  const runId = inject('runId');
  const name = `cx_test_${runId}_${suffix()}`;
  const admin = new pg.Client({ connectionString: inject('adminDatabaseUrl') });
  await admin.connect();
  await admin.query(`create database ${name} template ${inject('templateDatabase')}`);
  await admin.end();

  const env: Record<string, string> = {
    DATABASE_URL: databaseUrl(inject('adminDatabaseUrl'), name),
    REDIS_URL: inject('redisUrl'),
    QUEUE_PREFIX: `cxt_${runId}_${suffix()}`,
    LOG_LEVEL: 'info',
    PORT: '0',
    RATE_LIMIT_KEY_PER_MINUTE: '100000',
    RATE_LIMIT_IP_PER_MINUTE: '100000',
    SECRET_KEY: randomBytes(32).toString('base64'),
    ...overrides,
  };
  const config = configFromEnv(parseEnv(env)) as ResolvedConfig;
  const logLines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      logLines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  const logger = createLogger({ level: config.logLevel, destination });
  const connected = await connectServices(config, logger, options.clock ? { clock: options.clock } : {});
  const { services } = connected;
  const state: HttpAppState = { shuttingDown: false };
  const http = await startHttpServer(createHttpApp(services, state), { host: '127.0.0.1', port: 0, shutdownTimeoutMs: 5_000, logger, state });

  return {
    services,
    config,
    baseUrl: http.url,
    env,
    logLines,
    stop: async () => {
      await http.close();
      await connected.close();
    },
  };
}
