/**
 * Monthly settlement at scale: a month of 1,000,000 settlement entries across 50
 * agreements turned into 50 statements by the real settlement run (each statement in
 * its own transaction: lines, totals, canonical document, content hash), against the
 * single SQL GROUP BY that sums the same month directly, on the same PostgreSQL.
 */
import { sql } from 'kysely';
import { coalitionDb } from '../server/src/db/database.ts';
import { finalizeStatement } from '../server/src/settlement/manage-statements.ts';
import { executeRun } from '../server/src/settlement/settlement-runs.ts';
import { newRunId, periodBounds, previousPeriod } from '../server/src/settlement/statement.ts';
import { monthOf } from '../server/src/system/calendar.ts';
import { requireTenantRow } from '../server/src/tenants/get-tenant.ts';
import type { BenchApp } from './stack.ts';

export const SETTLEMENT_ENTRY_COUNT = 1_000_000;
export const SETTLEMENT_AGREEMENT_COUNT = 50;
const OFFERS_PER_AGREEMENT = 4;
const TIMEZONE = 'Europe/Moscow';
/** Timed repetitions of each step; the median is reported. */
const REPEATS = 3;

export interface SettlementFigures {
  entries: number;
  agreements: number;
  period: string;
  seedSeconds: number;
  /** The settlement run building every draft from nothing (median of REPEATS, each on fresh drafts). */
  build: { seconds: number; entriesPerSecond: number; statements: number; lines: number };
  /** The same run again with nothing new: every draft rebuilt in memory, compared, left as it is. */
  rebuildUnchanged: { seconds: number };
  /** `select agreement_id, offer_id, event, currency, count(*), sum(amount_minor) … group by` over the month. */
  groupBy: { seconds: number; entriesPerSecond: number; groups: number };
  /** GROUP BY seconds ÷ run seconds: the share of a bare aggregate's speed the run reaches. */
  ratioToGroupBy: number;
  /** Finalizing all 50 (each takes its entries into settlement_statement_entries and is rebuilt from them). */
  finalize: { seconds: number; entriesPerSecond: number };
  /** Totals of the statements equal the GROUP BY's, per agreement and currency. */
  totalsAgree: boolean;
}

const seconds = (startedMs: number) => (performance.now() - startedMs) / 1000;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export async function runSettlementBench(app: BenchApp): Promise<SettlementFigures> {
  const services = app.services;
  const db = services.db;
  const coalition = coalitionDb(db);
  const issuer = await requireTenantRow(db, app.tenantSlug);
  const partner = await requireTenantRow(db, app.partnerSlug);
  const now = services.clock.now();
  const period = previousPeriod(monthOf(now, TIMEZONE));

  // Seeding, not the behaviour under test: agreements accepted before the month, and
  // the month's entries written in bulk (a mix of the four events, offers and days).
  const seedStarted = performance.now();
  const agreementIds = Array.from({ length: SETTLEMENT_AGREEMENT_COUNT }, (_, i) => `agr_bench${String(i).padStart(7, '0')}`);
  const acceptedAt = new Date(Date.UTC(Number(period.slice(0, 4)) - 1, 0, 1));
  await coalition
    .insertInto('agreements')
    .values(
      agreementIds.map((id, i) => ({
        id,
        name: `Bench agreement ${i + 1}`,
        issuer_tenant_id: issuer.id,
        partner_tenant_id: partner.id,
        offer_ids: Array.from({ length: OFFERS_PER_AGREEMENT }, (_, o) => `off_b${String(i).padStart(4, '0')}x${String(o).padStart(5, '0')}`),
        model: i % 2 === 0 ? ('issuer_pays_per_redeemed' as const) : ('partner_pays_per_redeemed' as const),
        amount_minor: 2_500,
        percent: null,
        currency: 'RUB',
        timezone: TIMEZONE,
        valid_from: acceptedAt,
        valid_until: null,
        monthly_cap: null,
        status: 'active' as const,
        proposed_by_tenant_id: partner.id,
        proposed_by: 'bench',
        proposed_at: acceptedAt,
        accepted_by: 'bench',
        accepted_at: acceptedAt,
        created_at: acceptedAt,
        updated_at: acceptedAt,
      })),
    )
    .execute();
  const { start, end } = periodBounds(period, TIMEZONE);
  const monthSeconds = Math.floor((end.getTime() - start.getTime()) / 1000);
  await sql`
    insert into coalition.settlement_entries
      (agreement_id, voucher_id, offer_id, redemption_id, event, payer_tenant_id, payee_tenant_id, amount_minor, currency, occurred_at, period, relates_to_period)
    select a.id,
           'vch_b' || lpad(to_hex(g), 11, '0'),
           a.offer_ids[1 + (g / ${SETTLEMENT_AGREEMENT_COUNT}) % ${OFFERS_PER_AGREEMENT}],
           case when g % 10 < 8 then 'red_b' || lpad(to_hex(g), 11, '0') end,
           case when g % 10 < 7 then 'code_redeemed' when g % 10 = 7 then 'redemption_reversed' when g % 10 = 8 then 'code_issued' else 'issue_cancelled' end,
           case when a.model = 'issuer_pays_per_redeemed' then a.issuer_tenant_id else a.partner_tenant_id end,
           case when a.model = 'issuer_pays_per_redeemed' then a.partner_tenant_id else a.issuer_tenant_id end,
           case when g % 10 in (7, 9) then -2500 else 2500 end,
           'RUB',
           ${start}::timestamptz + ((g % ${monthSeconds}) * interval '1 second'),
           ${period}::date,
           case when g % 10 in (7, 9) and g % 3 = 0 then (${period}::date - interval '1 month')::date end
      from generate_series(0, ${SETTLEMENT_ENTRY_COUNT - 1}) g
      join (select id, model, issuer_tenant_id, partner_tenant_id, offer_ids, row_number() over (order by id) - 1 as n from coalition.agreements where id like 'agr_bench%') a
        on a.n = g % ${SETTLEMENT_AGREEMENT_COUNT}`.execute(db);
  // What autovacuum does to an insert-only table after a burst of inserts: statistics and the visibility map.
  await sql`vacuum (analyze) coalition.settlement_entries`.execute(db);
  const seedSeconds = seconds(seedStarted);

  const groupBy = async () => {
    const started = performance.now();
    const { rows } = await sql<{ agreement_id: string; currency: string; amount: string }>`
      select agreement_id, offer_id, event, currency, count(*) as n, sum(amount_minor)::text as amount
        from coalition.settlement_entries where period = ${period}::date
       group by agreement_id, offer_id, event, currency`.execute(db);
    return { seconds: seconds(started), rows };
  };
  const run = async () => {
    const runId = newRunId();
    await coalition.insertInto('settlement_runs').values({ id: runId, tenant_id: issuer.id, period, trigger: 'api', requested_by: 'bench', status: 'queued', created_at: services.clock.now() }).execute();
    const started = performance.now();
    const finished = await executeRun(services, runId, services.logger);
    return { seconds: seconds(started), built: finished?.statements_built ?? 0, unchanged: finished?.statements_unchanged ?? 0 };
  };
  const dropDrafts = async () => {
    await sql`delete from coalition.settlement_statement_lines where statement_id in (select id from coalition.settlement_statements where agreement_id like 'agr_bench%')`.execute(db);
    await sql`delete from coalition.settlement_statements where agreement_id like 'agr_bench%'`.execute(db);
  };

  await groupBy(); // warm the cache for both
  const groupByTimes: number[] = [];
  let groups: Awaited<ReturnType<typeof groupBy>>['rows'] = [];
  for (let i = 0; i < REPEATS; i++) {
    const result = await groupBy();
    groupByTimes.push(result.seconds);
    groups = result.rows;
  }
  const buildTimes: number[] = [];
  let built = 0;
  for (let i = 0; i < REPEATS; i++) {
    await dropDrafts();
    const result = await run();
    buildTimes.push(result.seconds);
    built = result.built;
  }
  if (built !== SETTLEMENT_AGREEMENT_COUNT) throw new Error(`The settlement run built ${built} statements, expected ${SETTLEMENT_AGREEMENT_COUNT}.`);
  const unchanged = await run();
  if (unchanged.unchanged !== SETTLEMENT_AGREEMENT_COUNT) throw new Error(`A second run changed ${unchanged.built} statements; expected none.`);

  // The statements' totals must be the GROUP BY's, per agreement.
  const statements = await coalition.selectFrom('settlement_statements').select(['id', 'agreement_id', 'totals', 'content_hash']).where('agreement_id', 'like', 'agr_bench%').execute();
  const expected = new Map<string, number>();
  for (const row of groups) expected.set(row.agreement_id, (expected.get(row.agreement_id) ?? 0) + Number(row.amount));
  const totalsAgree = statements.every((row) => (row.totals as Array<{ netMinor: number }>).reduce((sum, total) => sum + total.netMinor, 0) === expected.get(row.agreement_id));
  const lines = Number((await sql<{ n: string }>`select count(*) as n from coalition.settlement_statement_lines l join coalition.settlement_statements s on s.id = l.statement_id where s.agreement_id like 'agr_bench%'`.execute(db)).rows[0]!.n);

  // Finalizing needs the month to have ended: it has (the previous month).
  const finalizeStarted = performance.now();
  for (const row of statements) {
    await finalizeStatement({ services, tenant: { id: issuer.id } as never, actor: 'bench', now: services.clock.now() }, row.id, { expectedContentHash: row.content_hash! });
  }
  const finalizeSeconds = seconds(finalizeStarted);

  const buildSeconds = median(buildTimes);
  const groupBySeconds = median(groupByTimes);
  return {
    entries: SETTLEMENT_ENTRY_COUNT,
    agreements: SETTLEMENT_AGREEMENT_COUNT,
    period: period.slice(0, 7),
    seedSeconds,
    build: { seconds: buildSeconds, entriesPerSecond: SETTLEMENT_ENTRY_COUNT / buildSeconds, statements: built, lines },
    rebuildUnchanged: { seconds: unchanged.seconds },
    groupBy: { seconds: groupBySeconds, entriesPerSecond: SETTLEMENT_ENTRY_COUNT / groupBySeconds, groups: groups.length },
    ratioToGroupBy: groupBySeconds / buildSeconds,
    finalize: { seconds: finalizeSeconds, entriesPerSecond: SETTLEMENT_ENTRY_COUNT / finalizeSeconds },
    totalsAgree,
  };
}
