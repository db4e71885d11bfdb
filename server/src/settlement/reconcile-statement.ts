import { sql, type Selectable } from 'kysely';
import { z } from 'zod';
import { coalitionDb, tenantDb, type Database } from '../db/database.ts';
import { tenantSchemaName } from '../db/schema-names.ts';
import type { SettlementReconciliationsTable } from '../db/tables.ts';
import { AppError } from '../errors/app-error.ts';
import { CodeVault } from '../pools/code-vault.ts';
import { insertAuditEvent } from '../tenants/audit.queries.ts';
import { rebuiltDocument, sourceOf, statementOfParty, type SettlementContext } from './manage-statements.ts';
import { parseReconciliationFile, reconcile, reportCsvLines, type OurVoucher, type ResolvedRow } from './reconciliation-file.ts';
import { contentHash, entriesOf, parseDocument } from './statement-document.ts';
import { newReconciliationId } from './statement.ts';

/** Rows a reconciliation file may have: a month of one agreement's redemptions, with room to spare. */
export const RECONCILIATION_MAX_ROWS = 200_000;

export const reconciliationOutputSchema = z.object({
  id: z.string(),
  statementId: z.string(),
  uploadedAt: z.string(),
  filename: z.string().nullable(),
  statementContentHash: z.string().describe('The statement content the file was compared with.'),
  reconciled: z.boolean().describe('Every row matched and nothing is missing on either side (and no row was unreadable).'),
  rows: z.number().int(),
  invalidRows: z.number().int(),
  matched: z.number().int(),
  missingOurs: z.number().int().describe('In your file, not in the statement.'),
  missingTheirs: z.number().int().describe('In the statement, not in your file.'),
  mismatched: z.number().int().describe('In both, with a different amount or order reference.'),
  theirTotalMinor: z.number().int(),
  ourTotalMinor: z.number().int(),
});
export type Reconciliation = z.infer<typeof reconciliationOutputSchema>;

type ReconciliationRow = Omit<Selectable<SettlementReconciliationsTable>, 'report'>;

function toReconciliation(row: ReconciliationRow): Reconciliation {
  return {
    id: row.id,
    statementId: row.statement_id,
    uploadedAt: row.uploaded_at.toISOString(),
    filename: row.filename,
    statementContentHash: row.statement_hash,
    reconciled: row.reconciled,
    rows: row.rows,
    invalidRows: row.invalid_rows,
    matched: row.matched,
    missingOurs: row.missing_ours,
    missingTheirs: row.missing_theirs,
    mismatched: row.mismatched,
    theirTotalMinor: Number(row.their_total_minor),
    ourTotalMinor: Number(row.our_total_minor),
  };
}

/** Our side: each voucher of the statement with its net amount, its redemptions' order references and last redemption time. */
async function ourVouchers(db: Database, row: Parameters<typeof sourceOf>[1]): Promise<OurVoucher[]> {
  const { rows } = await sql<{ voucher_id: string; code_mask: string; amount: string; order_refs: string[] | null; redeemed_at: Date | null; reversed: boolean }>`
    select e.voucher_id, v.code_mask, sum(e.amount_minor)::text as amount,
           array_agg(distinct r.order_ref) filter (where r.order_ref is not null) as order_refs,
           max(r.redeemed_at) as redeemed_at,
           bool_or(e.event = 'redemption_reversed') as reversed
      from (${entriesOf(await sourceOf(db, row))}) e
      join coalition.vouchers v on v.id = e.voucher_id
      left join coalition.redemptions r on r.id = e.redemption_id
     where e.voucher_id is not null
     group by e.voucher_id, v.code_mask`.execute(db);
  return rows.map((entry) => ({
    voucherId: entry.voucher_id,
    codeMask: entry.code_mask,
    orderRefs: entry.order_refs ?? [],
    amountMinor: Number(entry.amount),
    redeemedAt: entry.redeemed_at,
    reversed: entry.reversed,
  }));
}

/**
 * Compares a party's own list with the statement. Their rows are resolved to voucher
 * ids: a voucher id is taken as given (unknown ones match nothing); a code is looked up
 * in the partner's pool by its keyed hash (codes are never stored in plain) and
 * resolved to the voucher it was issued to, preferring this statement's voucher when
 * a code was issued more than once. The report is kept for download; the statement
 * shows each party's latest result.
 */
export async function uploadReconciliation(
  context: SettlementContext,
  statementId: string,
  file: { text: string; filename: string | null },
): Promise<Reconciliation> {
  const { services, tenant, now } = context;
  const db = services.db;
  const statement = await statementOfParty(db, tenant.id, statementId);
  const document = parseDocument(statement.document!);
  const parsed = parseReconciliationFile(file.text, { currency: document.agreement.currency, maxRows: RECONCILIATION_MAX_ROWS });
  // Our side and the content it belongs to, from one snapshot: for a draft that is what
  // a rebuild would give now, which is not the stored draft if entries arrived since
  // (the result then shows as not current until the draft is rebuilt).
  const { ours, comparedHash } = await db
    .transaction()
    .setIsolationLevel('repeatable read')
    .execute(async (trx) => ({ ours: await ourVouchers(trx, statement), comparedHash: contentHash(await rebuiltDocument(trx, statement)) }));
  const ourIds = new Set(ours.map((voucher) => voucher.voucherId));

  const codes = [...new Set(parsed.rows.filter((row) => row.voucherId === null && row.code !== null).map((row) => row.code!.toUpperCase()))];
  const vault = new CodeVault(services.secrets, document.partner.id);
  const byHash = new Map(codes.map((code) => [vault.lookupHash(code).toString('hex'), code]));
  const voucherOfCode = new Map<string, string>();
  if (byHash.size) {
    const found = await tenantDb(db, tenantSchemaName(document.partner.slug))
      .selectFrom('codes')
      .select(['id', 'lookup_hash'])
      .where('lookup_hash', 'in', [...byHash.keys()].map((hex) => Buffer.from(hex, 'hex')))
      .execute();
    const codeOfId = new Map(found.map((code) => [String(code.id), byHash.get(Buffer.from(code.lookup_hash).toString('hex'))!]));
    if (codeOfId.size) {
      const vouchers = await coalitionDb(db)
        .selectFrom('vouchers')
        .select(['id', 'code_id'])
        .where('partner_tenant_id', '=', document.partner.id)
        .where('agreement_id', '=', statement.agreement_id)
        .where('code_id', 'in', [...codeOfId.keys()])
        .execute();
      for (const voucher of vouchers) {
        // Only this statement's vouchers: a code of the partner's pool that went to
        // someone else's customer (another agreement, another issuer) tells the
        // uploader nothing, not even that it was issued.
        if (ourIds.has(voucher.id)) voucherOfCode.set(codeOfId.get(String(voucher.code_id))!, voucher.id);
      }
    }
  }
  const resolved: ResolvedRow[] = parsed.rows.map((row) => ({
    ...row,
    resolvedVoucherId: row.voucherId ?? (row.code === null ? null : (voucherOfCode.get(row.code.toUpperCase()) ?? null)),
  }));
  const result = reconcile(ours, resolved);
  const report = reportCsvLines(result, parsed.problems).join('');
  const reconciled = result.reconciled && parsed.problems.length === 0;
  const row = await db.transaction().execute(async (trx) => {
    const inserted = await coalitionDb(trx)
      .insertInto('settlement_reconciliations')
      .values({
        id: newReconciliationId(),
        statement_id: statement.id,
        tenant_id: tenant.id,
        uploaded_by: context.actor,
        uploaded_at: now,
        filename: file.filename,
        statement_hash: comparedHash,
        rows: parsed.rows.length + parsed.problems.length,
        invalid_rows: parsed.problems.length,
        matched: result.counts.matched,
        missing_ours: result.counts.missing_ours,
        missing_theirs: result.counts.missing_theirs,
        mismatched: result.counts.mismatch,
        their_total_minor: result.theirTotalMinor,
        our_total_minor: result.ourTotalMinor,
        reconciled,
        report,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await insertAuditEvent(tenantDb(trx, tenant.schema), {
      actor: context.actor,
      action: 'settlement.reconciliation_uploaded',
      subjectType: 'settlement_statement',
      subjectId: statement.id,
      details: { reconciliationId: inserted.id, reconciled, counts: result.counts, invalidRows: parsed.problems.length },
    });
    return inserted;
  });
  return toReconciliation(row);
}

async function requireReconciliation(db: Database, tenantId: string, id: string) {
  const row = await coalitionDb(db).selectFrom('settlement_reconciliations').selectAll().where('id', '=', id).where('tenant_id', '=', tenantId).executeTakeFirst();
  if (!row) throw new AppError('RECONCILIATION_NOT_FOUND', `No reconciliation ${id} of yours.`, { reconciliationId: id });
  return row;
}

export async function getReconciliation(context: Pick<SettlementContext, 'services' | 'tenant'>, id: string): Promise<Reconciliation> {
  return toReconciliation(await requireReconciliation(context.services.db, context.tenant.id, id));
}

/** The report as uploaded-against: one line per voucher or problem row (reconciliation-file.ts REPORT_COLUMNS). */
export async function reconciliationReport(context: Pick<SettlementContext, 'services' | 'tenant'>, id: string): Promise<string> {
  return (await requireReconciliation(context.services.db, context.tenant.id, id)).report;
}
