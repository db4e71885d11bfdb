import { Command, InvalidArgumentError } from 'commander';
import { TENANT_SCOPES, tenantScopeSchema, type TenantScope } from '../auth/scopes.ts';
import { ConfigError } from '../config/env.ts';
import { AppError } from '../errors/app-error.ts';
import { tenantRoleSchema } from '../tenants/tenant.ts';
import { TENANT_PORTAL_ROLES } from '../users/user.ts';

const commands = () => import('./commands.ts');

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

function rolesOption(value: string): ('issuer' | 'partner')[] {
  return list(value).map((role) => {
    const parsed = tenantRoleSchema.safeParse(role);
    if (!parsed.success) throw new InvalidArgumentError(`unknown role "${role}": use issuer and/or partner`);
    return parsed.data;
  });
}

function positiveInteger(value: string): number {
  if (!/^[1-9]\d{0,5}$/.test(value)) throw new InvalidArgumentError('must be a whole number of seconds');
  return Number(value);
}

export function buildCli(): Command {
  const program = new Command('coalition')
    .description('Coalition Exchange: reward exchange for retailer coalitions.\nConfiguration comes from environment variables; see README.md.')
    .showHelpAfterError('(run with --help for usage)');

  program
    .command('start')
    .description('All in one: start embedded PostgreSQL/Redis unless DATABASE_URL/REDIS_URL are set, migrate, run API and workers, print a new operator key')
    .option('--demo', 'once running, seed a demo coalition through the API and print what happened (see "coalition demo --help")')
    .action(async (options: { demo?: boolean }) => (await commands()).runServices('start', { demo: Boolean(options.demo) }));
  program
    .command('serve')
    .description('Run the API only (expects a migrated database: run "coalition migrate" first)')
    .action(async () => (await commands()).runServices('serve'));
  program
    .command('worker')
    .description('Run background workers only (expects a migrated database)')
    .action(async () => (await commands()).runServices('worker'));
  program
    .command('migrate')
    .description('Bring the coalition schema and every tenant schema up to date; safe to re-run, resumes after an interruption')
    .action(async () => (await commands()).migrateCommand());

  program
    .command('demo')
    .description(
      'Seed a demo coalition on a running system through its HTTP API: a grocer with a sticker campaign, an electronics shop with an offer and a code pool, ' +
        'an agreement, purchases, an exchange, a redemption, its webhook at a receiver this command runs on 127.0.0.1, and the month\'s settlement statement. ' +
        'Each run creates new demo tenants (demo-grocer, then demo-grocer-2, …). The webhook step needs the server to run with WEBHOOK_ALLOW_LOOPBACK=true',
    )
    .option('--url <url>', 'the API of the running system (default: http://127.0.0.1:$PORT)')
    .option('--operator-key <key>', 'an operator key (or set COALITION_OPERATOR_KEY); without one, a temporary key is made in the database of DATABASE_URL or of a running "npm start"')
    .option('--webhook-timeout <seconds>', 'how long to wait for the webhook', positiveInteger, 30)
    .option('--json', 'print JSON')
    .action(async (options) => (await import('../demo/command.ts')).demoCommand(options));

  const tenant = program.command('tenant').description('Manage tenants (retailers)');
  tenant
    .command('create')
    .description('Register a tenant and provision its schema')
    .requiredOption('--slug <slug>', 'permanent id: 3-32 lowercase letters, digits, hyphens (e.g. green-grocer)')
    .requiredOption('--name <name>', 'display name')
    .requiredOption('--roles <roles>', 'issuer, partner or issuer,partner', rolesOption)
    .requiredOption('--timezone <zone>', 'IANA time zone, e.g. Europe/Moscow')
    .requiredOption('--currency <code>', 'ISO 4217 currency, e.g. RUB')
    .option('--json', 'print JSON')
    .action(async (options) => (await commands()).tenantCreateCommand(options));
  tenant
    .command('list')
    .description('List tenants')
    .option('--json', 'print JSON')
    .action(async (options) => (await commands()).tenantListCommand(options));

  program
    .command('invite')
    .description('Invite a portal user: a tenant user (--tenant, --roles) or a coalition operator (--operator); prints the one-time link (valid 7 days)')
    .requiredOption('--email <address>', "the person's email address; they sign in with it")
    .option('--tenant <slug>', 'the tenant the user belongs to')
    .option('--roles <roles>', `comma-separated: ${TENANT_PORTAL_ROLES.join(', ')}`, list)
    .option('--operator', 'invite a coalition operator instead')
    .option('--url <origin>', 'where the portal is reached, for the printed link (default: http://127.0.0.1:$PORT)')
    .option('--json', 'print JSON')
    .action(async (options) => (await commands()).inviteCommand(options));

  const key = program.command('key').description('Manage API keys');
  key
    .command('create')
    .description('Create an API key for a tenant (--tenant) or an operator key (--operator); the key is printed once')
    .option('--tenant <slug>', 'tenant the key acts for')
    .option('--operator', 'create a coalition operator key instead')
    .requiredOption('--name <name>', 'what the key is for')
    .option('--scopes <scopes>', `comma-separated: ${TENANT_SCOPES.join(', ')}`, scopesOption)
    .option('--json', 'print JSON')
    .action(async (options) => (await commands()).keyCreateCommand(options));
  key
    .command('list')
    .description("List a tenant's keys (--tenant) or operator keys (--operator); secrets are never shown")
    .option('--tenant <slug>')
    .option('--operator')
    .option('--json', 'print JSON')
    .action(async (options) => (await commands()).keyListCommand(options));
  key
    .command('revoke')
    .description('Revoke an API key by id (the 16 characters after cx_live_ / cx_op_)')
    .argument('<keyId>')
    .option('--json', 'print JSON')
    .action(async (keyId: string, options) => (await commands()).keyRevokeCommand(keyId, options));
  return program;
}

try {
  await buildCli().parseAsync(process.argv);
} catch (error) {
  const suffix = error instanceof AppError ? ` [${error.code}]` : '';
  const known = error instanceof ConfigError || error instanceof AppError || error instanceof InvalidArgumentError;
  process.stderr.write(`error: ${known || error instanceof Error ? (error as Error).message : String(error)}${suffix}\n`);
  process.exit(1);
}
