import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import { customAlphabet } from 'nanoid';
import pg from 'pg';
import { createTenantApiKey } from '../server/src/auth/create-api-key.ts';
import type { TenantScope } from '../server/src/auth/scopes.ts';
import { configFromEnv, type ResolvedConfig } from '../server/src/config/config.ts';
import { parseEnv } from '../server/src/config/env.ts';
import { tenantDb } from '../server/src/db/database.ts';
import { migrateCoalition } from '../server/src/db/migrate.ts';
import { FRAUD_RULES } from '../server/src/fraud/rules.ts';
import { tenantSchemaName } from '../server/src/db/schema-names.ts';
import { createHttpApp, type HttpAppState } from '../server/src/http/app.ts';
import { startHttpServer } from '../server/src/http/server.ts';
import type { Logger } from '../server/src/logging/logger.ts';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../server/src/runtime/embedded-postgres.ts';
import { startEmbeddedRedis } from '../server/src/runtime/embedded-redis.ts';
import { connectServices } from '../server/src/system/connect-services.ts';
import type { AppServices } from '../server/src/system/services.ts';
import { createTenant } from '../server/src/tenants/create-tenant.ts';
import { requireTenantRow } from '../server/src/tenants/get-tenant.ts';
import { BENCH_CAMPAIGN_RULES } from './purchases.ts';

/** High enough that no benchmark run can reach it: a 429 would be measured as a failure. */
const BENCH_RATE_LIMIT_PER_MINUTE = 10_000_000;

type Stop = () => Promise<unknown>;

/**
 * Everything the benchmark starts, stopped in reverse order of starting. A failing
 * stop step is reported and the remaining ones still run.
 */
export class Stops {
  private readonly steps: { name: string; stop: Stop }[] = [];
  private stopping: Promise<void> | undefined;

  push(name: string, stop: Stop): void {
    this.steps.push({ name, stop });
  }

  stopAll(): Promise<void> {
    return (this.stopping ??= (async () => {
      for (const { name, stop } of this.steps.reverse()) {
        try {
          await stop();
        } catch (error) {
          console.error(`bench: error while stopping ${name}:`, error instanceof Error ? error.message : error);
        }
      }
    })());
  }
}

export interface Infrastructure {
  /** A URL with rights to create databases. */
  adminDatabaseUrl: string;
  redisUrl: string;
  embedded: { postgres: boolean; redis: boolean };
  /** The embedded PostgreSQL's postmaster, whose processes the bench watches for CPU time; absent with BENCH_DATABASE_URL. */
  postmasterPid: number | undefined;
}

/**
 * Real PostgreSQL and Redis, as the test global setup gets them: throwaway embedded
 * servers, or the ones named by BENCH_DATABASE_URL / BENCH_REDIS_URL.
 */
export async function startInfrastructure(logger: Logger, stops: Stops): Promise<Infrastructure> {
  let adminDatabaseUrl = process.env.BENCH_DATABASE_URL || undefined;
  const embeddedPostgres = !adminDatabaseUrl;
  let postmasterPid: number | undefined;
  if (!adminDatabaseUrl) {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'cx-bench-pg-'));
    stops.push('temporary PostgreSQL folder', () => rm(dir, { recursive: true, force: true }));
    await chmod(dir, 0o755); // as root, postgres runs as the "postgres" user and must enter it
    const dataDir = path.join(dir, 'data');
    const postgres = await startEmbeddedPostgres({ dir: dataDir, database: 'postgres', logger });
    stops.push('embedded PostgreSQL', () => stopEmbeddedPostgres(postgres, dataDir));
    adminDatabaseUrl = postgres.url;
    postmasterPid = await runningPostmaster(dataDir);
  }
  let redisUrl = process.env.BENCH_REDIS_URL || undefined;
  const embeddedRedis = !redisUrl;
  if (!redisUrl) {
    const redis = await startEmbeddedRedis({ logger });
    stops.push('embedded Redis', () => redis.stop());
    redisUrl = redis.url;
  }
  return { adminDatabaseUrl, redisUrl, embedded: { postgres: embeddedPostgres, redis: embeddedRedis }, postmasterPid };
}

/** The postmaster's pid while it runs: postgres removes postmaster.pid when it stops. */
async function runningPostmaster(dataDir: string): Promise<number | undefined> {
  let pid: number;
  try {
    pid = Number((await readFile(path.join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM' ? pid : undefined;
  }
}

/**
 * embedded-postgres's stop() waits for an 'exit' event that never comes when postgres
 * is already gone (a Ctrl-C reaches it too, being in our process group), so we also
 * watch the postmaster ourselves.
 */
async function stopEmbeddedPostgres(postgres: EmbeddedPostgres, dataDir: string): Promise<void> {
  if ((await runningPostmaster(dataDir)) === undefined) return;
  let stopped = false;
  const gone = (async () => {
    for (let i = 0; i < 300 && !stopped; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      if ((await runningPostmaster(dataDir)) === undefined) return;
    }
    if (!stopped) throw new Error(`embedded PostgreSQL in ${dataDir} did not stop within 30 s`);
  })();
  try {
    await Promise.race([postgres.stop(), gone]);
  } finally {
    stopped = true;
  }
}

function databaseUrl(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

export interface BenchApp {
  /** Names this run's databases and Redis prefix. */
  runId: string;
  baseUrl: string;
  /** This run's database, for work beside the app (the raw COPY baseline). */
  databaseUrl: string;
  /** The app's own services: the in-process worker host and the bench tenants use them. */
  services: AppServices;
  /** The issuer (role `issuer`) every scenario acts for. */
  tenantSlug: string;
  /** Its API key (admin scope) for the authenticated scenarios. */
  tenantKey: string;
  /** The second tenant, role `partner`, whose pools the exchange, the redemptions and the code import use. */
  partnerSlug: string;
  /** Its API key: offers, pools, agreements, and redeeming its codes. */
  partnerKey: string;
  /** The running campaign every bench purchase earns stickers in. */
  campaignId: string;
  /** What the purchases of this run left in the tenant's tables. */
  purchaseCounts(): Promise<PurchaseCounts>;
  /** Every anti-fraud rule of the issuer to allow, or back to the catalog's defaults. */
  setFraudRules(mode: 'off' | 'defaults'): Promise<void>;
  /** What the anti-fraud rules recorded so far: hits, the receipts they were on, cases. */
  fraudHits(): Promise<{ hits: number; purchases: number; cases: number }>;
}

export interface PurchaseCounts {
  purchases: number;
  /** Purchases with an accrual row in the sticker ledger. */
  credited: number;
  stickers: number;
  /** Customers with at least one purchase. */
  customers: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** A tenant of one role and one API key of these scopes. */
async function createBenchTenant(
  db: AppServices['db'],
  tenant: { slug: string; displayName: string; role: 'issuer' | 'partner' },
  scopes: TenantScope[],
): Promise<{ slug: string; key: string }> {
  const created = await createTenant(
    db,
    { slug: tenant.slug, displayName: tenant.displayName, roles: [tenant.role], timezone: 'Europe/Moscow', currency: 'RUB', rateLimitPerMinute: null },
    'bench',
  );
  const row = await requireTenantRow(db, created.slug);
  const { secret } = await createTenantApiKey(db, { tenant: row, name: `bench ${tenant.role} key`, scopes, actor: 'bench' });
  return { slug: created.slug, key: secret };
}

/**
 * A running campaign for the bench tenant, created through the API as an issuer does:
 * 1 sticker per 500.00 RUB, 14-day hold, a SKU bonus, goals at 10 and 30 stickers.
 */
async function createBenchCampaign(baseUrl: string, key: string): Promise<string> {
  const now = Date.now();
  const at = (days: number) => new Date(now + days * DAY_MS).toISOString();
  const response = await fetch(`${baseUrl}/api/v1/campaigns`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      name: 'Benchmark stickers',
      description: 'Collect stickers, swap them for kitchenware.',
      terms: 'One sticker per 500 RUB; two more per promo coffee, up to four.',
      startsAt: at(0),
      endsAt: at(30),
      burnAt: at(60),
      milestones: [
        { stickers: 10, label: 'Frying pan' },
        { stickers: 30, label: 'Knife set' },
      ],
      rules: BENCH_CAMPAIGN_RULES,
    }),
  });
  const text = await response.text();
  let body: { id?: unknown; status?: unknown } | undefined;
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    body = undefined;
  }
  if (response.status !== 200 || typeof body?.id !== 'string' || body.status !== 'running') {
    throw new Error(`Creating the bench campaign (POST /api/v1/campaigns) failed: HTTP ${response.status} ${text.slice(0, 500)}`);
  }
  return body.id;
}

/**
 * A fresh migrated database, a private Redis key prefix and the real app on an
 * ephemeral loopback port, assembled as test/support/test-system.ts does.
 */
export async function startCoalitionApp(infra: Infrastructure, logger: Logger, stops: Stops): Promise<BenchApp> {
  const runId = customAlphabet('abcdefghijklmnopqrstuvwxyz0123456789', 8)();
  const databaseName = `cx_bench_${runId}`;

  const admin = new pg.Client({ connectionString: infra.adminDatabaseUrl });
  await admin.connect();
  try {
    await admin.query(`create database ${databaseName}`);
  } finally {
    await admin.end();
  }
  stops.push(`database ${databaseName}`, async () => {
    const cleanup = new pg.Client({ connectionString: infra.adminDatabaseUrl });
    await cleanup.connect();
    try {
      await cleanup.query(`drop database if exists ${databaseName} with (force)`);
    } finally {
      await cleanup.end();
    }
  });

  const appDatabaseUrl = databaseUrl(infra.adminDatabaseUrl, databaseName);
  const parsed = configFromEnv(
    parseEnv({
      DATABASE_URL: appDatabaseUrl,
      REDIS_URL: infra.redisUrl,
      QUEUE_PREFIX: `cxb_${runId}`,
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'warn',
      // The webhook deliveries go to a receiver on 127.0.0.1 (bench/webhooks.ts).
      WEBHOOK_ALLOW_LOOPBACK: 'true',
    }),
  ) as ResolvedConfig;
  // The environment schema caps rate limits at 1,000,000/min; the benchmark sets them directly.
  const config: ResolvedConfig = {
    ...parsed,
    secretKey: randomBytes(32),
    rateLimits: { perKeyPerMinute: BENCH_RATE_LIMIT_PER_MINUTE, perIpPerMinute: BENCH_RATE_LIMIT_PER_MINUTE },
  };

  const connected = await connectServices(config, logger);
  stops.push('services (database pool, Redis connection)', () => connected.close());
  const { services } = connected;
  const { db, redis } = services;
  await migrateCoalition(db);
  // Only matters with BENCH_REDIS_URL: remove this run's rate-limit counters.
  stops.push('Redis keys of this run', async () => {
    const keys: string[] = [];
    for await (const batch of redis.scanStream({ match: `${config.queuePrefix}:*`, count: 500 })) keys.push(...(batch as string[]));
    if (keys.length > 0) await redis.del(...keys);
  });

  const issuer = await createBenchTenant(db, { slug: `bench-${runId}`, displayName: 'Benchmark Retailer', role: 'issuer' }, ['admin']);
  const partner = await createBenchTenant(db, { slug: `bench-partner-${runId}`, displayName: 'Benchmark Partner', role: 'partner' }, ['pools:write', 'agreements:write', 'codes:redeem']);

  const state: HttpAppState = { shuttingDown: false };
  const server = await startHttpServer(createHttpApp(services, state), {
    host: '127.0.0.1',
    port: 0,
    shutdownTimeoutMs: 5_000,
    logger,
    state,
  });
  stops.push('Coalition Exchange HTTP server', () => server.close());
  const campaignId = await createBenchCampaign(server.url, issuer.key);
  const tdb = tenantDb(db, tenantSchemaName(issuer.slug));
  // One statement, so one snapshot: purchases still in flight commit with their ledger rows.
  const purchaseCounts = async (): Promise<PurchaseCounts> => {
    const row = await tdb
      .selectNoFrom((eb) => [
        eb.selectFrom('purchases').select((inner) => inner.fn.countAll<string>().as('n')).as('purchases'),
        eb
          .selectFrom('sticker_ledger')
          .where('kind', '=', 'accrual')
          .where('campaign_id', '=', campaignId)
          .select((inner) => inner.fn.count<string>('purchase_id').distinct().as('n'))
          .as('credited'),
        eb
          .selectFrom('sticker_ledger')
          .where('kind', '=', 'accrual')
          .where('campaign_id', '=', campaignId)
          .select((inner) => inner.fn.coalesce(inner.fn.sum<string>('amount'), inner.lit(0)).as('n'))
          .as('stickers'),
        // Not every customer: the exchange scenario seeds customers of its own.
        eb.selectFrom('purchases').select((inner) => inner.fn.count<string>('customer_id').distinct().as('n')).as('customers'),
      ])
      .executeTakeFirstOrThrow();
    return { purchases: Number(row.purchases), credited: Number(row.credited), stickers: Number(row.stickers), customers: Number(row.customers) };
  };
  const setFraudRules = async (mode: 'off' | 'defaults') => {
    await tdb.deleteFrom('fraud_rule_settings').execute();
    if (mode === 'off') {
      await tdb
        .insertInto('fraud_rule_settings')
        .values(FRAUD_RULES.map((rule) => ({ rule_id: rule.id, action: 'allow' as const, params: '{}', updated_by: 'bench', updated_at: new Date() })))
        .execute();
    }
  };
  const fraudHits = async () => {
    const row = await tdb
      .selectNoFrom((eb) => [
        eb.selectFrom('fraud_case_hits').select((inner) => inner.fn.countAll<string>().as('n')).as('hits'),
        eb.selectFrom('fraud_case_hits').select((inner) => inner.fn.count<string>('purchase_id').distinct().as('n')).as('purchases'),
        eb.selectFrom('fraud_cases').select((inner) => inner.fn.countAll<string>().as('n')).as('cases'),
      ])
      .executeTakeFirstOrThrow();
    return { hits: Number(row.hits), purchases: Number(row.purchases), cases: Number(row.cases) };
  };
  return {
    setFraudRules,
    fraudHits,
    runId,
    baseUrl: server.url,
    databaseUrl: appDatabaseUrl,
    services,
    tenantSlug: issuer.slug,
    tenantKey: issuer.key,
    partnerSlug: partner.slug,
    partnerKey: partner.key,
    campaignId,
    purchaseCounts,
  };
}

/** The baseline: a plain Express 5 app with one JSON handler, nothing else. */
export async function startBareExpress(stops: Stops): Promise<string> {
  const app = express();
  app.get('/bare', (_req, res) => {
    res.json({ ok: true });
  });
  const server = http.createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  stops.push('bare Express server', async () => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  });
  const { port } = server.address() as AddressInfo;
  return `http://127.0.0.1:${port}`;
}

/** The primary-key lookup of the bare PostgreSQL baseline: one voucher row by id. */
export const BARE_PG_QUERY = 'select id, status, code_mask, expires_at from coalition.vouchers where id = $1';
export const BARE_PG_PATH = '/bare-pg';

/**
 * The baseline of the validate scenario: a plain Express 5 app that parses a JSON body
 * `{"id": …}` and answers the row of one primary-key lookup on the app's database,
 * through a `pg.Pool` as large as the app's own pool. No authentication, no validation.
 */
export async function startBarePgExpress(databaseUrl: string, poolMax: number, stops: Stops): Promise<string> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: poolMax, application_name: 'coalition-bench-bare-pg' });
  stops.push('bare Express + pg pool', () => pool.end());
  const app = express();
  app.use(express.json());
  app.post(BARE_PG_PATH, async (req, res) => {
    const { rows } = await pool.query(BARE_PG_QUERY, [(req.body as { id?: unknown }).id]);
    if (rows.length === 0) res.status(404).json({ error: 'not found' });
    else res.json(rows[0]);
  });
  const server = http.createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  stops.push('bare Express + pg server', async () => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  });
  const { port } = server.address() as AddressInfo;
  return `http://127.0.0.1:${port}`;
}
