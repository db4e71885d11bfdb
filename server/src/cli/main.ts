import { Command, InvalidArgumentError } from 'commander';
import { createOperatorApiKey, createTenantApiKey } from '../auth/create-api-key.ts';
import { listApiKeys } from '../auth/list-api-keys.ts';
import { revokeAnyApiKey } from '../auth/revoke-api-key.ts';
import { TENANT_SCOPES, tenantScopeSchema, type TenantScope } from '../auth/scopes.ts';
import { loadConfig, type Config } from '../config/config.ts';
import { ConfigError } from '../config/env.ts';
import type { Database } from '../db/database.ts';
import { migrateAll } from '../db/migrate.ts';
import { AppError } from '../errors/app-error.ts';
import { createLogger, type Logger } from '../logging/logger.ts';
import { createTenant } from '../tenants/create-tenant.ts';
import { listTenants, requireTenantRow } from '../tenants/get-tenant.ts';
import { tenantRoleSchema, type Tenant } from '../tenants/tenant.ts';
import { openDatabase, startSystem, type SystemOptions } from '../system/start-system.ts';
import { listOperatorApiKeys } from '../auth/api-key.queries.ts';
import { coalitionDb } from '../db/database.ts';
import { toApiKey } from '../auth/api-key.ts';

const CLI_ACTOR = 'cli';

function loadRuntime(): { config: Config; logger: Logger } {
  const config = loadConfig();
  // Logs go to stderr so command output on stdout stays clean for scripts.
  const logger = createLogger({ level: config.logLevel, destination: process.stderr as never });
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

function list(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

function scopesOption(value: string): TenantScope[] {
  return list(value).map((scope) => {
    const parsed = tenantScopeSchema.safeParse(scope);
    if (!parsed.success) throw new InvalidArgumentError(`unknown scope "${scope}". Valid scopes: ${TENANT_SCOPES.join(', ')}`);
    return parsed.data;
  });
}

async function runServices(mode: 'start' | 'serve' | 'worker'): Promise<void> {
  const { config, logger } = loadRuntime();
  const options: SystemOptions = {
    start: { api: true, workers: true, migrate: true },
    serve: { api: true, workers: false, migrate: false },
    worker: { api: false, workers: true, migrate: false },
  }[mode];
  const system = await startSystem(config, logger, options);

  if (mode === 'start') {
    const { secret } = await createOperatorApiKey(system.services.db, { name: `coalition start ${new Date().toISOString()}`, actor: CLI_ACTOR });
    const lines = [
      '',
      'Coalition Exchange is running.',
      `  API (REST)      ${system.apiUrl}/api   (OpenAPI: ${system.apiUrl}/api/openapi.json)`,
      `  API (tRPC)      ${system.apiUrl}/trpc`,
      `  Health          ${system.apiUrl}/healthz   ${system.apiUrl}/readyz`,
      `  PostgreSQL      ${system.embedded.postgres ? `embedded, data in ${config.dataDir}/postgres` : 'DATABASE_URL'}`,
      `  Redis           ${system.embedded.redis ? 'embedded' : 'REDIS_URL'}`,
      '',
      `  Operator key (shown once): ${secret}`,
      '',
      `  Try: curl -H "Authorization: Bearer ${secret.slice(0, 10)}…" ${system.apiUrl}/api/v1/me`,
      '  Stop with Ctrl-C.',
      '',
    ];
    // Printed to the terminal only, never through the logger.
    process.stdout.write(`${lines.join('\n')}\n`);
  }

  let signalled = false;
  const shutdown = (signal: string) => {
    if (signalled) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    signalled = true;
    logger.info({ signal }, 'shutting down: finishing in-flight requests and jobs');
    system.stop().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (error) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

export function buildCli(): Command {
  const program = new Command('coalition')
    .description('Coalition Exchange: reward exchange for retailer coalitions.\nConfiguration comes from environment variables; see README.md.')
    .showHelpAfterError('(run with --help for usage)');

  program
    .command('start')
    .description('All in one: start embedded PostgreSQL/Redis unless DATABASE_URL/REDIS_URL are set, migrate, run API and workers, print a new operator key')
    .action(() => runServices('start'));
  program.command('serve').description('Run the API only (expects a migrated database: run "coalition migrate" first)').action(() => runServices('serve'));
  program.command('worker').description('Run background workers only (expects a migrated database)').action(() => runServices('worker'));

  program
    .command('migrate')
    .description('Bring the coalition schema and every tenant schema up to date; safe to re-run, resumes after an interruption')
    .action(() =>
      withDatabase(async (db, logger) => {
        const result = await migrateAll(db, logger);
        const applied = result.coalition.length + result.tenants.reduce((sum, tenant) => sum + tenant.applied.length, 0);
        process.stdout.write(`Migrated: coalition schema and ${result.tenants.length} tenant schema(s) up to date; ${applied} migration(s) applied.\n`);
      }),
    );

  const tenant = program.command('tenant').description('Manage tenants (retailers)');
  tenant
    .command('create')
    .description('Register a tenant and provision its schema')
    .requiredOption('--slug <slug>', 'permanent id: 3-32 lowercase letters, digits, hyphens (e.g. green-grocer)')
    .requiredOption('--name <name>', 'display name')
    .requiredOption('--roles <roles>', 'issuer, partner or issuer,partner', (value) =>
      list(value).map((role) => {
        const parsed = tenantRoleSchema.safeParse(role);
        if (!parsed.success) throw new InvalidArgumentError(`unknown role "${role}": use issuer and/or partner`);
        return parsed.data;
      }),
    )
    .requiredOption('--timezone <zone>', 'IANA time zone, e.g. Europe/Moscow')
    .requiredOption('--currency <code>', 'ISO 4217 currency, e.g. RUB')
    .option('--json', 'print JSON')
    .action((options: { slug: string; name: string; roles: ('issuer' | 'partner')[]; timezone: string; currency: string; json?: boolean }) =>
      withDatabase(async (db) => {
        const created = await createTenant(
          db,
          { slug: options.slug, displayName: options.name, roles: options.roles, timezone: options.timezone, currency: options.currency },
          CLI_ACTOR,
        );
        print(created, Boolean(options.json), () => `Created tenant ${created.slug} (${created.roles.join(', ')}), schema version ${created.schemaVersion}.`);
      }),
    );
  tenant
    .command('list')
    .description('List tenants')
    .option('--json', 'print JSON')
    .action((options: { json?: boolean }) =>
      withDatabase(async (db) => {
        const tenants: Tenant[] = [];
        let cursor: string | undefined;
        do {
          const page = await listTenants(db, { limit: 500, cursor });
          tenants.push(...page.tenants);
          cursor = page.nextCursor ?? undefined;
        } while (cursor);
        print(tenants, Boolean(options.json), () =>
          tenants.length
            ? tenants.map((t) => `${t.slug.padEnd(32)} ${t.status.padEnd(9)} ${t.roles.join(',').padEnd(15)} ${t.currency} ${t.timezone.padEnd(20)} ${t.schemaVersion ?? '-'}`).join('\n')
            : 'No tenants yet. Create one with: coalition tenant create --help',
        );
      }),
    );

  const key = program.command('key').description('Manage API keys');
  key
    .command('create')
    .description('Create an API key for a tenant (--tenant) or an operator key (--operator); the key is printed once')
    .option('--tenant <slug>', 'tenant the key acts for')
    .option('--operator', 'create a coalition operator key instead')
    .requiredOption('--name <name>', 'what the key is for')
    .option('--scopes <scopes>', `comma-separated: ${TENANT_SCOPES.join(', ')}`, scopesOption)
    .option('--json', 'print JSON')
    .action((options: { tenant?: string; operator?: boolean; name: string; scopes?: TenantScope[]; json?: boolean }) =>
      withDatabase(async (db) => {
        if (Boolean(options.tenant) === Boolean(options.operator)) throw new InvalidArgumentError('give exactly one of --tenant <slug> or --operator');
        let created;
        if (options.operator) {
          created = await createOperatorApiKey(db, { name: options.name, actor: CLI_ACTOR });
        } else {
          if (!options.scopes?.length) throw new InvalidArgumentError('--scopes is required for a tenant key');
          const row = await requireTenantRow(db, options.tenant as string);
          created = await createTenantApiKey(db, { tenant: row, name: options.name, scopes: options.scopes, actor: CLI_ACTOR });
        }
        print(created, Boolean(options.json), () => `Created key ${created.apiKey.id} (${created.apiKey.scopes.join(', ')}). Store it now; it is not shown again:\n${created.secret}`);
      }),
    );
  key
    .command('list')
    .description("List a tenant's keys (--tenant) or operator keys (--operator); secrets are never shown")
    .option('--tenant <slug>')
    .option('--operator')
    .option('--json', 'print JSON')
    .action((options: { tenant?: string; operator?: boolean; json?: boolean }) =>
      withDatabase(async (db) => {
        if (Boolean(options.tenant) === Boolean(options.operator)) throw new InvalidArgumentError('give exactly one of --tenant <slug> or --operator');
        const keys = options.operator
          ? (await listOperatorApiKeys(coalitionDb(db))).map(toApiKey)
          : await listApiKeys(db, (await requireTenantRow(db, options.tenant as string)).id);
        print(keys, Boolean(options.json), () =>
          keys.map((k) => `${k.prefix.padEnd(24)} ${(k.revokedAt ? 'revoked' : 'active').padEnd(8)} ${k.scopes.join(',').padEnd(40)} ${k.name}`).join('\n') || 'No keys.',
        );
      }),
    );
  key
    .command('revoke')
    .description('Revoke an API key by id (the 16 characters after cx_live_ / cx_op_)')
    .argument('<keyId>')
    .option('--json', 'print JSON')
    .action((keyId: string, options: { json?: boolean }) =>
      withDatabase(async (db) => {
        if (!/^[0-9A-Za-z]{16}$/.test(keyId)) throw new InvalidArgumentError('a key id is the 16 letters and digits after cx_live_ or cx_op_');
        const revoked = await revokeAnyApiKey(db, { keyId, actor: CLI_ACTOR });
        print(revoked, Boolean(options.json), () => `Revoked key ${revoked.id}.`);
      }),
    );
  return program;
}

try {
  await buildCli().parseAsync(process.argv);
} catch (error) {
  if (error instanceof ConfigError || error instanceof AppError || error instanceof InvalidArgumentError) {
    process.stderr.write(`error: ${error.message}${error instanceof AppError ? ` [${error.code}]` : ''}\n`);
  } else {
    process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
  }
  process.exit(1);
}
