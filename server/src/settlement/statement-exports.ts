import { sql } from 'kysely';
import type { Database } from '../db/database.ts';
import { csvField, csvQuoted } from '../pools/manage-batches.ts';
import { zoneOffset } from '../system/calendar.ts';
import { formatMinor } from '../system/money.ts';
import { tenantSummaries } from '../tenants/tenant.queries.ts';
import { coalitionDb } from '../db/database.ts';
import { presentStatement, sourceOf, type StatementRow } from './manage-statements.ts';
import { entriesOf } from './statement-document.ts';
import { periodLabel, type Statement } from './statement.ts';

/** Column names of the exports: append-only, integrators and spreadsheets key on them (docs/finance-guide.md). */
export const SUMMARY_COLUMNS = [
  'statement_id',
  'agreement_id',
  'issuer',
  'partner',
  'period',
  'timezone',
  'status',
  'content_hash',
  'row_type',
  'section',
  'relates_to_period',
  'event',
  'offer_id',
  'statement_ref',
  'currency',
  'count',
  'amount_minor',
  'owed_by',
  'owed_to',
] as const;

export const ENTRY_COLUMNS = [
  'statement_id',
  'entry_id',
  'occurred_at',
  'occurred_at_local',
  'section',
  'relates_to_period',
  'event',
  'offer_id',
  'voucher_id',
  'redemption_id',
  'code_mask',
  'order_ref',
  'order_amount_minor',
  'currency',
  'amount_minor',
  'statement_ref',
  'note',
] as const;

const line = (fields: ReadonlyArray<string | number | null>): string => `${fields.map((field) => (field === null ? '' : typeof field === 'number' ? String(field) : csvQuoted(field))).join(',')}\r\n`;
/** Text that came from a person (order refs, notes): defused against spreadsheet formulas. */
const text = (value: string | null): string | null => (value === null ? null : csvField(value));

/** An instant as local ISO 8601 with its offset in the zone: 2026-10-31T23:59:59.999+03:00. */
export function localIso(instant: Date, timeZone: string): string {
  const offset = zoneOffset(instant.getTime(), timeZone);
  const local = new Date(instant.getTime() + offset).toISOString().slice(0, 23);
  const minutes = Math.round(Math.abs(offset) / 60_000);
  return `${local}${offset < 0 ? '-' : '+'}${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
}

/** The statement's lines and per-currency totals, one CSV row each. */
export async function* summaryCsv(db: Database, row: StatementRow, viewerTenantId: string): AsyncGenerator<string> {
  const statement = await presentStatement(db, row, viewerTenantId);
  yield line(SUMMARY_COLUMNS);
  const head = [statement.id, statement.agreementId, statement.issuer, statement.partner, statement.period, statement.timezone, statement.status, statement.contentHash];
  for (const entry of statement.lines) {
    yield line([...head, 'line', entry.section, entry.relatesToPeriod, entry.event, entry.offerId, entry.statementRef, entry.currency, entry.count, entry.amountMinor, null, null]);
  }
  for (const total of statement.totals) {
    yield line([...head, 'total', null, null, null, null, null, total.currency, null, total.netMinor, total.owedBy, total.owedTo]);
  }
}

const ENTRY_PAGE = 5_000;

/** Every entry the statement covers, in entry order: what each voucher, redemption and adjustment contributed. */
export async function* entriesCsv(db: Database, row: StatementRow): AsyncGenerator<string> {
  const source = await sourceOf(db, row);
  yield line(ENTRY_COLUMNS);
  let after = '0';
  for (;;) {
    const { rows } = await sql<{
      id: string;
      occurred_at: Date;
      rel: string;
      event: string;
      offer_id: string | null;
      voucher_id: string | null;
      redemption_id: string | null;
      code_mask: string | null;
      order_ref: string | null;
      order_amount_minor: string | null;
      currency: string;
      amount_minor: string;
      statement_ref: string | null;
      note: string | null;
    }>`
      select e.id, e.occurred_at, coalesce(e.relates_to_period, e.period) as rel, e.event, e.offer_id, e.voucher_id, e.redemption_id,
             v.code_mask, r.order_ref, e.order_amount_minor, e.currency, e.amount_minor, e.statement_ref, e.note
        from (${entriesOf(source, sql`e.*`, { afterId: after })}) e
        left join coalition.vouchers v on v.id = e.voucher_id
        left join coalition.redemptions r on r.id = e.redemption_id
       order by e.id
       limit ${ENTRY_PAGE}`.execute(db);
    for (const entry of rows) {
      yield line([
        row.id,
        entry.id,
        entry.occurred_at.toISOString(),
        localIso(entry.occurred_at, row.timezone),
        entry.rel < row.period ? 'adjustment' : 'period',
        periodLabel(entry.rel),
        entry.event,
        entry.offer_id,
        entry.voucher_id,
        entry.redemption_id,
        entry.code_mask,
        text(entry.order_ref),
        entry.order_amount_minor === null ? null : Number(entry.order_amount_minor),
        entry.currency,
        Number(entry.amount_minor),
        entry.statement_ref,
        text(entry.note),
      ]);
    }
    if (rows.length < ENTRY_PAGE) return;
    after = rows.at(-1)!.id;
  }
}

const escapeHtml = (value: string): string =>
  value.replace(/[&<>"']/g, (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char]!);

const EVENT_LABELS: Record<string, string> = {
  code_issued: 'Codes issued',
  issue_cancelled: 'Issues cancelled',
  code_redeemed: 'Codes redeemed',
  redemption_reversed: 'Redemptions reversed',
  adjustment: 'Adjustment',
};

/** A printable statement (A4, the browser's print to PDF): everything in it comes from the statement as the API returns it. */
export async function statementHtml(db: Database, row: StatementRow, viewerTenantId: string): Promise<string> {
  const statement: Statement = await presentStatement(db, row, viewerTenantId);
  const names = await tenantSummaries(coalitionDb(db), [row.issuer_tenant_id, row.partner_tenant_id]);
  const nameOf = (tenantId: string, slug: string) => `${escapeHtml(names.get(tenantId)?.displayName ?? slug)} <span class="slug">(${escapeHtml(slug)})</span>`;
  const lines = statement.lines
    .map(
      (entry) => `<tr class="${entry.section}"><td>${entry.section === 'period' ? 'Period' : `Adjustment to ${escapeHtml(entry.relatesToPeriod)}`}</td>` +
        `<td>${escapeHtml(EVENT_LABELS[entry.event] ?? entry.event)}${entry.statementRef ? ` (statement ${escapeHtml(entry.statementRef)})` : ''}</td>` +
        `<td>${escapeHtml(entry.offerId ?? '—')}</td><td class="num">${entry.count}</td><td class="num">${escapeHtml(formatMinor(entry.amountMinor, entry.currency))}</td></tr>`,
    )
    .join('\n');
  const totals = statement.totals
    .map(
      (total) => `<tr><td>${escapeHtml(total.currency)}</td><td class="num">${escapeHtml(formatMinor(total.periodMinor, total.currency))}</td>` +
        `<td class="num">${escapeHtml(formatMinor(total.adjustmentsMinor, total.currency))}</td>` +
        `<td class="num strong">${total.owedBy ? `${escapeHtml(total.owedBy)} pays ${escapeHtml(total.owedTo!)} ${escapeHtml(formatMinor(total.amountMinor, total.currency))}` : 'Nothing owed'}</td></tr>`,
    )
    .join('\n');
  const facts: Array<[string, string | null]> = [
    ['Status', statement.status],
    ['Finalized', statement.finalizedAt && `${statement.finalizedAt} by the ${statement.finalizedBy}`],
    ['Paid', statement.paidAt && `${statement.paidAt} by the ${statement.paidBy}, reference ${statement.paymentReference}`],
    ['Disputed', statement.disputedAt && `${statement.disputedAt} by the ${statement.disputedBy}: ${statement.disputeReason}`],
    ['Dispute resolved', statement.disputeResolvedAt && `${statement.disputeResolvedAt}: ${statement.disputeResolution}`],
    ...(['issuer', 'partner'] as const).map((side): [string, string | null] => {
      const rec = statement.reconciliation[side];
      return [`Reconciled by the ${side}`, rec && `${rec.reconciled ? 'yes' : 'no'} (${rec.matched} matched, ${rec.missingOurs} missing here, ${rec.missingTheirs} missing there, ${rec.mismatched} mismatched; ${rec.uploadedAt})`];
    }),
  ];
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Statement ${escapeHtml(statement.id)} · ${escapeHtml(statement.agreementName)} · ${escapeHtml(statement.period)}</title>
<style>
  body { font: 11pt/1.4 system-ui, sans-serif; margin: 2rem auto; max-width: 52rem; color: #111; }
  h1 { font-size: 16pt; margin: 0 0 .25rem; }
  .slug, .muted { color: #555; }
  table { width: 100%; border-collapse: collapse; margin: 1rem 0; }
  th, td { text-align: left; padding: .3rem .4rem; border-bottom: 1px solid #ccc; vertical-align: top; }
  td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
  tr.adjustment td { font-style: italic; }
  .strong { font-weight: 600; }
  .hash { font-family: ui-monospace, monospace; font-size: 9pt; word-break: break-all; }
  @page { size: A4; margin: 15mm; }
  @media print { body { margin: 0; max-width: none; } }
</style>
</head>
<body>
<h1>Settlement statement ${escapeHtml(statement.period)}</h1>
<p>${escapeHtml(statement.agreementName)} <span class="muted">(${escapeHtml(statement.agreementId)})</span><br>
Issuer: ${nameOf(row.issuer_tenant_id, statement.issuer)} · Partner: ${nameOf(row.partner_tenant_id, statement.partner)}<br>
<span class="muted">${escapeHtml(statement.periodStart)} to ${escapeHtml(statement.periodEnd)} (${escapeHtml(statement.timezone)} calendar month) · ${statement.entryCount} entries</span></p>
<table>
<thead><tr><th>Section</th><th>Event</th><th>Offer</th><th class="num">Count</th><th class="num">Amount</th></tr></thead>
<tbody>
${lines || '<tr><td colspan="5" class="muted">No entries in this period.</td></tr>'}
</tbody>
</table>
<table>
<thead><tr><th>Currency</th><th class="num">Period</th><th class="num">Adjustments</th><th class="num">Net</th></tr></thead>
<tbody>
${totals || '<tr><td colspan="4" class="muted">Nothing owed.</td></tr>'}
</tbody>
</table>
<table>
<tbody>
${facts.map(([label, value]) => `<tr><th>${escapeHtml(label)}</th><td>${escapeHtml(value ?? '—')}</td></tr>`).join('\n')}
<tr><th>Content hash (SHA-256)</th><td class="hash">${escapeHtml(statement.contentHash)}</td></tr>
</tbody>
</table>
<p class="muted">Amounts are signed from the agreement's payer to its payee; adjustments correct earlier months and never change a finalized statement.</p>
</body>
</html>
`;
}
