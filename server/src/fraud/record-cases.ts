import { sql } from 'kysely';
import { customAlphabet } from 'nanoid';
import type { TenantDb } from '../db/database.ts';
import type { FraudAction, FraudCaseAction } from '../db/tables.ts';
import { AppError } from '../errors/app-error.ts';
import { appendOutboxEvent } from '../outbox/events.ts';
import { strongerAction, type EffectiveRule } from './rules.ts';

const newCaseId = (() => {
  const id = customAlphabet('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz', 16);
  return () => `frc_${id()}`;
})();

/** One rule that fired, with what it saw. */
export interface FraudFinding {
  rule: EffectiveRule;
  /** One line a reviewer reads first: "7 receipts by cashier C-12 on this card in 12 h (more than 4)". */
  summary: string;
  evidence: Record<string, unknown>;
}

/** Stickers a hold kept back, per campaign: enough to release or reverse them later. */
export interface HeldStickers {
  campaignId: string;
  stickers: number;
  /** When they would have become available without the hold. */
  availableAt: string;
  /** The date they sit pending until (the campaign's burn date) unless reviewed. */
  heldUntil: string;
}

export type HitKind = 'purchase' | 'return' | 'exchange' | 'redemption';

/** The strongest action of the findings: block over hold over flag over allow. */
export function verdictOf(findings: readonly FraudFinding[]): FraudAction {
  return findings.reduce<FraudAction>((action, finding) => strongerAction(action, finding.rule.action), 'allow');
}

/** The finding whose case carries the request's action (and its held stickers): the strongest, first in catalog order. */
export function primaryFinding(findings: readonly FraudFinding[]): FraudFinding | undefined {
  const action = verdictOf(findings);
  return findings.find((finding) => finding.rule.action === action);
}

export interface RecordedHits {
  /** The case of the strongest finding: the one the request's answer names. */
  primaryCaseId: string | undefined;
}

/**
 * Records findings as cases: one open case per rule and subject gathers every hit, so a
 * card tripping the same rule all week is one case with many hits, not a queue of
 * duplicates. A new case writes `fraud.case_opened` to the issuer's outbox. Runs in the
 * caller's transaction; two writers opening the same case meet on the unique index.
 */
export async function recordHits(
  trx: TenantDb,
  input: {
    findings: readonly FraudFinding[];
    kind: HitKind;
    customerId: string | null;
    subjectKey?: string;
    purchaseId?: string | null;
    reference?: string | null;
    held?: readonly HeldStickers[];
    /** The action the request got (a finding at flag may ride along a block). */
    now: Date;
  },
): Promise<RecordedHits> {
  let primaryCaseId: string | undefined;
  const primary = primaryFinding(input.findings);
  for (const finding of input.findings) {
    if (finding.rule.action === 'allow') continue;
    const action = finding.rule.action as FraudCaseAction;
    const subjectKey = input.subjectKey ?? `customer:${input.customerId}`;
    const isPrimary = finding === primary;
    const held = isPrimary && input.held?.length ? input.held : null;
    const heldStickers = held?.reduce((sum, entry) => sum + entry.stickers, 0) ?? 0;
    // One statement: a new case, or one more hit on the open one. When a reviewer closes
    // that case meanwhile, PostgreSQL retries the insert and a new case opens.
    const row = await trx
      .insertInto('fraud_cases')
      .values({ id: newCaseId(), rule_id: finding.rule.id, subject_key: subjectKey, customer_id: input.customerId, action, summary: finding.summary, held_stickers: heldStickers, opened_at: input.now, last_hit_at: input.now })
      .onConflict((oc) =>
        oc
          .columns(['rule_id', 'subject_key'])
          .where('status', '=', 'open')
          .doUpdateSet((eb) => ({
            hits: eb('fraud_cases.hits', '+', 1),
            held_stickers: eb('fraud_cases.held_stickers', '+', eb.ref('excluded.held_stickers')),
            last_hit_at: eb.ref('excluded.last_hit_at'),
            summary: eb.ref('excluded.summary'),
            // The stronger of the two: block over hold over flag.
            action: sql<FraudCaseAction>`case when array_position(array['flag', 'hold', 'block'], excluded.action) > array_position(array['flag', 'hold', 'block'], fraud_cases.action) then excluded.action else fraud_cases.action end`,
          })),
      )
      .returning(['id', sql<boolean>`xmax = 0`.as('opened')])
      .executeTakeFirstOrThrow();
    const caseId = row.id;
    const opened = row.opened;
    await trx
      .insertInto('fraud_case_hits')
      .values({
        case_id: caseId,
        kind: input.kind,
        action,
        recorded_at: input.now,
        purchase_id: input.purchaseId ?? null,
        reference: input.reference ?? null,
        evidence: JSON.stringify(finding.evidence),
        held: held ? JSON.stringify(held) : null,
      })
      .execute();
    if (opened) {
      await appendOutboxEvent(trx, {
        type: 'fraud.case_opened',
        occurredAt: input.now,
        payload: { caseId, ruleId: finding.rule.id, action, kind: input.kind, customerId: input.customerId, summary: finding.summary, ...(input.purchaseId && { purchaseId: input.purchaseId }), ...(input.reference && { reference: input.reference }) },
      });
    }
    if (isPrimary) primaryCaseId = caseId;
  }
  return { primaryCaseId };
}

/**
 * Thrown inside a business transaction when a rule blocks it: the transaction rolls
 * back (nothing of the request is written) and `blockingTransaction` records the case.
 */
export class FraudBlocked extends Error {
  override readonly name = 'FraudBlocked';
  constructor(
    readonly findings: readonly FraudFinding[],
    readonly hit: { kind: HitKind; customerId: string | null; reference: string | null },
  ) {
    super('blocked by an anti-fraud rule');
  }
}

/**
 * Runs a business transaction that rules may block. A block rolls the whole request back,
 * then records the case in a transaction of its own and answers FRAUD_SUSPECTED with the
 * case id. The decision itself was taken inside the business transaction, under the
 * customer's lock, so concurrent requests cannot slip past a limit.
 */
export async function blockingTransaction<T>(db: TenantDb, now: Date, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (!(error instanceof FraudBlocked)) throw error;
    const recorded = await db.transaction().execute((trx) => recordHits(trx, { findings: error.findings, ...error.hit, now }));
    const primary = primaryFinding(error.findings)!;
    throw new AppError('FRAUD_SUSPECTED', `Refused by the anti-fraud rule ${primary.rule.id}: ${primary.summary}. Case ${recorded.primaryCaseId} is open for review.`, {
      caseId: recorded.primaryCaseId,
      ruleId: primary.rule.id,
      ruleIds: error.findings.filter((finding) => finding.rule.action === 'block').map((finding) => finding.rule.id),
    });
  }
}
