import { InvalidArgumentError } from 'commander';
import { createOperatorApiKey, createTenantApiKey, replaceStartOperatorKey } from '../auth/create-api-key.ts';
import { listApiKeys, listOperatorKeys } from '../auth/list-api-keys.ts';
import { revokeAnyApiKey } from '../auth/revoke-api-key.ts';
import type { TenantScope } from '../auth/scopes.ts';
import { loadConfig, type Config } from '../config/config.ts';
import { ConfigError } from '../config/env.ts';
import type { Database } from '../db/database.ts';
import { migrateAll } from '../db/migrate.ts';
import { createLogger, type Logger } from '../logging/logger.ts';
import { createTenant } from '../tenants/create-tenant.ts';
import { listTenants, requireTenantRow } from '../tenants/get-tenant.ts';
import type { Tenant } from '../tenants/tenant.ts';
import { parseInput } from '../errors/validation.ts';
import { ensurePortalBuilt } from '../portal/portal-build.ts';
import { inviteUser, type UserScope } from '../users/manage-users.ts';
import { emailSchema, portalRolesSchema } from '../users/user.ts';
import { openDatabase, startSystem, type RunningSystem, type SystemOptions } from '../system/start-system.ts';

// The command bodies, imported only when a command runs: `--help` and argument errors
// answer without loading the server.

const CLI_ACTOR = 'cli';

/**
 * Long-running commands log JSON to stdout, where process supervisors collect it.
 * One-off commands log to stderr, so their output on stdout stays clean for scripts.
 */
function loadRuntime(logTo: 'stdout' | 'stderr' = 'stderr'): { config: Config; logger: Logger } {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel, destination: logTo === 'stderr' ? (process.stderr as never) : undefined });
  return { config, logger };
}

async function withDatabase<T>(work: (db: Database, logger: Logger) => Promise<T>): Promise<T> {
  const { config, logger } = loadRuntime();
  const { db, close } = await openDatabase(config, logger);
  try {
    return await work(db, logger);
  } finally {
    await close();
  }
}

function print(value: unknown, asJson: boolean, human: () => string): void {
  process.stdout.write(`${asJson ? JSON.stringify(value, null, 2) : human()}\n`);
}

export async function runServices(mode: 'start' | 'serve' | 'worker', run: { demo?: boolean } = {}): Promise<void> {
  const runtime = loadRuntime('stdout');
  const { logger } = runtime;
  // `start --demo` on embedded servers is a machine of one's own: its demo webhook
  // receiver listens on 127.0.0.1, so loopback deliveries are allowed for that process.
  // Against real servers (DATABASE_URL set) the guard stays as configured.
  // Only while the API itself listens on loopback: a demo shown on a LAN (HOST=0.0.0.0) keeps the guard.
  const demoLoopback =
    mode === 'start' && run.demo === true && !runtime.config.databaseUrl && !runtime.config.webhooks.allowLoopback && ['127.0.0.1', '::1', 'localhost'].includes(runtime.config.http.host);
  const config: Config = demoLoopback ? { ...runtime.config, webhooks: { ...runtime.config.webhooks, allowLoopback: true } } : runtime.config;
  if (demoLoopback) logger.warn('start --demo on embedded servers: webhook deliveries to loopback addresses are allowed in this process (the demo receiver)');
  if (mode !== 'start' && (!config.databaseUrl || !config.redisUrl)) {
    // Separate processes must share one PostgreSQL and one Redis; embedded servers are
    // private to the process that starts them.
    throw new ConfigError(`"coalition ${mode}" needs DATABASE_URL and REDIS_URL. For everything in one process on embedded servers, run "coalition start".`);
  }
  if (mode !== 'start' && !config.secretKey) {
    throw new ConfigError(`"coalition ${mode}" needs SECRET_KEY (base64 of 32 random bytes, the same for every process; e.g. openssl rand -base64 32).`);
  }
  const options: SystemOptions = {
    start: { api: true, workers: true, migrate: true },
    serve: { api: true, workers: false, migrate: false },
    worker: { api: false, workers: true, migrate: false },
  }[mode];

  // Signal handling starts before anything else does: a signal during startup lets
  // startup finish and then stops everything it started (embedded servers included).
  let system: RunningSystem | undefined;
  let signalled = false;
  const stopAndExit = () => {
    // Draining has its own timeout; this is the backstop for anything that hangs after it.
    setTimeout(() => {
      logger.error('shutdown did not complete in time: exiting');
      process.exit(1);
    }, config.http.shutdownTimeoutMs + 15_000).unref();
    void (system?.stop() ?? Promise.resolve()).then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  const onSignal = (signal: string) => {
    if (signalled) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    signalled = true;
    logger.info({ signal }, 'shutting down: finishing in-flight requests and jobs');
    if (system) stopAndExit();
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));

  // The portal is served from its build; `start` makes one when it is missing or stale.
  if (options.api) await ensurePortalBuilt(logger).catch((error: unknown) => logger.error({ err: error }, 'the portal could not be built; /portal answers 503 until "npm run build" succeeds'));
  system = await startSystem(config, logger, options);
  if (signalled) return stopAndExit();

  if (mode === 'start') {
    let operatorKey: string;
    try {
      const { secret } = await replaceStartOperatorKey(system.services.db);
      printStartBanner(config, system, secret);
      operatorKey = secret;
    } catch (error) {
      await system.stop();
      throw error;
    }
    if (run.demo && system.apiUrl) await (await import('../demo/command.ts')).runDemoAfterStart(system.apiUrl, operatorKey, logger, config.webhooks.allowLoopback);
  }
}

function printStartBanner(config: Config, system: RunningSystem, operatorKey: string): void {
  const lines = [
    '',
    'Coalition Exchange is running.',
    `  API (REST)      ${system.apiUrl}/api   (OpenAPI: ${system.apiUrl}/api/openapi.json)`,
    `  API (tRPC)      ${system.apiUrl}/trpc`,
    `  Portal          ${system.apiUrl}/portal   (first user: npx coalition invite --operator --email you@example.com)`,
    `  Health          ${system.apiUrl}/healthz   ${system.apiUrl}/readyz`,
    `  PostgreSQL      ${system.embedded.postgres ? `embedded, data in ${config.dataDir}/postgres` : 'DATABASE_URL'}`,
    `  Redis           ${system.embedded.redis ? 'embedded' : 'REDIS_URL'}`,
    '',
    `  Operator key (shown once; the previous start's key is revoked): ${operatorKey}`,
    '',
    `  Try: curl -H "Authorization: Bearer ${operatorKey.slice(0, 10)}…" ${system.apiUrl}/api/v1/me`,
    '  Demo: "npm start -- --demo" seeds a demo coalition at start; on this running system: COALITION_OPERATOR_KEY=<the key> npx coalition demo',
    '  Stop with Ctrl-C.',
    '',
  ];
  // Printed for the person at the terminal, never through the logger.
  process.stdout.write(`${lines.join('\n')}\n`);
}


export function migrateCommand(): Promise<void> {
  return withDatabase(async (db, logger) => {
    const result = await migrateAll(db, logger);
    const applied = result.coalition.length + result.tenants.reduce((sum, tenant) => sum + tenant.applied.length, 0);
    process.stdout.write(`Migrated: coalition schema and ${result.tenants.length} tenant schema(s) up to date; ${applied} migration(s) applied.\n`);
  });
}

export function tenantCreateCommand(options: { slug: string; name: string; roles: ('issuer' | 'partner')[]; timezone: string; currency: string; json?: boolean }) {
  return withDatabase(async (db) => {
    const created = await createTenant(
      db,
      { slug: options.slug, displayName: options.name, roles: options.roles, timezone: options.timezone, currency: options.currency },
      CLI_ACTOR,
    );
    print(created, Boolean(options.json), () => `Created tenant ${created.slug} (${created.roles.join(', ')}), schema version ${created.schemaVersion}.`);
  });
}

export function tenantListCommand(options: { json?: boolean }) {
  return withDatabase(async (db) => {
    const tenants: Tenant[] = [];
    let cursor: string | undefined;
    do {
      const page = await listTenants(db, { limit: 500, cursor });
      tenants.push(...page.tenants);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    print(tenants, Boolean(options.json), () =>
      tenants.length
        ? tenants
            .map((t) => `${t.slug.padEnd(32)} ${t.status.padEnd(9)} ${t.roles.join(',').padEnd(15)} ${t.currency} ${t.timezone.padEnd(20)} ${t.schemaVersion ?? '-'}`)
            .join('\n')
        : 'No tenants yet. Create one with: coalition tenant create --help',
    );
  });
}

export function keyCreateCommand(options: { tenant?: string; operator?: boolean; name: string; scopes?: TenantScope[]; json?: boolean }) {
  if (Boolean(options.tenant) === Boolean(options.operator)) throw new InvalidArgumentError('give exactly one of --tenant <slug> or --operator');
  if (options.tenant && !options.scopes?.length) throw new InvalidArgumentError('--scopes is required for a tenant key');
  return withDatabase(async (db) => {
    const created = options.tenant
      ? await createTenantApiKey(db, { tenant: await requireTenantRow(db, options.tenant), name: options.name, scopes: options.scopes ?? [], actor: CLI_ACTOR })
      : await createOperatorApiKey(db, { name: options.name, actor: CLI_ACTOR });
    print(created, Boolean(options.json), () => `Created key ${created.apiKey.id} (${created.apiKey.scopes.join(', ')}). Store it now; it is not shown again:\n${created.secret}`);
  });
}

export function inviteCommand(options: { email: string; tenant?: string; roles?: string[]; operator?: boolean; url?: string; json?: boolean }) {
  if (Boolean(options.tenant) === Boolean(options.operator)) throw new InvalidArgumentError('give exactly one of --tenant <slug> or --operator');
  if (options.tenant && !options.roles?.length) throw new InvalidArgumentError('--roles is required for a tenant user');
  const email = parseInput(emailSchema, options.email);
  const roles = options.tenant ? parseInput(portalRolesSchema, options.roles) : (['operator'] as const);
  return withDatabase(async (db) => {
    const scope: UserScope = options.tenant ? await requireTenantRow(db, options.tenant).then((t) => ({ tenantId: t.id, tenantSlug: t.slug })) : { tenantId: null };
    const invited = await inviteUser(db, scope, { email, roles: [...roles], actor: CLI_ACTOR }, new Date());
    const origin = (options.url ?? `http://127.0.0.1:${loadConfig().http.port}`).replace(/\/+$/, '');
    const link = `${origin}${invited.path}`;
    print({ ...invited, link }, Boolean(options.json), () => `Invited ${email} (${roles.join(', ')}). Send them this one-time link (valid 7 days; it is not shown again):\n${link}`);
  });
}

export function keyListCommand(options: { tenant?: string; operator?: boolean; json?: boolean }) {
  if (Boolean(options.tenant) === Boolean(options.operator)) throw new InvalidArgumentError('give exactly one of --tenant <slug> or --operator');
  return withDatabase(async (db) => {
    const keys = options.tenant ? await listApiKeys(db, (await requireTenantRow(db, options.tenant)).id) : await listOperatorKeys(db);
    print(keys, Boolean(options.json), () =>
      keys.map((k) => `${k.prefix.padEnd(24)} ${(k.revokedAt ? 'revoked' : 'active').padEnd(8)} ${k.scopes.join(',').padEnd(40)} ${k.name}`).join('\n') || 'No keys.',
    );
  });
}

export function keyRevokeCommand(keyId: string, options: { json?: boolean }) {
  if (!/^[0-9A-Za-z]{16}$/.test(keyId)) throw new InvalidArgumentError('a key id is the 16 letters and digits after cx_live_ or cx_op_');
  return withDatabase(async (db) => {
    const revoked = await revokeAnyApiKey(db, { keyId, actor: CLI_ACTOR });
    print(revoked, Boolean(options.json), () => `Revoked key ${revoked.id}.`);
  });
}
