import path from 'node:path';
import type { Config, ResolvedConfig } from '../config/config.ts';
import { createDatabase, type Database } from '../db/database.ts';
import { assertCoalitionMigrated, migrateAll } from '../db/migrate.ts';
import { createHttpApp, type HttpAppState } from '../http/app.ts';
import { startHttpServer } from '../http/server.ts';
import { jobDefinitions } from '../jobs/registry.ts';
import { startWorkerHost } from '../jobs/worker-host.ts';
import { WebhookRelay } from '../webhooks/relay.ts';
import { closeWebhookAgents } from '../webhooks/send-webhook.ts';
import { withoutPassword, type Logger } from '../logging/logger.ts';
import { startEmbeddedPostgres } from '../runtime/embedded-postgres.ts';
import { startEmbeddedRedis } from '../runtime/embedded-redis.ts';
import { loadOrCreateSecretKey } from '../runtime/secret-key-file.ts';
import { connectServices } from './connect-services.ts';
import type { AppServices } from './services.ts';
import { clearEmbeddedRuntime, recordEmbeddedRuntime, runningEmbeddedDatabaseUrl } from '../runtime/embedded-runtime-file.ts';

export const EMBEDDED_DATABASE_NAME = 'coalition';

export interface SystemOptions {
  api: boolean;
  workers: boolean;
  /** Run `migrate` before serving (the all-in-one start); otherwise require it done. */
  migrate: boolean;
}

export interface RunningSystem {
  services: AppServices;
  apiUrl: string | undefined;
  embedded: { postgres: boolean; redis: boolean };
  stop(): Promise<void>;
}

type Cleanup = () => Promise<unknown>;

async function runCleanups(cleanups: Cleanup[], logger: Logger): Promise<void> {
  for (const cleanup of cleanups.reverse()) {
    try {
      await cleanup();
    } catch (error) {
      logger.warn({ err: error }, 'error during shutdown');
    }
  }
}

/**
 * Resolves PostgreSQL: DATABASE_URL if set; else the embedded server another
 * `coalition start` is running on this data folder; else a new embedded one.
 */
async function resolveDatabaseUrl(config: Config, logger: Logger, cleanups: Cleanup[], owner: boolean): Promise<{ url: string; embedded: boolean }> {
  if (config.databaseUrl) return { url: config.databaseUrl, embedded: false };
  const running = await runningEmbeddedDatabaseUrl(config.dataDir);
  if (running && owner) {
    // Its database would vanish under us when the other one stops.
    throw new Error(`"coalition start" is already running on ${config.dataDir}. Stop it first, or set DATA_DIR to another folder.`);
  }
  if (running) return { url: running, embedded: true };
  const postgres = await startEmbeddedPostgres({ dir: path.join(config.dataDir, 'postgres'), database: EMBEDDED_DATABASE_NAME, logger });
  cleanups.push(() => postgres.stop());
  if (owner) {
    await recordEmbeddedRuntime(config.dataDir, postgres.url);
    cleanups.push(() => clearEmbeddedRuntime(config.dataDir));
  }
  logger.info('embedded PostgreSQL started');
  return { url: postgres.url, embedded: true };
}

/** For one-off commands (migrate, tenant, key): a database handle, closed by the returned function. */
export async function openDatabase(config: Config, logger: Logger): Promise<{ db: Database; close(): Promise<void> }> {
  const cleanups: Cleanup[] = [];
  const { url } = await resolveDatabaseUrl(config, logger, cleanups, false);
  const db = createDatabase({ url, poolMax: Math.max(2, Math.min(config.dbPoolMax, 4)), applicationName: 'coalition-cli' });
  cleanups.push(() => db.destroy());
  return { db, close: () => runCleanups(cleanups, logger) };
}

export async function startSystem(config: Config, logger: Logger, options: SystemOptions): Promise<RunningSystem> {
  const cleanups: Cleanup[] = [];
  try {
    const database = await resolveDatabaseUrl(config, logger, cleanups, true);
    let redisUrl = config.redisUrl;
    if (!redisUrl) {
      const redis = await startEmbeddedRedis({ logger });
      cleanups.push(() => redis.stop());
      redisUrl = redis.url;
      logger.info('embedded Redis started');
    }
    // `start` keeps a generated key beside its data; `serve`/`worker` are checked for
    // SECRET_KEY before they get here.
    const secretKey = config.secretKey ?? (await loadOrCreateSecretKey(config.dataDir));
    const resolved: ResolvedConfig = { ...config, databaseUrl: database.url, redisUrl, secretKey };
    logger.info({ database: withoutPassword(database.url), redis: withoutPassword(redisUrl) }, 'connecting');

    const connected = await connectServices(resolved, logger);
    cleanups.push(() => connected.close());
    const { services } = connected;
    if (options.migrate) await migrateAll(services.db, logger);
    else await assertCoalitionMigrated(services.db);

    if (options.workers) {
      // Idle keep-alive connections to webhook receivers, closed once the workers are done.
      cleanups.push(async () => closeWebhookAgents());
      const workers = await startWorkerHost({ services, definitions: jobDefinitions });
      cleanups.push(() => workers.close());
      // The webhook relay runs beside the workers: outbox rows to deliveries to the queue.
      const relay = new WebhookRelay(services);
      await relay.start();
      cleanups.push(() => relay.stop());
    }

    let apiUrl: string | undefined;
    if (options.api) {
      const state: HttpAppState = { shuttingDown: false };
      const http = await startHttpServer(createHttpApp(services, state), {
        host: resolved.http.host,
        port: resolved.http.port,
        shutdownTimeoutMs: resolved.http.shutdownTimeoutMs,
        logger,
        state,
      });
      // Registered last, so it runs first: stop taking requests before anything else closes.
      cleanups.push(() => http.close());
      apiUrl = http.url;
      logger.info({ url: apiUrl }, 'API listening');
    }

    let stopping: Promise<void> | undefined;
    return {
      services,
      apiUrl,
      embedded: { postgres: database.embedded, redis: !config.redisUrl },
      stop: () => (stopping ??= runCleanups(cleanups, logger)),
    };
  } catch (error) {
    await runCleanups(cleanups, logger);
    throw error;
  }
}
