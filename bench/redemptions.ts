/**
 * The partner's side of a voucher: the "validate" and "redeem" scenarios and the bare
 * PostgreSQL lookup validate is set beside. Their world is set up as the two tenants
 * would, through the API: an offer of the partner's with a generated pool, an agreement,
 * a reward, and then vouchers, each made by a real exchange (`POST /api/v1/exchanges`)
 * driven by the load generator for a while before any measured load; only the customers
 * who exchange their stickers are written straight to the tables, as seeding. The codes
 * of the vouchers are then read back from the partner's pool and decrypted, so the load
 * worker can present them as a shop's till would: validated many times, redeemed once.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { COALITION_SCHEMA, tenantSchemaName } from '../server/src/db/schema-names.ts';
import { CodeVault } from '../server/src/pools/code-vault.ts';
import { requireTenantRow } from '../server/src/tenants/get-tenant.ts';
import { EXCHANGE_PATH, GENEROUS_EXCHANGES_PER_SECOND, offerWithPool, rewardFor, seedCustomers } from './exchanges.ts';
import type { GeneratedRequest, LoadGenerator, LoadSummary } from './load-generator.ts';
import type { BenchApp, Stops } from './stack.ts';

export const VALIDATE_PATH = '/api/v1/codes/validate';
export const REDEEM_PATH = '/api/v1/redemptions';
/** Validate, its bare baseline and redeem run at 32 concurrent clients, whatever BENCH_CONNECTIONS says. */
export const REDEMPTION_CONNECTIONS = 32;
/** Every order: 5,000.00 RUB, above the offer's 3,000.00 minimum; the offer takes 500.00 off. */
export const ORDER_AMOUNT_MINOR = 500_000;
export const ORDER_CURRENCY = 'RUB';
/** What the offer (bench/code-import.ts createOffer: a fixed 500.00) takes off each order. */
export const EXPECTED_DISCOUNT_MINOR = 50_000;

/**
 * Vouchers are made for this many seconds of exchange load per second of redeem load
 * (warm-up and measured run): enough while a redemption costs no less than a third of
 * an exchange. A run that needs more codes than were made says so and fails. Then for
 * as many more seconds as the measured run lasts, for the webhook latency phase's
 * redemptions (bench/webhooks.ts: 50/s, so enough while exchanges run at 50/s or more;
 * below that the phase redeems what is left).
 */
export const VOUCHER_SECONDS_PER_REDEEM_SECOND = 3;
const REDEEM_CUSTOMER_COUNT = 1_000;
const REDEEM_CUSTOMER_PREFIX = 'redeem';
/** Random characters of each code of this pool: neither the exchange pool's 12 nor the measured generation's 10. */
const REDEEM_POOL_CODE_LENGTH = 11;
/** A code no pool holds, sent once the codes run out: the request is refused (4xx) and the run fails, loudly, instead of redeeming a code twice. */
export const NO_CODE_LEFT = 'NO-CODE-LEFT';

// ---- what the load worker is told ------------------------------------------------------

/** Validations of these codes, in turn from a random start: each one many times, none redeemed meanwhile. */
export interface ValidationLoad {
  kind: 'validations';
  codes: string[];
}

/** Redemptions of these codes, in this order, one request each. */
export interface RedemptionLoad {
  kind: 'redemptions';
  codes: string[];
  /** Starts every order reference of the run, e.g. "bench-ab12cd". */
  tag: string;
}

/** The bare baseline's lookups: voucher ids in turn from a random start. */
export interface LookupLoad {
  kind: 'lookups';
  ids: string[];
}

const json = (value: unknown) => JSON.stringify(value);

export function validationFactory(load: ValidationLoad): () => GeneratedRequest {
  let next = Math.floor(Math.random() * load.codes.length);
  return () => {
    const code = load.codes[next]!;
    next = (next + 1) % load.codes.length;
    return { body: json({ code, orderAmountMinor: ORDER_AMOUNT_MINOR, currency: ORDER_CURRENCY }) };
  };
}

/** Each call takes the next code (NO_CODE_LEFT once they are all taken), with a new Idempotency-Key and order reference. */
export function redemptionFactory(load: RedemptionLoad, prefix: string): () => GeneratedRequest {
  const tag = `${load.tag}-${prefix}-${randomBytes(3).toString('hex')}`;
  let index = 0;
  return () => {
    const code = load.codes[index] ?? NO_CODE_LEFT;
    const orderRef = `${tag}-${index}`;
    index += 1;
    return { idempotencyKey: randomUUID(), body: json({ code, orderRef, orderAmountMinor: ORDER_AMOUNT_MINOR, currency: ORDER_CURRENCY }) };
  };
}

export function lookupFactory(load: LookupLoad): () => GeneratedRequest {
  let next = Math.floor(Math.random() * load.ids.length);
  return () => {
    const id = load.ids[next]!;
    next = (next + 1) % load.ids.length;
    return { body: json({ id }) };
  };
}

// ---- the world ---------------------------------------------------------------------------

export interface RedemptionCounts {
  /** Redemptions of the bench offer's codes. */
  redemptions: number;
  /** Distinct vouchers among them: equal to redemptions, or a voucher was redeemed twice. */
  distinctVouchers: number;
  /** Vouchers of the bench reward in status redeemed. */
  vouchersRedeemed: number;
  /** Codes of the bench offer in status redeemed, in the partner's pool. */
  codesRedeemed: number;
  /** `voucher.redeemed` events of the bench offer in the issuer's outbox. */
  outboxEvents: number;
}

export interface RedemptionWorld {
  offerId: string;
  rewardId: string;
  /** Codes generated into the offer's pool. */
  poolCodes: number;
  /** How long the exchange load that made the vouchers ran, and what it answered. */
  voucherMaking: { seconds: number; summary: LoadSummary };
  /** The codes of the issued vouchers, in the order they are redeemed. */
  codes: readonly string[];
  /** The ids of those vouchers, same order. */
  voucherIds: readonly string[];
  /** The redeem scenario's pre-check redeems codes[0]; validate and the bare lookup use the rest, before any other is redeemed. */
  validations: ValidationLoad;
  lookups: LookupLoad;
  /** The codes not handed out yet, for the next redeem run. */
  nextRedemptions(): RedemptionLoad;
  /** `count` requests were generated from the last nextRedemptions() (or taken): those codes are used. */
  consume(count: number): void;
  /** Takes up to `count` unused codes (for the webhook latency phase). */
  take(count: number): string[];
  /** Codes asked for beyond the last one: the runs that needed them had requests refused. */
  shortfall(): number;
  counts(): Promise<RedemptionCounts>;
  /** The partner's schema and id, for the webhook checks. */
  partner: { id: string; schema: string };
}

/** Seconds of exchange load that make the vouchers, for the warm-up and the measured duration. */
export function voucherMakingSeconds(warmupSeconds: number, durationSeconds: number): number {
  return Math.ceil(VOUCHER_SECONDS_PER_REDEEM_SECOND * (warmupSeconds + durationSeconds) + durationSeconds);
}

/**
 * Everything the validate and redeem scenarios need: an offer and pool of their own,
 * an agreement, a reward of 1 sticker, customers of their own, and vouchers made by
 * exchanging for `makingSeconds` (voucherMakingSeconds) at 32 connections.
 */
export async function setUpRedemptions(app: BenchApp, load: LoadGenerator, makingSeconds: number, stops: Stops): Promise<RedemptionWorld> {
  const poolCodes = Math.ceil(GENEROUS_EXCHANGES_PER_SECOND * makingSeconds);
  const offerId = await offerWithPool(app, poolCodes, stops, { title: 'Bench redemptions: 500 RUB off', length: REDEEM_POOL_CODE_LENGTH });
  const rewardId = await rewardFor(app, offerId);
  // As many stickers each as the pool has codes: no customer runs out before the pool does.
  await seedCustomers(app, REDEEM_CUSTOMER_COUNT, poolCodes, { prefix: REDEEM_CUSTOMER_PREFIX, cardPrefix: '8100' });

  const summary = await load.run({
    url: `${app.baseUrl}${EXCHANGE_PATH}`,
    connections: REDEMPTION_CONNECTIONS,
    durationSeconds: makingSeconds,
    headers: { authorization: `Bearer ${app.tenantKey}`, 'content-type': 'application/json' },
    generated: { kind: 'exchanges', rewardId, customerCount: REDEEM_CUSTOMER_COUNT, customerPrefix: REDEEM_CUSTOMER_PREFIX },
  });
  if (summary.non2xx > 0 || summary.errors > 0) {
    throw new Error(`Making vouchers for the redemptions (POST ${EXCHANGE_PATH}): ${summary.non2xx} non-2xx responses ${JSON.stringify(summary.statusCodes)}, ${summary.errors} errors`);
  }

  const partnerRow = await requireTenantRow(app.services.db, app.partnerSlug);
  const partner = { id: partnerRow.id, schema: tenantSchemaName(app.partnerSlug) };
  const vouchers = sql.table(`${COALITION_SCHEMA}.vouchers`);
  const redemptions = sql.table(`${COALITION_SCHEMA}.redemptions`);
  const partnerCodes = sql.table(`${partner.schema}.codes`);
  const issuerOutbox = sql.table(`${tenantSchemaName(app.tenantSlug)}.outbox_events`);

  // Requests autocannon gave up on at the end still commit: wait for them before reading.
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const { rows } = await sql<{ id: string; cipher: Buffer; lookup_hash: Buffer }>`
    select v.id, c.cipher, c.lookup_hash
    from ${vouchers} v join ${partnerCodes} c on c.id = v.code_id
    where v.reward_id = ${rewardId} and v.status = 'issued' and c.status = 'issued'
    order by v.issued_at, v.id`.execute(app.services.db);
  const vault = new CodeVault(app.services.secrets, partner.id);
  const codes = rows.map((row) => vault.decrypt(row.cipher, row.lookup_hash));
  const voucherIds = rows.map((row) => row.id);
  if (codes.length < 2) throw new Error(`Making vouchers for the redemptions left ${codes.length} issued vouchers; at least 2 are needed.`);

  // Codes asked for so far (pre-check, runs, webhook phase); the unused ones start at min(requested, codes.length).
  let requested = 0;
  const position = () => Math.min(requested, codes.length);
  const consume = (count: number) => {
    requested += count;
  };
  const runTag = `bench-${randomBytes(3).toString('hex')}`;
  return {
    offerId,
    rewardId,
    poolCodes,
    voucherMaking: { seconds: makingSeconds, summary },
    codes,
    voucherIds,
    validations: { kind: 'validations', codes: codes.slice(1) },
    lookups: { kind: 'lookups', ids: voucherIds.slice(1) },
    nextRedemptions: () => ({ kind: 'redemptions', codes: codes.slice(position()), tag: runTag }),
    consume,
    take(count) {
      const taken = codes.slice(position(), position() + count);
      consume(taken.length);
      return taken;
    },
    shortfall: () => Math.max(0, requested - codes.length),
    partner,
    // One statement, so one snapshot: a redemption commits all of these together.
    async counts() {
      const result = await sql<{ redemptions: string; distinct_vouchers: string; vouchers_redeemed: string; codes_redeemed: string; outbox_events: string }>`
        select
          (select count(*) from ${redemptions} where offer_id = ${offerId}) as redemptions,
          (select count(distinct voucher_id) from ${redemptions} where offer_id = ${offerId}) as distinct_vouchers,
          (select count(*) from ${vouchers} where reward_id = ${rewardId} and status = 'redeemed') as vouchers_redeemed,
          (select count(*) from ${partnerCodes} where offer_id = ${offerId} and status = 'redeemed') as codes_redeemed,
          (select count(*) from ${issuerOutbox} where event_type = 'voucher.redeemed' and payload->>'offerId' = ${offerId}) as outbox_events`.execute(app.services.db);
      const row = result.rows[0]!;
      return {
        redemptions: Number(row.redemptions),
        distinctVouchers: Number(row.distinct_vouchers),
        vouchersRedeemed: Number(row.vouchers_redeemed),
        codesRedeemed: Number(row.codes_redeemed),
        outboxEvents: Number(row.outbox_events),
      };
    },
  };
}

// ---- effect checks -----------------------------------------------------------------------

interface EffectCheck {
  note: string;
  problems: string[];
}

const n = (value: number) => value.toLocaleString('en-US');

/**
 * Every 2xx of the redeem runs (pre-check, warm-up, measured) must be a redemption of
 * its own: one row per redeemed voucher, the voucher and its code marked redeemed, and
 * one `voucher.redeemed` event in the issuer's outbox. Requests still in flight when
 * autocannon stopped waiting are served all the same, so there may be up to that many
 * more redemptions than 2xx answers, never fewer and never more.
 */
export async function checkRedemptions(world: RedemptionWorld, responses2xx: number, inFlight: number): Promise<EffectCheck> {
  const counts = await world.counts();
  const extra = counts.redemptions - responses2xx;
  const note =
    `    (recorded so far, pre-check and warm-up included: ${n(counts.redemptions)} redemptions of ${n(counts.distinctVouchers)} distinct vouchers = ${n(responses2xx)} answered 2xx` +
    ` + ${n(extra)} of the ${n(inFlight)} requests still in flight when autocannon stopped; ${n(counts.vouchersRedeemed)} vouchers and ${n(counts.codesRedeemed)} codes marked redeemed; ` +
    `${n(counts.outboxEvents)} voucher.redeemed events in the issuer's outbox; ${n(world.codes.length)} issued vouchers were made for the runs)`;
  const problems: string[] = [];
  if (world.shortfall() > 0) problems.push(`the runs asked for ${n(world.shortfall())} more codes than the ${n(world.codes.length)} issued vouchers made for them (raise VOUCHER_SECONDS_PER_REDEEM_SECOND in bench/redemptions.ts)`);
  if (counts.redemptions < responses2xx) problems.push(`${n(responses2xx)} 2xx responses but only ${n(counts.redemptions)} redemptions recorded`);
  if (counts.redemptions > responses2xx + inFlight) problems.push(`${n(counts.redemptions)} redemptions recorded, more than the ${n(responses2xx)} 2xx responses and ${n(inFlight)} requests in flight`);
  if (counts.distinctVouchers !== counts.redemptions) problems.push(`${n(counts.redemptions)} redemptions of only ${n(counts.distinctVouchers)} distinct vouchers: a voucher was redeemed twice`);
  if (counts.vouchersRedeemed !== counts.redemptions) problems.push(`${n(counts.redemptions)} redemptions but ${n(counts.vouchersRedeemed)} vouchers marked redeemed`);
  if (counts.codesRedeemed !== counts.redemptions) problems.push(`${n(counts.redemptions)} redemptions but ${n(counts.codesRedeemed)} codes marked redeemed`);
  if (counts.outboxEvents !== counts.redemptions) problems.push(`${n(counts.redemptions)} redemptions but ${n(counts.outboxEvents)} voucher.redeemed outbox events`);
  return { note, problems };
}

/** Validation changes nothing: the counts read before its runs must be those after. */
export async function checkValidations(world: RedemptionWorld, before: RedemptionCounts | undefined): Promise<EffectCheck> {
  const after = await world.counts();
  const note = `    (every 2xx body said "valid":true; redemptions before the runs ${before ? n(before.redemptions) : '?'}, after ${n(after.redemptions)}; ${n(world.validations.codes.length)} distinct codes validated in turn)`;
  const changed = !before || JSON.stringify(before) !== JSON.stringify(after);
  return { note, problems: changed ? [`validation changed the tables: ${JSON.stringify(before)} before, ${JSON.stringify(after)} after`] : [] };
}
