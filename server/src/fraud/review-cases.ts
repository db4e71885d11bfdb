import { sql, type Selectable } from 'kysely';
import { z } from 'zod';
import { timestampSchema } from '../campaigns/campaign.ts';
import { lockOpenCampaigns } from '../campaigns/campaign.queries.ts';
import { customerIdSchema } from '../customers/customer.ts';
import { lockCustomer } from '../customers/identify-customer.ts';
import { updateCustomer } from '../customers/customer.queries.ts';
import type { TenantDb } from '../db/database.ts';
import type { FraudCasesTable, FraudDecision } from '../db/tables.ts';
import { AppError } from '../errors/app-error.ts';
import { humanText } from '../errors/text-schemas.ts';
import { validationError } from '../errors/validation.ts';
import { appendOutboxEvent } from '../outbox/events.ts';
import { appendLedger, type NewLedgerRow } from '../stickers/ledger.queries.ts';
import { insertAuditEvent } from '../tenants/audit.queries.ts';
import type { HeldStickers } from './record-cases.ts';
import { FRAUD_RULES, fraudRuleIdSchema } from './rules.ts';

export const fraudCaseIdSchema = z.string().regex(/^frc_[0-9A-Za-z]{16}$/, 'must be a case id (frc_ followed by 16 letters and digits)');

const caseActionSchema = z.enum(['flag', 'hold', 'block']);
const decisionSchema = z.enum(['released', 'reversed', 'card_blocked', 'dismissed']);

const stickerMoveSchema = z.object({ purchaseId: z.string(), campaignId: z.string(), stickers: z.number().int(), availableAt: z.string().optional() });

export const fraudCaseOutputSchema = z.object({
  id: z.string(),
  ruleId: fraudRuleIdSchema,
  ruleTitle: z.string(),
  action: caseActionSchema.describe('The strongest action the rule took on this case: flag (allowed, recorded), hold (stickers kept pending), block (refused).'),
  status: z.enum(['open', 'closed']),
  summary: z.string().describe("The latest hit in words."),
  subject: z.string().describe('What the case is about: customer:<id>, or shopper:/order:<partner>:<ref> for a redemption signal.'),
  customer: z.object({ id: z.string(), cardNumber: z.string().nullable(), phoneHint: z.string().nullable(), blocked: z.boolean() }).nullable(),
  hits: z.number().int().describe('How many requests tripped the rule while the case was open.'),
  heldStickers: z.number().int().describe('Stickers held by this case when its hits were recorded (returns since may have taken some back).'),
  openedAt: z.string(),
  lastHitAt: z.string(),
  decision: z
    .object({
      decision: decisionSchema,
      by: z.string(),
      byName: z.string().nullable(),
      at: z.string(),
      reason: z.string(),
      released: z.array(stickerMoveSchema),
      reversed: z.array(stickerMoveSchema),
      burned: z.array(stickerMoveSchema).describe('Held stickers whose campaign burned before the decision: nothing left to move.'),
    })
    .nullable(),
});
export type FraudCase = z.infer<typeof fraudCaseOutputSchema>;

export const fraudCaseHitSchema = z.object({
  id: z.string(),
  kind: z.enum(['purchase', 'return', 'exchange', 'redemption']),
  action: caseActionSchema,
  recordedAt: z.string(),
  purchaseId: z.string().nullable(),
  reference: z.string().nullable().describe('Receipt id, return id, voucher id (or the reward id of a blocked exchange), or redemption id.'),
  evidence: z.record(z.string(), z.unknown()),
  held: z.array(z.object({ campaignId: z.string(), stickers: z.number().int(), availableAt: z.string(), heldUntil: z.string() })).nullable(),
});

export const fraudCaseDetailSchema = fraudCaseOutputSchema.extend({
  hitList: z.array(fraudCaseHitSchema).describe('Every hit, oldest first (at most 500).'),
  stillHeld: z.array(stickerMoveSchema).describe('What a decision would move now: held stickers per receipt and campaign, after any returns.'),
});

type CaseRow = Selectable<FraudCasesTable> & { card_number: string | null; phone_hint: string | null; blocked_at: Date | null };

function ruleTitle(id: string): string {
  return FRAUD_RULES.find((rule) => rule.id === id)?.title ?? id;
}

function toCase(row: CaseRow): FraudCase {
  const details = (row.decision_details ?? {}) as { released?: []; reversed?: []; burned?: [] };
  return {
    id: row.id,
    ruleId: row.rule_id as FraudCase['ruleId'],
    ruleTitle: ruleTitle(row.rule_id),
    action: row.action,
    status: row.status,
    summary: row.summary,
    subject: row.subject_key,
    customer: row.customer_id ? { id: row.customer_id, cardNumber: row.card_number, phoneHint: row.phone_hint ? `…${row.phone_hint}` : null, blocked: row.blocked_at !== null } : null,
    hits: row.hits,
    heldStickers: row.held_stickers,
    openedAt: row.opened_at.toISOString(),
    lastHitAt: row.last_hit_at.toISOString(),
    decision:
      row.status === 'closed' && row.decision
        ? {
            decision: row.decision,
            by: row.decided_by ?? '',
            byName: row.decided_by_name,
            at: row.decided_at!.toISOString(),
            reason: row.decision_reason ?? '',
            released: details.released ?? [],
            reversed: details.reversed ?? [],
            burned: details.burned ?? [],
          }
        : null,
  };
}

function casesQuery(db: TenantDb) {
  return db
    .selectFrom('fraud_cases as f')
    .leftJoin('customers as c', 'c.id', 'f.customer_id')
    .selectAll('f')
    .select(['c.card_number', 'c.phone_hint', 'c.blocked_at']);
}

export const listCasesInputSchema = z.strictObject({
  status: z.enum(['open', 'closed']).optional().describe('Leave out for both.'),
  ruleId: fraudRuleIdSchema.optional(),
  action: caseActionSchema.optional(),
  customerId: customerIdSchema.optional(),
  from: timestampSchema.optional().describe('Opened at or after.'),
  to: timestampSchema.optional().describe('Opened before.'),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: fraudCaseIdSchema.optional().describe('nextCursor of the previous page.'),
});

/** The review queue, newest first. */
export async function listCases(db: TenantDb, input: z.output<typeof listCasesInputSchema>): Promise<{ cases: FraudCase[]; nextCursor: string | null; openCount: number }> {
  let query = casesQuery(db);
  if (input.status) query = query.where('f.status', '=', input.status);
  if (input.ruleId) query = query.where('f.rule_id', '=', input.ruleId);
  if (input.action) query = query.where('f.action', '=', input.action);
  if (input.customerId) query = query.where('f.customer_id', '=', input.customerId);
  if (input.from) query = query.where('f.opened_at', '>=', new Date(input.from));
  if (input.to) query = query.where('f.opened_at', '<', new Date(input.to));
  if (input.cursor !== undefined) {
    const after = await db.selectFrom('fraud_cases').select(['opened_at', 'id']).where('id', '=', input.cursor).executeTakeFirst();
    if (!after) throw validationError([{ path: ['cursor'], message: 'is not a case of yours' }]);
    query = query.where((eb) => eb.or([eb('f.opened_at', '<', after.opened_at), eb.and([eb('f.opened_at', '=', after.opened_at), eb('f.id', '<', after.id)])]));
  }
  const [rows, open] = await Promise.all([
    query.orderBy('f.opened_at', 'desc').orderBy('f.id', 'desc').limit(input.limit + 1).execute(),
    db.selectFrom('fraud_cases').select(sql<string>`count(*)`.as('n')).where('status', '=', 'open').executeTakeFirstOrThrow(),
  ]);
  const page = rows.slice(0, input.limit) as CaseRow[];
  return { cases: page.map(toCase), nextCursor: rows.length > input.limit ? page.at(-1)!.id : null, openCount: Number(open.n) };
}

function caseNotFound(caseId: string): AppError {
  return new AppError('FRAUD_CASE_NOT_FOUND', `There is no anti-fraud case ${caseId}.`, { caseId });
}

type HeldEntry = HeldStickers & { purchaseId: string };

async function heldEntries(db: TenantDb, caseId: string): Promise<HeldEntry[]> {
  const hits = await db.selectFrom('fraud_case_hits').select(['purchase_id', 'held']).where('case_id', '=', caseId).where('held', 'is not', null).orderBy('id').execute();
  return hits.flatMap((hit) => ((hit.held as HeldStickers[] | null) ?? []).map((entry) => ({ ...entry, purchaseId: hit.purchase_id! })));
}

/**
 * What is still held per receipt and campaign: the held-dated ledger rows of the receipt
 * (its accrual, less returns since). Held stickers of a campaign that has burned burned
 * with it: they are marked, and no decision moves them.
 */
async function stillHeld(db: TenantDb, entries: readonly HeldEntry[], now: Date): Promise<(HeldEntry & { remaining: number; burned: boolean })[]> {
  if (!entries.length) return [];
  const [rows, campaigns] = await Promise.all([
    db
      .selectFrom('sticker_ledger')
      .select(['purchase_id', 'campaign_id', 'available_at', 'amount'])
      .where('purchase_id', 'in', [...new Set(entries.map((entry) => entry.purchaseId))])
      .execute(),
    db
      .selectFrom('campaigns')
      .select(['id', 'burned_at', 'burn_at'])
      .where('id', 'in', [...new Set(entries.map((entry) => entry.campaignId))])
      .execute(),
  ]);
  const burned = new Set(campaigns.filter((campaign) => campaign.burned_at !== null || campaign.burn_at <= now).map((campaign) => campaign.id));
  return entries.map((entry) => ({
    ...entry,
    burned: burned.has(entry.campaignId),
    remaining: rows
      .filter((row) => row.purchase_id === entry.purchaseId && row.campaign_id === entry.campaignId && row.available_at.getTime() === new Date(entry.heldUntil).getTime())
      .reduce((sum, row) => sum + row.amount, 0),
  }));
}

export async function getCase(db: TenantDb, caseId: string, now: Date): Promise<z.infer<typeof fraudCaseDetailSchema>> {
  const row = (await casesQuery(db).where('f.id', '=', caseId).executeTakeFirst()) as CaseRow | undefined;
  if (!row) throw caseNotFound(caseId);
  const hits = await db.selectFrom('fraud_case_hits').selectAll().where('case_id', '=', caseId).orderBy('id').limit(500).execute();
  const held = row.status === 'open' ? await stillHeld(db, await heldEntries(db, caseId), now) : [];
  return {
    ...toCase(row),
    hitList: hits.map((hit) => ({
      id: hit.id,
      kind: hit.kind,
      action: hit.action,
      recordedAt: hit.recorded_at.toISOString(),
      purchaseId: hit.purchase_id,
      reference: hit.reference,
      evidence: hit.evidence as Record<string, unknown>,
      held: (hit.held as HeldStickers[] | null) ?? null,
    })),
    stillHeld: held.filter((entry) => entry.remaining > 0 && !entry.burned).map((entry) => ({ purchaseId: entry.purchaseId, campaignId: entry.campaignId, stickers: entry.remaining, availableAt: entry.availableAt })),
  };
}

export const DECISIONS = ['release', 'reverse', 'block_card', 'dismiss'] as const;

export const decideCaseInputSchema = z.strictObject({
  caseId: fraudCaseIdSchema,
  decision: z.enum(DECISIONS).describe(
    'release: held stickers become available (on their original date, or now if it has passed). reverse: held stickers are taken back. block_card: the card is blocked and held stickers are taken back. dismiss: a false alarm; held stickers are released.',
  ),
  reason: humanText(500).describe('Why: kept with the case and in the audit log.'),
});

const DECIDED: Record<(typeof DECISIONS)[number], FraudDecision> = { release: 'released', reverse: 'reversed', block_card: 'card_blocked', dismiss: 'dismissed' };

/**
 * A reviewer's decision, exactly once: the customer's lock (the same one purchases,
 * returns and exchanges take first) then the case's; a second decision finds the case
 * closed. Ledger rows only ever get added: a release writes a pair of adjustments that
 * move the held stickers from the burn date to their own date; a reversal takes them back.
 */
export async function decideCase(
  db: TenantDb,
  input: z.output<typeof decideCaseInputSchema>,
  context: { actor: string; actorName: string | null; now: Date },
): Promise<FraudCase> {
  const { now } = context;
  const first = await db.selectFrom('fraud_cases').select(['id', 'customer_id', 'subject_key']).where('id', '=', input.caseId).executeTakeFirst();
  if (!first) throw caseNotFound(input.caseId);
  await db.transaction().execute(async (trx) => {
    const customer = first.customer_id ? await lockCustomer(trx, { id: first.customer_id }) : undefined;
    const current = await trx.selectFrom('fraud_cases').selectAll().where('id', '=', input.caseId).forUpdate().executeTakeFirstOrThrow();
    if (current.status === 'closed') {
      throw new AppError('FRAUD_CASE_CLOSED', `Case ${current.id} was already decided (${current.decision}) at ${current.decided_at?.toISOString()}.`, {
        caseId: current.id,
        decision: current.decision,
        decidedAt: current.decided_at?.toISOString(),
        decidedBy: current.decided_by_name ?? current.decided_by,
      });
    }
    const entries = await stillHeld(trx, await heldEntries(trx, current.id), now);
    const holding = entries.some((entry) => entry.remaining > 0 && !entry.burned);
    if ((input.decision === 'release' || input.decision === 'reverse') && !holding) {
      throw new AppError('FRAUD_DECISION_NOT_APPLICABLE', `Case ${current.id} holds no stickers (its rule ${current.action === 'hold' ? 'held stickers that returns have since taken back' : `${current.action === 'flag' ? 'flagged' : 'blocked'} the request`}): dismiss it or block the card.`, {
        caseId: current.id,
        decision: input.decision,
        reason: 'nothing_held',
      });
    }
    if (input.decision === 'block_card' && (!customer || !current.subject_key.startsWith('customer:'))) {
      throw new AppError('FRAUD_DECISION_NOT_APPLICABLE', `Case ${current.id} is not about one card${customer ? ' (it is a shop account or order signal: block the cards in its evidence one by one)' : ' (the card was never enrolled)'}.`, {
        caseId: current.id,
        decision: input.decision,
        reason: 'no_card',
      });
    }

    const campaignIds = [...new Set(entries.map((entry) => entry.campaignId))];
    const open = await lockOpenCampaigns(trx, campaignIds, now);
    const release = input.decision === 'release' || input.decision === 'dismiss';
    const moved = { released: [] as z.infer<typeof stickerMoveSchema>[], reversed: [] as z.infer<typeof stickerMoveSchema>[], burned: [] as z.infer<typeof stickerMoveSchema>[] };
    const rows: NewLedgerRow[] = [];
    const reason = `fraud case ${current.id}: ${input.reason}`;
    for (const entry of entries) {
      if (entry.remaining <= 0) continue;
      const heldUntil = new Date(entry.heldUntil);
      const base = { customer_id: current.customer_id!, campaign_id: entry.campaignId, recorded_at: now, purchase_id: entry.purchaseId, return_id: null, actor: context.actor, reason, reference: current.id };
      if (entry.burned || !open.has(entry.campaignId)) {
        moved.burned.push({ purchaseId: entry.purchaseId, campaignId: entry.campaignId, stickers: entry.remaining });
      } else if (release) {
        const availableAt = new Date(Math.max(new Date(entry.availableAt).getTime(), now.getTime()));
        rows.push({ ...base, kind: 'adjustment', amount: -entry.remaining, available_at: heldUntil }, { ...base, kind: 'adjustment', amount: entry.remaining, available_at: availableAt });
        moved.released.push({ purchaseId: entry.purchaseId, campaignId: entry.campaignId, stickers: entry.remaining, availableAt: availableAt.toISOString() });
      } else {
        rows.push({ ...base, kind: 'reversal', amount: -entry.remaining, available_at: heldUntil });
        moved.reversed.push({ purchaseId: entry.purchaseId, campaignId: entry.campaignId, stickers: entry.remaining });
      }
    }
    await appendLedger(trx, rows);
    if (input.decision === 'block_card' && customer && !customer.blocked_at) {
      await updateCustomer(trx, customer.id, { blocked_at: now, blocked_reason: reason.slice(0, 500) });
      await insertAuditEvent(trx, { actor: context.actor, action: 'customer.blocked', subjectType: 'customer', subjectId: customer.id, details: { reason, caseId: current.id } });
    }
    const decision = DECIDED[input.decision];
    await trx
      .updateTable('fraud_cases')
      .set({ status: 'closed', decision, decided_by: context.actor, decided_by_name: context.actorName, decided_at: now, decision_reason: input.reason, decision_details: JSON.stringify(moved) })
      .where('id', '=', current.id)
      .execute();
    await insertAuditEvent(trx, { actor: context.actor, action: 'fraud.case_decided', subjectType: 'fraud_case', subjectId: current.id, details: { decision, reason: input.reason, ruleId: current.rule_id, ...moved } });
    await appendOutboxEvent(trx, {
      type: 'fraud.case_decided',
      occurredAt: now,
      payload: { caseId: current.id, ruleId: current.rule_id, customerId: current.customer_id, decision, reason: input.reason, decidedAt: now.toISOString(), ...moved },
    });
  });
  return toCase((await casesQuery(db).where('f.id', '=', input.caseId).executeTakeFirstOrThrow()) as CaseRow);
}
