import { z } from 'zod';
import { agreementIdSchema } from '../agreements/agreement.ts';
import { prefixedIds } from '../db/ids.ts';
import type { SettlementEvent, StatementStatus } from '../db/tables.ts';
import { humanText } from '../errors/text-schemas.ts';
import { validationError } from '../errors/validation.ts';
import { startOfLocalDay } from '../system/calendar.ts';
import { currencySchema } from '../tenants/tenant.ts';

export const newStatementId = prefixedIds('stm');
export const newRunId = prefixedIds('srun');
export const newReconciliationId = prefixedIds('rec');

export const statementIdSchema = z.string().regex(/^stm_[0-9A-Za-z]{12}$/, 'must be a statement id (stm_ followed by 12 letters and digits)');
export const runIdSchema = z.string().regex(/^srun_[0-9A-Za-z]{12}$/, 'must be a settlement run id (srun_ followed by 12 letters and digits)');
export const reconciliationIdSchema = z.string().regex(/^rec_[0-9A-Za-z]{12}$/, 'must be a reconciliation id (rec_ followed by 12 letters and digits)');

/** A settlement period as people write it: "2026-10" (a calendar month in the agreement's time zone). */
export const periodSchema = z
  .string()
  .regex(/^(\d{4})-(0[1-9]|1[0-2])$/, 'must be a month as YYYY-MM, e.g. 2026-10')
  .refine((value) => Number(value.slice(0, 4)) >= 2000 && Number(value.slice(0, 4)) <= 2999, 'must be a month between 2000-01 and 2999-12');

/** "2026-10" → "2026-10-01" (the stored form). */
export const periodDate = (period: string): string => `${period}-01`;
/** "2026-10-01" → "2026-10". */
export const periodLabel = (date: string): string => date.slice(0, 7);

/** The period after `date` ("2026-12-01" → "2027-01-01"). */
export function nextPeriod(date: string): string {
  const year = Number(date.slice(0, 4));
  const month = Number(date.slice(5, 7));
  return month === 12 ? `${year + 1}-01-01` : `${year}-${String(month + 1).padStart(2, '0')}-01`;
}

/** The period before `date`. */
export function previousPeriod(date: string): string {
  const year = Number(date.slice(0, 4));
  const month = Number(date.slice(5, 7));
  return month === 1 ? `${year - 1}-12-01` : `${year}-${String(month - 1).padStart(2, '0')}-01`;
}

/** The instants a period covers in a time zone, [start, end): local midnight of the 1st to local midnight of the next 1st. */
export function periodBounds(date: string, timeZone: string): { start: Date; end: Date } {
  const year = Number(date.slice(0, 4));
  const month = Number(date.slice(5, 7));
  return { start: startOfLocalDay(year, month, 1, timeZone), end: startOfLocalDay(year, month + 1, 1, timeZone) };
}

export const SETTLEMENT_EVENTS = ['code_issued', 'issue_cancelled', 'code_redeemed', 'redemption_reversed', 'adjustment'] as const satisfies readonly SettlementEvent[];
/** Line order within a section: the charges, then what takes them back, then manual adjustments. */
export const EVENT_ORDER: Record<SettlementEvent, number> = { code_issued: 0, issue_cancelled: 1, code_redeemed: 2, redemption_reversed: 3, adjustment: 4 };

export const STATEMENT_STATUSES = ['draft', 'finalized', 'paid', 'disputed'] as const satisfies readonly StatementStatus[];

// ---- inputs -----------------------------------------------------------------------

export const buildStatementInputSchema = z.strictObject({
  agreementId: agreementIdSchema,
  period: periodSchema.describe('The month to settle, YYYY-MM, in the agreement\'s time zone.'),
});

export const finalizeInputSchema = z.strictObject({
  expectedContentHash: z
    .string()
    .regex(/^[0-9a-f]{64}$/, 'must be the 64 hex digits of a statement content hash')
    .describe('Required: the contentHash of the draft you reviewed. Finalizing is refused (STATEMENT_CHANGED) if entries arrived since, so what is finalized is what was reviewed.'),
});

export const payInputSchema = z.strictObject({
  paymentReference: humanText(200).describe('The bank transfer or payment reference that settles this statement.'),
});

export const disputeInputSchema = z.strictObject({
  reason: humanText(2_000).describe('What is wrong with the statement: the other party reads it.'),
});

export const resolveInputSchema = z.strictObject({
  resolution: humanText(2_000).describe('How the dispute ended (an adjustment, a withdrawal): kept with the statement.'),
});

export const adjustmentInputSchema = z.strictObject({
  amountMinor: z.number().int().min(1).max(1_000_000_000_000).describe('What you concede to the other party, in minor units (> 0).'),
  currency: currencySchema,
  reason: humanText(500).describe('Why: shown on the next statement and in its detail export.'),
});

export const createRunInputSchema = z.strictObject({
  period: periodSchema.optional().describe("The month to settle; omitted = each agreement's last closed month."),
});

export const listStatementsInputSchema = z.strictObject({
  period: periodSchema.optional(),
  agreementId: agreementIdSchema.optional(),
  status: z.enum(STATEMENT_STATUSES).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: statementIdSchema.optional().describe('nextCursor of the previous page.'),
});

export const nettingInputSchema = z.strictObject({ period: periodSchema });

/** Throws the typed error for a period that has not begun. */
export function refuseFuturePeriod(date: string, currentPeriod: string, path: string): void {
  if (date > currentPeriod) throw validationError([{ path: [path], message: `is in the future; the current month is ${periodLabel(currentPeriod)}` }]);
}

// ---- outputs ----------------------------------------------------------------------

export const statementLineSchema = z.object({
  section: z.enum(['period', 'adjustment']).describe('period: events of the statement month; adjustment: corrections of earlier months.'),
  relatesToPeriod: z.string().describe('The month the line corrects (its own month for period lines), YYYY-MM.'),
  offerId: z.string().nullable(),
  event: z.enum(SETTLEMENT_EVENTS),
  statementRef: z.string().nullable().describe('Adjustments: the statement they settle a dispute or correction of.'),
  currency: z.string(),
  count: z.number().int(),
  amountMinor: z.number().int().describe('Signed, from the payer to the payee of the agreement.'),
});
export type StatementLine = z.infer<typeof statementLineSchema>;

export const statementTotalSchema = z.object({
  currency: z.string(),
  periodMinor: z.number().int().describe('Sum of the period lines.'),
  adjustmentsMinor: z.number().int().describe('Sum of the adjustment lines.'),
  netMinor: z.number().int().describe('periodMinor + adjustmentsMinor, signed as the lines.'),
  owedBy: z.string().nullable().describe('Slug of the tenant that pays the net (null when it is zero).'),
  owedTo: z.string().nullable(),
  amountMinor: z.number().int().describe('The net without its sign: what owedBy pays owedTo.'),
});
export type StatementTotal = z.infer<typeof statementTotalSchema>;

const sideSchema = z.enum(['issuer', 'partner']);

const reconciliationSummarySchema = z.object({
  reconciliationId: z.string(),
  uploadedAt: z.string(),
  reconciled: z.boolean(),
  matched: z.number().int(),
  missingOurs: z.number().int(),
  missingTheirs: z.number().int(),
  mismatched: z.number().int(),
  invalidRows: z.number().int(),
  currentForStatement: z.boolean().describe('false when the statement changed after this file was compared (a rebuilt draft).'),
});

export const statementOutputSchema = z.object({
  id: z.string(),
  agreementId: z.string(),
  agreementName: z.string(),
  issuer: z.string(),
  partner: z.string(),
  yourSide: sideSchema,
  period: z.string().describe('YYYY-MM'),
  timezone: z.string(),
  periodStart: z.string().describe('First instant of the period (UTC).'),
  periodEnd: z.string().describe('First instant after the period (UTC).'),
  status: z.enum(STATEMENT_STATUSES),
  contentHash: z.string().describe('SHA-256 of the statement document; fixed once finalized.'),
  entryCount: z.number().int(),
  lines: z.array(statementLineSchema),
  totals: z.array(statementTotalSchema),
  yourNet: z
    .array(z.object({ currency: z.string(), amountMinor: z.number().int() }))
    .describe('Per currency, the net from your side: positive = you receive it, negative = you pay it.'),
  builtAt: z.string(),
  finalizedAt: z.string().nullable(),
  finalizedBy: sideSchema.nullable(),
  paidAt: z.string().nullable(),
  paidBy: sideSchema.nullable(),
  paymentReference: z.string().nullable(),
  disputedAt: z.string().nullable(),
  disputedBy: sideSchema.nullable(),
  disputeReason: z.string().nullable(),
  disputeResolvedAt: z.string().nullable(),
  disputeResolution: z.string().nullable(),
  reconciliation: z.object({ issuer: reconciliationSummarySchema.nullable(), partner: reconciliationSummarySchema.nullable() }),
});
export type Statement = z.infer<typeof statementOutputSchema>;

export const runOutputSchema = z.object({
  id: z.string(),
  period: z.string().nullable(),
  trigger: z.enum(['schedule', 'api']),
  status: z.enum(['queued', 'running', 'succeeded', 'failed']),
  attempts: z.number().int(),
  statementsBuilt: z.number().int(),
  statementsUnchanged: z.number().int(),
  error: z.string().nullable(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
});
export type SettlementRun = z.infer<typeof runOutputSchema>;
