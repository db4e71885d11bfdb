import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import type { Database } from '../db/database.ts';
import type { AgreementModel, SettlementEvent } from '../db/tables.ts';
import { EVENT_ORDER, periodLabel, type StatementLine, type StatementTotal } from './statement.ts';

/**
 * The entries a statement covers. An open (draft) statement covers the agreement's
 * entries of its period, and the late entries of periods whose statements are already
 * finalized, that no finalized statement has taken yet. A finalized statement covers
 * exactly the entries it took (settlement_statement_entries), so rebuilding it reads
 * the same rows whatever arrived since.
 */
export type EntrySource =
  | { kind: 'open'; agreementId: string; period: string; closedPeriods: readonly string[] }
  | { kind: 'settled'; statementId: string };

export function entriesOf(source: EntrySource, columns = sql`e.*`, options: { afterId?: string } = {}) {
  // Paging (exports): entries after an id, bounded in the index scans themselves.
  const after = options.afterId === undefined ? sql`` : sql` and e.id > ${options.afterId}::bigint`;
  if (source.kind === 'settled') {
    return sql`
        select ${columns} from coalition.settlement_statement_entries s
        join coalition.settlement_entries e on e.id = s.entry_id
        where s.statement_id = ${source.statementId}${options.afterId === undefined ? sql`` : sql` and s.entry_id > ${options.afterId}::bigint`}`;
  }
  // The month's own entries need no check: only its own finalization takes them (months
  // are finalized in order, and a later month takes late entries of finalized months
  // only). Late entries of finalized months are the ones no statement took yet.
  return sql`
        select ${columns} from coalition.settlement_entries e
        where e.agreement_id = ${source.agreementId} and e.period = ${source.period}::date${after}
        union all
        select ${columns} from coalition.settlement_entries e
        where e.agreement_id = ${source.agreementId} and e.period = any(${[...source.closedPeriods]}::date[])${after}
          and not exists (select 1 from coalition.settlement_statement_entries s where s.entry_id = e.id)`;
}

/** The columns a statement's lines need: all in the agreement/period index, so PostgreSQL reads no table pages. */
const SUMMARY_COLUMNS = sql`e.id, e.period, e.relates_to_period, e.offer_id, e.event, e.statement_ref, e.currency, e.amount_minor`;

export interface EntrySummary {
  groups: Array<{ relatesToPeriod: string; offerId: string | null; event: SettlementEvent; statementRef: string | null; currency: string; count: number; amountMinor: number }>;
  entryCount: number;
  /** SHA-256 over the covered entry ids in order: two builds agree only if they cover the same entries. */
  entryDigest: string;
}

function safeInteger(value: string | number, what: string): number {
  const number = Number(value);
  if (!Number.isSafeInteger(number)) throw new RangeError(`${what} ${value} is beyond the exact integer range`);
  return number;
}

/**
 * One pass over the covered entries in PostgreSQL: the groups of the lines, the count
 * and the digest. With `takeInto`, the same statement also records the covered entries
 * as taken by that statement (finalization): what is summed is exactly what is taken,
 * in one snapshot.
 */
export async function summarizeEntries(db: Database, source: EntrySource, options: { takeInto?: string } = {}): Promise<EntrySummary> {
  const take = options.takeInto === undefined
    ? sql``
    : sql`, taken as (insert into coalition.settlement_statement_entries (entry_id, statement_id) select id, ${options.takeInto} from picked)`;
  const { rows } = await sql<{ groups: Array<Record<string, string | number | null>>; entry_count: number; entry_digest: string }>`
    with picked as materialized (
      select id, coalesce(relates_to_period, period) as rel, offer_id, event, statement_ref, currency, amount_minor
        from (${entriesOf(source, SUMMARY_COLUMNS)}) covered
    )${take}
    select
      (select coalesce(json_agg(json_build_object(
          'rel', rel, 'offerId', offer_id, 'event', event, 'statementRef', statement_ref, 'currency', currency, 'count', n, 'amount', amount::text)), '[]'::json)
         from (select rel, offer_id, event, statement_ref, currency, count(*) as n, sum(amount_minor) as amount from picked group by 1, 2, 3, 4, 5) g) as groups,
      (select count(*) from picked)::int as entry_count,
      (select encode(sha256(convert_to(coalesce(string_agg(id::text, ',' order by id), ''), 'UTF8')), 'hex') from picked) as entry_digest
  `.execute(db);
  const row = rows[0]!;
  return {
    groups: row.groups.map((group) => ({
      relatesToPeriod: String(group.rel),
      offerId: (group.offerId as string | null) ?? null,
      event: group.event as SettlementEvent,
      statementRef: (group.statementRef as string | null) ?? null,
      currency: String(group.currency),
      count: Number(group.count),
      amountMinor: safeInteger(group.amount as string, 'a line amount'),
    })),
    entryCount: row.entry_count,
    entryDigest: row.entry_digest,
  };
}

/** What a statement document says about its agreement and parties; fixed for the statement's life. */
export interface StatementHeader {
  statementId: string;
  agreement: { id: string; name: string; model: AgreementModel; amountMinor: number | null; percent: string | null; currency: string };
  timezone: string;
  period: string;
  periodStart: Date;
  periodEnd: Date;
  issuer: { id: string; slug: string };
  partner: { id: string; slug: string };
  payer: 'issuer' | 'partner';
}

export interface StatementContent {
  lines: StatementLine[];
  totals: StatementTotal[];
  entryCount: number;
  entryDigest: string;
}

const compareText = (a: string | null, b: string | null): number => (a === b ? 0 : a === null ? 1 : b === null ? -1 : a < b ? -1 : 1);

/**
 * Lines and totals from the entry groups: a line per section, corrected month, event,
 * offer and currency, in a fixed order; totals per currency, never summed across
 * currencies. Amounts are signed from the agreement's payer to its payee.
 */
export function statementContent(header: StatementHeader, summary: EntrySummary): StatementContent {
  const lines: StatementLine[] = summary.groups.map((group) => ({
    section: group.relatesToPeriod < header.period ? 'adjustment' : 'period',
    relatesToPeriod: periodLabel(group.relatesToPeriod),
    offerId: group.offerId,
    event: group.event,
    statementRef: group.statementRef,
    currency: group.currency,
    count: group.count,
    amountMinor: group.amountMinor,
  }));
  lines.sort(
    (a, b) =>
      (a.section === b.section ? 0 : a.section === 'period' ? -1 : 1) ||
      compareText(a.relatesToPeriod, b.relatesToPeriod) ||
      EVENT_ORDER[a.event] - EVENT_ORDER[b.event] ||
      compareText(a.offerId, b.offerId) ||
      compareText(a.statementRef, b.statementRef) ||
      compareText(a.currency, b.currency),
  );
  const byCurrency = new Map<string, { period: number; adjustments: number }>();
  for (const line of lines) {
    const total = byCurrency.get(line.currency) ?? { period: 0, adjustments: 0 };
    if (line.section === 'period') total.period += line.amountMinor;
    else total.adjustments += line.amountMinor;
    byCurrency.set(line.currency, total);
  }
  const [payer, payee] = header.payer === 'issuer' ? [header.issuer.slug, header.partner.slug] : [header.partner.slug, header.issuer.slug];
  const totals = [...byCurrency.keys()].sort().map((currency): StatementTotal => {
    const { period, adjustments } = byCurrency.get(currency)!;
    const net = safeInteger(period + adjustments, 'a statement total');
    return {
      currency,
      periodMinor: safeInteger(period, 'a statement total'),
      adjustmentsMinor: safeInteger(adjustments, 'a statement total'),
      netMinor: net,
      owedBy: net > 0 ? payer : net < 0 ? payee : null,
      owedTo: net > 0 ? payee : net < 0 ? payer : null,
      amountMinor: Math.abs(net),
    };
  });
  return { lines, totals, entryCount: summary.entryCount, entryDigest: summary.entryDigest };
}

/**
 * The statement as canonical JSON: fixed key order, no whitespace, UTC instants. Its
 * SHA-256 is the content hash; a finalized statement rebuilt from the entries it took
 * gives these bytes again. Status and payment facts are not content: they change
 * after finalization.
 */
export function statementDocument(header: StatementHeader, content: StatementContent): string {
  return JSON.stringify({
    format: 'coalition-exchange/statement/1',
    statementId: header.statementId,
    agreement: header.agreement,
    issuer: header.issuer,
    partner: header.partner,
    payer: header.payer,
    period: periodLabel(header.period),
    timezone: header.timezone,
    periodStart: header.periodStart.toISOString(),
    periodEnd: header.periodEnd.toISOString(),
    lines: content.lines,
    totals: content.totals,
    entries: { count: content.entryCount, digest: content.entryDigest },
  });
}

export function contentHash(document: string): string {
  return createHash('sha256').update(document, 'utf8').digest('hex');
}

export interface ParsedDocument {
  agreement: StatementHeader['agreement'];
  issuer: { id: string; slug: string };
  partner: { id: string; slug: string };
  payer: 'issuer' | 'partner';
  lines: StatementLine[];
  totals: StatementTotal[];
}

export function parseDocument(document: string): ParsedDocument {
  return JSON.parse(document) as ParsedDocument;
}
