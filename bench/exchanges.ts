/**
 * The "exchange" scenario: customers swap stickers for a partner's promo code. Its world
 * is set up through the API as the two tenants would (offer, generated pool, agreement,
 * reward); only the customers and their stickers are written straight to the tables, as
 * seeding. The load worker builds the requests (functions cannot cross IPC), and so
 * does the pre-check.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { tenantDb } from '../server/src/db/database.ts';
import { COALITION_SCHEMA, tenantSchemaName } from '../server/src/db/schema-names.ts';
import { startWorkerHost } from '../server/src/jobs/worker-host.ts';
import { importCodeBatchJob } from '../server/src/pools/import-batch.ts';
import { assertAllAccepted, call, createOffer, waitUntilReady, type BatchView } from './code-import.ts';
import type { GeneratedRequest } from './load-generator.ts';
import type { BenchApp, Stops } from './stack.ts';

export const EXCHANGE_PATH = '/api/v1/exchanges';
/** The issue measures the exchange at 32 concurrent clients, whatever BENCH_CONNECTIONS says. */
export const EXCHANGE_CONNECTIONS = 32;
/** The issue's target for exchanges/s ÷ pgbench tps at those 32 clients. */
export const EXCHANGE_PGBENCH_TARGET = 0.5;
export const EXCHANGE_CUSTOMER_COUNT = 5_000;
/** Stickers one exchange costs. */
const EXCHANGE_STICKER_COST = 1;

/** Far above what a machine of a few cores does, so the pool outlasts the run: a 409 POOL_EXHAUSTED would fail it. */
export const GENEROUS_EXCHANGES_PER_SECOND = 3_000;
const MIN_POOL_CODES = 25_000;
/** Random characters of each pool code: not the 10 of the generation measured later, so the two never share a code space. */
const POOL_CODE_LENGTH = 12;
const SEED_ROWS_PER_INSERT = 1_000;

/** What the load worker is told: enough to build distinct, valid exchanges on its own. */
export interface ExchangeLoad {
  kind: 'exchanges';
  rewardId: string;
  /** Customers are taken in turn from the seeded ones, benchCustomerId(0 … customerCount - 1). */
  customerCount: number;
  /** Whose customers: those of the exchange scenario (absent) or another group seeded under this prefix (redemptions.ts). */
  customerPrefix?: string;
}

const EXCHANGE_CUSTOMER_PREFIX = 'bench';

/** The seeded customers' ids, known to the load worker without shipping a list. */
function benchCustomerId(index: number, prefix = EXCHANGE_CUSTOMER_PREFIX): string {
  // Customer ids are "cus_" and 16 letters and digits.
  return `cus_${prefix}${String(index).padStart(16 - prefix.length, '0')}`;
}

/**
 * A source of distinct exchanges: a new Idempotency-Key each, customers in turn from a
 * random start, so the 32 requests in flight are 32 different customers and none waits
 * on another's row lock.
 */
export function exchangeFactory(load: ExchangeLoad): () => GeneratedRequest {
  let next = Math.floor(Math.random() * load.customerCount);
  return () => {
    const customerId = benchCustomerId(next, load.customerPrefix);
    next = (next + 1) % load.customerCount;
    return { idempotencyKey: randomUUID(), body: JSON.stringify({ customer: { customerId }, rewardId: load.rewardId }) };
  };
}

export interface ExchangeCounts {
  /** Vouchers of the bench reward. */
  vouchers: number;
  /** Distinct partner codes behind them: equal to vouchers, or a code went out twice. */
  codes: number;
  /** Spend rows of this scenario's customers in the issuer's ledger (only exchanges spend; redemptions.ts seeds customers of its own). */
  spends: number;
}

export interface ExchangeWorld {
  load: ExchangeLoad;
  /** Codes generated into the offer's pool. */
  poolCodes: number;
  /** Available stickers each seeded customer starts with. */
  stickersEach: number;
  /** What the exchanges of this run left in the tables. */
  counts(): Promise<ExchangeCounts>;
}

/** Enough codes for the pre-check, the warm-up and the measured run at a rate no machine here reaches. */
function poolSizeFor(loadSeconds: number): number {
  return Math.max(MIN_POOL_CODES, Math.ceil(GENEROUS_EXCHANGES_PER_SECOND * loadSeconds));
}

/**
 * The partner's active offer with a generated pool, run by an import worker of its own
 * that is closed once the pool is ready: nothing works in the background during the load.
 */
export async function offerWithPool(app: BenchApp, codes: number, stops: Stops, options: { title: string; length: number } = { title: 'Bench exchange: 500 RUB off', length: POOL_CODE_LENGTH }): Promise<string> {
  const workers = await startWorkerHost({ services: app.services, definitions: [importCodeBatchJob], concurrency: 2 });
  let closing: Promise<void> | undefined;
  const close = () => (closing ??= workers.close());
  stops.push('pool worker host', close);
  try {
    const offerId = await createOffer(app.baseUrl, app.partnerKey, options.title);
    const requested = await call<BatchView>(app.baseUrl, app.partnerKey, 'POST', `/api/v1/offers/${offerId}/code-batches/generate`, {
      what: `Generating the pool of "${options.title}"`,
      body: { count: codes, length: options.length },
    });
    const { batch } = await waitUntilReady(app.baseUrl, app.partnerKey, requested.id);
    assertAllAccepted(`The pool of "${options.title}"`, batch, codes);
    return offerId;
  } finally {
    await close();
  }
}

/** The partner proposes an agreement over the offer, the issuer accepts, and lists the offer as a reward. */
export async function rewardFor(app: BenchApp, offerId: string): Promise<string> {
  const proposed = await call<{ id: string }>(app.baseUrl, app.partnerKey, 'POST', '/api/v1/agreements', {
    what: 'Proposing the bench agreement',
    body: { name: 'bench', issuer: app.tenantSlug, offerIds: [offerId], model: { type: 'issuer_pays_per_issued', amountMinor: 5_000 }, currency: 'RUB' },
  });
  await call(app.baseUrl, app.tenantKey, 'POST', `/api/v1/agreements/${proposed.id}/accept`, { what: 'Accepting the bench agreement' });
  const reward = await call<{ id: string }>(app.baseUrl, app.tenantKey, 'POST', '/api/v1/rewards', {
    what: 'Creating the bench reward',
    body: { title: 'bench', agreementId: proposed.id, offerId, campaignId: app.campaignId, stickerCost: EXCHANGE_STICKER_COST },
  });
  return reward.id;
}

/**
 * Customers of the issuer with `stickers` available now in the bench campaign: one support adjustment each.
 * `group` names another group of customers than the exchange scenario's, with card numbers of its own.
 */
export async function seedCustomers(app: BenchApp, count: number, stickers: number, group: { prefix: string; cardPrefix: string } = { prefix: EXCHANGE_CUSTOMER_PREFIX, cardPrefix: '8000' }): Promise<void> {
  const db = tenantDb(app.services.db, tenantSchemaName(app.tenantSlug));
  const now = new Date();
  for (let start = 0; start < count; start += SEED_ROWS_PER_INSERT) {
    const ids = Array.from({ length: Math.min(SEED_ROWS_PER_INSERT, count - start) }, (_, i) => benchCustomerId(start + i, group.prefix));
    // Card numbers of their own: the purchase scenario enrols 7000-… cards.
    await db
      .insertInto('customers')
      .values(ids.map((id, i) => ({ id, card_number: `${group.cardPrefix}-${String(start + i).padStart(6, '0')}`, phone_hash: null, phone_hint: null, enrolled_via: 'bench' })))
      .execute();
    await db
      .insertInto('sticker_ledger')
      .values(
        ids.map((id) => ({
          customer_id: id,
          campaign_id: app.campaignId,
          kind: 'adjustment' as const,
          amount: stickers,
          available_at: now,
          recorded_at: now,
          purchase_id: null,
          return_id: null,
          actor: 'bench',
          reason: 'seed',
          reference: null,
        })),
      )
      .execute();
  }
}

/**
 * Everything the exchange scenario needs, for a load of `loadSeconds` in all. Each
 * customer gets as many stickers as the pool has codes, and every exchange takes a
 * code: no customer can run out of stickers before the pool runs out of codes.
 */
export async function setUpExchange(app: BenchApp, loadSeconds: number, stops: Stops): Promise<ExchangeWorld> {
  const poolCodes = poolSizeFor(loadSeconds);
  const stickersEach = poolCodes * EXCHANGE_STICKER_COST;
  const offerId = await offerWithPool(app, poolCodes, stops);
  const rewardId = await rewardFor(app, offerId);
  await seedCustomers(app, EXCHANGE_CUSTOMER_COUNT, stickersEach);
  const ledger = sql.table(`${tenantSchemaName(app.tenantSlug)}.sticker_ledger`);
  const vouchers = sql.table(`${COALITION_SCHEMA}.vouchers`);
  // One statement, so one snapshot: an exchange commits its voucher and its spend together.
  const counts = async (): Promise<ExchangeCounts> => {
    const { rows } = await sql<{ vouchers: string; codes: string; spends: string }>`
      select
        (select count(*) from ${vouchers} where reward_id = ${rewardId}) as vouchers,
        (select count(distinct code_id) from ${vouchers} where reward_id = ${rewardId}) as codes,
        (select count(*) from ${ledger} where kind = 'spend' and campaign_id = ${app.campaignId} and customer_id like ${`cus_${EXCHANGE_CUSTOMER_PREFIX}%`}) as spends`.execute(app.services.db);
    const row = rows[0]!;
    return { vouchers: Number(row.vouchers), codes: Number(row.codes), spends: Number(row.spends) };
  };
  return { load: { kind: 'exchanges', rewardId, customerCount: EXCHANGE_CUSTOMER_COUNT }, poolCodes, stickersEach, counts };
}
