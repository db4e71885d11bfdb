import { sql, type Selectable, type Updateable } from 'kysely';
import type { z } from 'zod';
import { findAgreement, findAgreementOfTenant } from '../agreements/agreement.queries.ts';
import type { AgreementRow } from '../agreements/agreement.ts';
import type { TenantHandle } from '../auth/principal.ts';
import { coalitionDb, tenantDb, type Database } from '../db/database.ts';
import { tenantSchemaName } from '../db/schema-names.ts';
import type { SettlementStatementsTable, StatementStatus } from '../db/tables.ts';
import { AppError } from '../errors/app-error.ts';
import { parseInput, validationError } from '../errors/validation.ts';
import { appendOutboxEvent, type OutboxEventType } from '../outbox/events.ts';
import { requireIdempotencyKey, runIdempotent } from '../idempotency/run-idempotent.ts';
import { monthOf } from '../system/calendar.ts';
import type { AppServices } from '../system/services.ts';
import { insertAuditEvent } from '../tenants/audit.queries.ts';
import { tenantSummaries } from '../tenants/tenant.queries.ts';
import { payerAndPayee } from './settlement-entries.ts';
import {
  adjustmentInputSchema,
  buildStatementInputSchema,
  disputeInputSchema,
  finalizeInputSchema,
  listStatementsInputSchema,
  newStatementId,
  payInputSchema,
  periodBounds,
  periodDate,
  periodLabel,
  refuseFuturePeriod,
  resolveInputSchema,
  type Statement,
} from './statement.ts';
import {
  contentHash,
  parseDocument,
  statementContent,
  statementDocument,
  summarizeEntries,
  type EntrySource,
  type EntrySummary,
  type StatementHeader,
} from './statement-document.ts';

export type StatementRow = Selectable<SettlementStatementsTable>;

export interface SettlementContext {
  services: AppServices;
  tenant: TenantHandle;
  actor: string;
  now: Date;
}

type Side = 'issuer' | 'partner';

/** One agreement's statements are built and finalized one at a time, across processes. */
async function lockAgreement(trx: Database, agreementId: string): Promise<void> {
  await sql`select pg_advisory_xact_lock(hashtextextended(${`settlement:${agreementId}`}, 0))`.execute(trx);
}

async function headerFor(trx: Database, agreement: AgreementRow, period: string, statementId: string): Promise<StatementHeader> {
  const tenants = await tenantSummaries(coalitionDb(trx), [agreement.issuer_tenant_id, agreement.partner_tenant_id]);
  const { start, end } = periodBounds(period, agreement.timezone);
  return {
    statementId,
    agreement: {
      id: agreement.id,
      name: agreement.name,
      model: agreement.model,
      amountMinor: agreement.amount_minor === null ? null : Number(agreement.amount_minor),
      percent: agreement.percent,
      currency: agreement.currency,
    },
    timezone: agreement.timezone,
    period,
    periodStart: start,
    periodEnd: end,
    issuer: { id: agreement.issuer_tenant_id, slug: tenants.get(agreement.issuer_tenant_id)!.slug },
    partner: { id: agreement.partner_tenant_id, slug: tenants.get(agreement.partner_tenant_id)!.slug },
    payer: payerAndPayee(agreement).payer === agreement.issuer_tenant_id ? 'issuer' : 'partner',
  };
}

/** Months before `period` whose statements are finalized (or paid, or disputed), and whether one before it is still a draft. */
async function earlierStatements(trx: Database, agreementId: string, period: string): Promise<{ closed: string[]; draftBefore: boolean }> {
  const rows = await coalitionDb(trx)
    .selectFrom('settlement_statements')
    .select(['period', 'status'])
    .where('agreement_id', '=', agreementId)
    .where('period', '<', period)
    .execute();
  return { closed: rows.filter((row) => row.status !== 'draft').map((row) => row.period), draftBefore: rows.some((row) => row.status === 'draft') };
}

/**
 * What a draft covers: its month's entries, and the late entries of finalized months
 * (adjustments now) unless an earlier draft exists: the earliest open statement takes
 * them, so two drafts never both show them, and finalizing in order keeps it that way.
 */
async function openSource(trx: Database, agreementId: string, period: string): Promise<EntrySource> {
  const { closed, draftBefore } = await earlierStatements(trx, agreementId, period);
  return { kind: 'open', agreementId, period, closedPeriods: draftBefore ? [] : closed };
}

/** Replaces a statement's lines and content in the caller's transaction. */
async function writeContent(
  trx: Database,
  statementId: string,
  header: StatementHeader,
  covered: EntrySummary | { source: EntrySource; takeInto: string },
  patch: Updateable<SettlementStatementsTable>,
): Promise<StatementRow> {
  const coalition = coalitionDb(trx);
  const summary = 'source' in covered ? await summarizeEntries(trx, covered.source, { takeInto: covered.takeInto }) : covered;
  const content = statementContent(header, summary);
  const document = statementDocument(header, content);
  await coalition.deleteFrom('settlement_statement_lines').where('statement_id', '=', statementId).execute();
  if (content.lines.length) {
    await coalition
      .insertInto('settlement_statement_lines')
      .values(
        content.lines.map((line, index) => ({
          statement_id: statementId,
          line_no: index + 1,
          section: line.section,
          relates_to_period: periodDate(line.relatesToPeriod),
          offer_id: line.offerId,
          event: line.event,
          statement_ref: line.statementRef,
          currency: line.currency,
          count: line.count,
          amount_minor: line.amountMinor,
        })),
      )
      .execute();
  }
  return coalition
    .updateTable('settlement_statements')
    .set({ ...patch, document, content_hash: contentHash(document), totals: JSON.stringify(content.totals), entry_count: content.entryCount })
    .where('id', '=', statementId)
    .returningAll()
    .executeTakeFirstOrThrow();
}

function notCovered(agreement: AgreementRow, period: string): AppError {
  return new AppError('SETTLEMENT_PERIOD_NOT_COVERED', `Agreement ${agreement.id} was not in force in ${periodLabel(period)}: nothing to settle.`, {
    agreementId: agreement.id,
    period: periodLabel(period),
    acceptedAt: agreement.accepted_at?.toISOString() ?? null,
  });
}

/**
 * Builds (or rebuilds) the draft statement of an agreement for a month: idempotent, one
 * transaction, so a crash leaves the previous draft (or none) and a rerun gives the
 * same statement. A finalized statement is left as it is.
 */
export async function buildStatement(db: Database, agreementId: string, period: string, by: { actor: string; now: Date }): Promise<{ statement: StatementRow; changed: boolean }> {
  return db.transaction().execute(async (trx) => {
    const coalition = coalitionDb(trx);
    await lockAgreement(trx, agreementId);
    const agreement = (await findAgreement(coalition, agreementId))!;
    const existing = await coalition.selectFrom('settlement_statements').selectAll().where('agreement_id', '=', agreementId).where('period', '=', period).executeTakeFirst();
    if (existing && existing.status !== 'draft') return { statement: existing, changed: false };
    const { start, end } = periodBounds(period, agreement.timezone);
    if (!agreement.accepted_at || agreement.accepted_at >= end) throw notCovered(agreement, period);

    const statementId = existing?.id ?? newStatementId();
    const header = await headerFor(trx, agreement, period, statementId);
    const source = await openSource(trx, agreementId, period);
    const summary = await summarizeEntries(trx, source);
    if (existing && existing.document === statementDocument(header, statementContent(header, summary))) return { statement: existing, changed: false };
    if (!existing) {
      const { payer, payee } = payerAndPayee(agreement);
      await coalition
        .insertInto('settlement_statements')
        .values({
          id: statementId,
          agreement_id: agreementId,
          issuer_tenant_id: agreement.issuer_tenant_id,
          partner_tenant_id: agreement.partner_tenant_id,
          payer_tenant_id: payer,
          payee_tenant_id: payee,
          period,
          timezone: agreement.timezone,
          period_start: start,
          period_end: end,
          status: 'draft',
          built_at: by.now,
          built_by: by.actor,
          created_at: by.now,
          updated_at: by.now,
        })
        .execute();
    }
    const statement = await writeContent(trx, statementId, header, summary, {
      built_at: by.now,
      built_by: by.actor,
      build_count: (existing?.build_count ?? 0) + 1,
      updated_at: by.now,
    });
    return { statement, changed: true };
  });
}

function statementsOf(db: Database, tenantId: string) {
  return coalitionDb(db)
    .selectFrom('settlement_statements')
    .selectAll()
    .where((eb) => eb.or([eb('issuer_tenant_id', '=', tenantId), eb('partner_tenant_id', '=', tenantId)]));
}

async function requireStatement(db: Database, tenantId: string, id: string, options: { forUpdate?: boolean } = {}): Promise<StatementRow> {
  const query = statementsOf(db, tenantId).where('id', '=', id);
  const row = await (options.forUpdate ? query.forUpdate() : query).executeTakeFirst();
  if (!row) throw new AppError('STATEMENT_NOT_FOUND', `No statement ${id} of an agreement of yours.`, { statementId: id });
  return row;
}

function sideOf(row: Pick<StatementRow, 'issuer_tenant_id'>, tenantId: string | null): Side | null {
  if (tenantId === null) return null;
  return row.issuer_tenant_id === tenantId ? 'issuer' : 'partner';
}

type ReconciliationSummaries = Statement['reconciliation'];

async function latestReconciliations(db: Database, rows: readonly StatementRow[]): Promise<Map<string, ReconciliationSummaries>> {
  const out = new Map<string, ReconciliationSummaries>(rows.map((row) => [row.id, { issuer: null, partner: null }]));
  if (rows.length === 0) return out;
  const latest = await coalitionDb(db)
    .selectFrom('settlement_reconciliations')
    .select(['id', 'statement_id', 'tenant_id', 'uploaded_at', 'reconciled', 'matched', 'missing_ours', 'missing_theirs', 'mismatched', 'invalid_rows', 'statement_hash'])
    .distinctOn(['statement_id', 'tenant_id'])
    .where('statement_id', 'in', rows.map((row) => row.id))
    .orderBy('statement_id')
    .orderBy('tenant_id')
    .orderBy('uploaded_at', 'desc')
    .orderBy('id', 'desc')
    .execute();
  const byId = new Map(rows.map((row) => [row.id, row]));
  for (const rec of latest) {
    const statement = byId.get(rec.statement_id)!;
    out.get(rec.statement_id)![sideOf(statement, rec.tenant_id)!] = {
      reconciliationId: rec.id,
      uploadedAt: rec.uploaded_at.toISOString(),
      reconciled: rec.reconciled,
      matched: rec.matched,
      missingOurs: rec.missing_ours,
      missingTheirs: rec.missing_theirs,
      mismatched: rec.mismatched,
      invalidRows: rec.invalid_rows,
      currentForStatement: rec.statement_hash === statement.content_hash,
    };
  }
  return out;
}

function toStatement(row: StatementRow, viewerTenantId: string, reconciliation: ReconciliationSummaries): Statement {
  const document = parseDocument(row.document!);
  const iso = (value: Date | null) => value?.toISOString() ?? null;
  return {
    id: row.id,
    agreementId: row.agreement_id,
    agreementName: document.agreement.name,
    issuer: document.issuer.slug,
    partner: document.partner.slug,
    yourSide: sideOf(row, viewerTenantId)!,
    period: periodLabel(row.period),
    timezone: row.timezone,
    periodStart: row.period_start.toISOString(),
    periodEnd: row.period_end.toISOString(),
    status: row.status,
    contentHash: row.content_hash!,
    entryCount: row.entry_count,
    lines: document.lines,
    totals: document.totals,
    yourNet: document.totals.map((total) => ({ currency: total.currency, amountMinor: row.payee_tenant_id === viewerTenantId ? total.netMinor : -total.netMinor })),
    builtAt: row.built_at.toISOString(),
    finalizedAt: iso(row.finalized_at),
    finalizedBy: sideOf(row, row.finalized_by_tenant_id),
    paidAt: iso(row.paid_at),
    paidBy: sideOf(row, row.paid_by_tenant_id),
    paymentReference: row.payment_reference,
    disputedAt: iso(row.disputed_at),
    disputedBy: sideOf(row, row.disputed_by_tenant_id),
    disputeReason: row.dispute_reason,
    disputeResolvedAt: iso(row.dispute_resolved_at),
    disputeResolution: row.dispute_resolution,
    reconciliation,
  };
}

export async function presentStatement(db: Database, row: StatementRow, viewerTenantId: string): Promise<Statement> {
  const reconciliations = await latestReconciliations(db, [row]);
  return toStatement(row, viewerTenantId, reconciliations.get(row.id)!);
}

export async function getStatement(context: Pick<SettlementContext, 'services' | 'tenant'>, id: string): Promise<Statement> {
  return presentStatement(context.services.db, await requireStatement(context.services.db, context.tenant.id, id), context.tenant.id);
}

/** For exports and reconciliation: the statement row, if the caller is a party to it. */
export async function statementOfParty(db: Database, tenantId: string, id: string, options: { forUpdate?: boolean } = {}): Promise<StatementRow> {
  return requireStatement(db, tenantId, id, options);
}

/** The entries a statement covers now: what it took if finalized, else what a rebuild would take. */
export async function sourceOf(db: Database, row: StatementRow): Promise<EntrySource> {
  return row.status === 'draft' ? openSource(db, row.agreement_id, row.period) : { kind: 'settled', statementId: row.id };
}

export async function listStatements(context: Pick<SettlementContext, 'services' | 'tenant'>, rawInput: z.input<typeof listStatementsInputSchema>): Promise<{ statements: Statement[]; nextCursor: string | null }> {
  const input = parseInput(listStatementsInputSchema, rawInput);
  const db = context.services.db;
  let query = statementsOf(db, context.tenant.id).orderBy('period', 'desc').orderBy('id', 'desc').limit(input.limit + 1);
  if (input.period) query = query.where('period', '=', periodDate(input.period));
  if (input.agreementId) query = query.where('agreement_id', '=', input.agreementId);
  if (input.status) query = query.where('status', '=', input.status);
  if (input.cursor !== undefined) {
    const after = await statementsOf(db, context.tenant.id).where('id', '=', input.cursor).executeTakeFirst();
    if (!after) throw validationError([{ path: ['cursor'], message: 'is not a statement of yours' }]);
    query = query.where((eb) => eb.or([eb('period', '<', after.period), eb.and([eb('period', '=', after.period), eb('id', '<', after.id)])]));
  }
  const rows = await query.execute();
  const page = rows.slice(0, input.limit);
  const reconciliations = await latestReconciliations(db, page);
  return { statements: page.map((row) => toStatement(row, context.tenant.id, reconciliations.get(row.id)!)), nextCursor: rows.length > input.limit ? page.at(-1)!.id : null };
}

/** Builds or rebuilds the draft of one of the caller's agreements for a month (draft only; finalized ones are returned as they are). */
export async function buildStatementFor(context: SettlementContext, rawInput: z.input<typeof buildStatementInputSchema>): Promise<Statement> {
  const input = parseInput(buildStatementInputSchema, rawInput);
  const { services, tenant } = context;
  const agreement = await findAgreementOfTenant(coalitionDb(services.db), tenant.id, input.agreementId);
  if (!agreement) throw new AppError('AGREEMENT_NOT_FOUND', `No agreement ${input.agreementId} of yours.`, { agreementId: input.agreementId });
  const period = periodDate(input.period);
  refuseFuturePeriod(period, monthOf(context.now, agreement.timezone), 'period');
  const { statement } = await buildStatement(services.db, agreement.id, period, { actor: context.actor, now: context.now });
  return presentStatement(services.db, statement, tenant.id);
}

const ALLOWED_STEPS: Record<StatementStatus, string[]> = {
  draft: ['build', 'finalize'],
  finalized: ['pay', 'dispute', 'adjust'],
  paid: ['dispute', 'adjust'],
  disputed: ['resolve', 'adjust'],
};

function stepRefused(row: StatementRow, step: string): AppError {
  return new AppError('STATEMENT_STATUS_TRANSITION', `Statement ${row.id} is ${row.status}: it cannot ${step} (allowed: ${ALLOWED_STEPS[row.status].join(', ')}).`, {
    statementId: row.id,
    status: row.status,
    step,
    allowed: ALLOWED_STEPS[row.status],
  });
}

const STATEMENT_EVENTS = {
  finalized: 'settlement.statement_finalized',
  paid: 'settlement.statement_paid',
  disputed: 'settlement.statement_disputed',
  resolved: 'settlement.dispute_resolved',
  adjusted: 'settlement.adjustment_recorded',
} as const satisfies Record<string, OutboxEventType>;

/** Tells both parties (audit log and webhook outbox) in the caller's transaction. */
async function announce(trx: Database, row: StatementRow, type: (typeof STATEMENT_EVENTS)[keyof typeof STATEMENT_EVENTS], by: { side: Side; actor: string }, extra: Record<string, unknown>, now: Date): Promise<void> {
  const document = parseDocument(row.document!);
  const payload = {
    statementId: row.id,
    agreementId: row.agreement_id,
    period: periodLabel(row.period),
    status: row.status,
    contentHash: row.content_hash,
    totals: document.totals,
    by: by.side,
    ...extra,
  };
  for (const party of [document.issuer, document.partner]) {
    const db = tenantDb(trx, tenantSchemaName(party.slug));
    await insertAuditEvent(db, { actor: by.actor, action: type, subjectType: 'settlement_statement', subjectId: row.id, details: payload });
    await appendOutboxEvent(db, { type, occurredAt: now, payload });
  }
}

/**
 * Freezes a draft: in one transaction, under the agreement's lock, the statement takes
 * the entries it covers (each entry is settled by exactly one statement), its content
 * is rebuilt from exactly those and hashed. Entries committed later are left for the
 * next statement. Statements are finalized in month order.
 */
export async function finalizeStatement(context: SettlementContext, id: string, rawInput: z.input<typeof finalizeInputSchema>): Promise<Statement> {
  const input = parseInput(finalizeInputSchema, rawInput);
  const { services, tenant, now } = context;
  const found = await requireStatement(services.db, tenant.id, id);
  const row = await services.db.transaction().execute(async (trx) => {
    const coalition = coalitionDb(trx);
    await lockAgreement(trx, found.agreement_id);
    const current = await requireStatement(trx, tenant.id, id, { forUpdate: true });
    if (current.status !== 'draft') {
      if (input.expectedContentHash !== undefined && input.expectedContentHash !== current.content_hash) throw changed(current, input.expectedContentHash, current.content_hash!);
      return current;
    }
    if (now < current.period_end) {
      throw new AppError('STATEMENT_PERIOD_OPEN', `${periodLabel(current.period)} has not ended in ${current.timezone}: statement ${id} can be finalized from ${current.period_end.toISOString()}.`, {
        statementId: id,
        periodEnd: current.period_end.toISOString(),
      });
    }
    const { closed } = await earlierStatements(trx, current.agreement_id, current.period);
    const { rows: unsettled } = await sql<{ period: string }>`
      select period from coalition.settlement_statements
       where agreement_id = ${current.agreement_id} and period < ${current.period}::date and status = 'draft'
      union
      select distinct e.period from coalition.settlement_entries e
       where e.agreement_id = ${current.agreement_id} and e.period < ${current.period}::date and e.period <> all(${closed}::date[])
         and not exists (select 1 from coalition.settlement_statement_entries s where s.entry_id = e.id)
      order by 1`.execute(trx);
    if (unsettled.length) {
      const periods = unsettled.map((entry) => periodLabel(entry.period));
      throw new AppError('EARLIER_PERIOD_UNSETTLED', `Finalize ${periods.join(', ')} of agreement ${current.agreement_id} first: statements are finalized in month order.`, { statementId: id, periods });
    }
    const agreement = (await findAgreement(coalition, current.agreement_id))!;
    const header = await headerFor(trx, agreement, current.period, id);
    const finalized = await writeContent(
      trx,
      id,
      header,
      { source: { kind: 'open', agreementId: current.agreement_id, period: current.period, closedPeriods: closed }, takeInto: id },
      { status: 'finalized', finalized_at: now, finalized_by: context.actor, finalized_by_tenant_id: tenant.id, updated_at: now },
    );
    if (input.expectedContentHash !== undefined && input.expectedContentHash !== finalized.content_hash) throw changed(current, input.expectedContentHash, finalized.content_hash!);
    await announce(trx, finalized, STATEMENT_EVENTS.finalized, { side: sideOf(finalized, tenant.id)!, actor: context.actor }, {}, now);
    return finalized;
  });
  return presentStatement(services.db, row, tenant.id);
}

function changed(row: StatementRow, expected: string, actual: string): AppError {
  return new AppError('STATEMENT_CHANGED', `Statement ${row.id} is not the one you reviewed: entries arrived since. Rebuild the draft, review it and finalize with its new contentHash.`, {
    statementId: row.id,
    expectedContentHash: expected,
    contentHash: actual,
  });
}

/**
 * Rebuilds a statement's document from its entries without storing anything and
 * compares it byte for byte with the stored one: for a finalized statement they must
 * be identical whatever happened since.
 */
/** The document a rebuild of the statement would give now (what it covers now), without storing anything. */
export async function rebuiltDocument(db: Database, row: StatementRow): Promise<string> {
  // A finalized statement keeps the header it was finalized with (its month's instants
  // stay those of the time zone data of that day); only its content is derived again,
  // from exactly the entries it took.
  const header = row.status === 'draft' ? await headerFor(db, (await findAgreement(coalitionDb(db), row.agreement_id))!, row.period, row.id) : storedHeader(row);
  return statementDocument(header, statementContent(header, await summarizeEntries(db, await sourceOf(db, row))));
}

function storedHeader(row: StatementRow): StatementHeader {
  const document = JSON.parse(row.document!) as Omit<StatementHeader, 'periodStart' | 'periodEnd' | 'period'> & { periodStart: string; periodEnd: string };
  return {
    statementId: row.id,
    agreement: document.agreement,
    timezone: document.timezone,
    period: row.period,
    periodStart: new Date(document.periodStart),
    periodEnd: new Date(document.periodEnd),
    issuer: document.issuer,
    partner: document.partner,
    payer: document.payer,
  };
}

export async function verifyStatement(context: Pick<SettlementContext, 'services' | 'tenant'>, id: string): Promise<{ statementId: string; status: StatementStatus; identical: boolean; contentHash: string; rebuiltContentHash: string }> {
  const { services, tenant } = context;
  const row = await requireStatement(services.db, tenant.id, id);
  const rebuilt = await rebuiltDocument(services.db, row);
  return { statementId: id, status: row.status, identical: rebuilt === row.document, contentHash: row.content_hash!, rebuiltContentHash: contentHash(rebuilt) };
}

/** A lifecycle step on a statement: the row locked, the step checked, the change announced to both parties. */
async function step(
  context: SettlementContext,
  id: string,
  work: (trx: Database, row: StatementRow, side: Side) => Promise<{ row: StatementRow; event?: (typeof STATEMENT_EVENTS)[keyof typeof STATEMENT_EVENTS]; extra?: Record<string, unknown> }>,
): Promise<Statement> {
  const { services, tenant, now } = context;
  const row = await services.db.transaction().execute(async (trx) => {
    const current = await requireStatement(trx, tenant.id, id, { forUpdate: true });
    const side = sideOf(current, tenant.id)!;
    const result = await work(trx, current, side);
    if (result.event) await announce(trx, result.row, result.event, { side, actor: context.actor }, result.extra ?? {}, now);
    return result.row;
  });
  return presentStatement(services.db, row, tenant.id);
}

function update(trx: Database, id: string, patch: Updateable<SettlementStatementsTable>): Promise<StatementRow> {
  return coalitionDb(trx).updateTable('settlement_statements').set(patch).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
}

/** Records that a finalized statement was paid (either party may; the reference is what finance matches the bank line with). Repeating it with the same reference changes nothing. */
export async function payStatement(context: SettlementContext, id: string, rawInput: z.input<typeof payInputSchema>): Promise<Statement> {
  const input = parseInput(payInputSchema, rawInput);
  return step(context, id, async (trx, row) => {
    if (row.status === 'paid' && row.payment_reference === input.paymentReference) return { row };
    if (row.status !== 'finalized') throw stepRefused(row, 'pay');
    const paid = await update(trx, id, { status: 'paid', paid_at: context.now, paid_by: context.actor, paid_by_tenant_id: context.tenant.id, payment_reference: input.paymentReference, updated_at: context.now });
    return { row: paid, event: STATEMENT_EVENTS.paid, extra: { paymentReference: input.paymentReference } };
  });
}

/** Either party disputes a finalized (or paid) statement; the statement itself never changes, the dispute is settled by adjustments. */
export async function disputeStatement(context: SettlementContext, id: string, rawInput: z.input<typeof disputeInputSchema>): Promise<Statement> {
  const input = parseInput(disputeInputSchema, rawInput);
  return step(context, id, async (trx, row) => {
    if (row.status === 'disputed' && row.disputed_by_tenant_id === context.tenant.id && row.dispute_reason === input.reason) return { row };
    if (row.status !== 'finalized' && row.status !== 'paid') throw stepRefused(row, 'dispute');
    const disputed = await update(trx, id, {
      status: 'disputed',
      disputed_at: context.now,
      disputed_by: context.actor,
      disputed_by_tenant_id: context.tenant.id,
      dispute_reason: input.reason,
      dispute_resolved_at: null,
      dispute_resolved_by: null,
      dispute_resolution: null,
      updated_at: context.now,
    });
    return { row: disputed, event: STATEMENT_EVENTS.disputed, extra: { reason: input.reason } };
  });
}

/** The party that raised a dispute ends it; the statement goes back to finalized (or paid, if it had been paid). */
export async function resolveDispute(context: SettlementContext, id: string, rawInput: z.input<typeof resolveInputSchema>): Promise<Statement> {
  const input = parseInput(resolveInputSchema, rawInput);
  return step(context, id, async (trx, row, side) => {
    if (row.status !== 'disputed') throw stepRefused(row, 'resolve');
    if (row.disputed_by_tenant_id !== context.tenant.id) {
      throw new AppError('STATEMENT_ACTION_FORBIDDEN', `The ${side === 'issuer' ? 'partner' : 'issuer'} disputed statement ${id}; only that party resolves it. Concede an adjustment, or ask them to resolve it.`, {
        statementId: id,
        disputedBy: sideOf(row, row.disputed_by_tenant_id),
      });
    }
    const resolved = await update(trx, id, {
      status: row.paid_at ? 'paid' : 'finalized',
      dispute_resolved_at: context.now,
      dispute_resolved_by: context.actor,
      dispute_resolution: input.resolution,
      updated_at: context.now,
    });
    return { row: resolved, event: STATEMENT_EVENTS.resolved, extra: { resolution: input.resolution } };
  });
}

/**
 * A correction of a finalized statement: the caller concedes an amount to the other
 * party (a payer pays more, a payee claims less), so nobody can charge the other
 * unilaterally. It is a new settlement entry dated now: it lands in the open month's
 * statement as an adjustment line referring to this statement.
 */
export async function recordAdjustment(
  context: SettlementContext,
  id: string,
  idempotencyKey: string | undefined,
  rawInput: z.input<typeof adjustmentInputSchema>,
): Promise<{ result: { statement: Statement; adjustment: Adjustment }; replayed: boolean }> {
  const input = parseInput(adjustmentInputSchema, rawInput);
  // Checked before anything else: a concession without a key could be recorded twice by a retry.
  requireIdempotencyKey(idempotencyKey);
  let outcome: { adjustment: Adjustment; replayed: boolean } | undefined;
  const statement = await step(context, id, async (trx, row) => {
    if (row.status === 'draft') throw stepRefused(row, 'adjust');
    const { result, replayed } = await runIdempotent(
      tenantDb(trx, context.tenant.schema),
      { key: idempotencyKey, operation: 'settlement.adjust', input: { statementId: id, ...input }, now: context.now, fingerprintKey: { secrets: context.services.secrets, tenantId: context.tenant.id } },
      async (): Promise<Adjustment> => {
        const agreement = (await findAgreement(coalitionDb(trx), row.agreement_id))!;
        const currencies = new Set([agreement.currency, ...parseDocument(row.document!).totals.map((total) => total.currency)]);
        if (!currencies.has(input.currency)) throw validationError([{ path: ['currency'], message: `must be a currency of this statement: ${[...currencies].sort().join(', ')}` }]);
        const { payer, payee } = payerAndPayee(agreement);
        const amountMinor = context.tenant.id === payer ? input.amountMinor : -input.amountMinor;
        const period = monthOf(context.now, agreement.timezone);
        await coalitionDb(trx)
          .insertInto('settlement_entries')
          .values({
            agreement_id: agreement.id,
            voucher_id: null,
            offer_id: null,
            event: 'adjustment',
            payer_tenant_id: payer,
            payee_tenant_id: payee,
            amount_minor: amountMinor,
            currency: input.currency,
            order_amount_minor: null,
            occurred_at: context.now,
            period,
            relates_to_period: row.period,
            statement_ref: row.id,
            note: input.reason,
            created_by: context.actor,
            redemption_id: null,
          })
          .execute();
        return { amountMinor, currency: input.currency, period: periodLabel(period), reason: input.reason };
      },
    );
    outcome = { adjustment: result, replayed };
    return replayed ? { row } : { row, event: STATEMENT_EVENTS.adjusted, extra: { adjustment: result } };
  });
  return { result: { statement, adjustment: outcome!.adjustment }, replayed: outcome!.replayed };
}

export interface Adjustment {
  amountMinor: number;
  currency: string;
  period: string;
  reason: string;
}
