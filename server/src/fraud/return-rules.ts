import { sql } from 'kysely';
import type { TenantDb } from '../db/database.ts';
import type { FraudFinding } from './record-cases.ts';
import { activeRule, type RuleSet } from './rules.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * The return-time rules, over the card's last 90 days (this return included). They can
 * only flag: the goods are back and the money refunded at the till, so refusing to record
 * the return would leave the customer the stickers. A reviewer can block the card.
 */
export async function checkReturn(db: TenantDb, rules: RuleSet, facts: { customerId: string; occurredAt: Date; leftOwing: boolean }): Promise<FraudFinding[]> {
  const spent = activeRule(rules, 'returns.spent_stickers');
  const ratio = activeRule(rules, 'returns.ratio');
  if (!(spent && facts.leftOwing) && !ratio) return [];
  const t = facts.occurredAt;
  const from = new Date(t.getTime() - 90 * DAY_MS);
  const findings: FraudFinding[] = [];

  if (spent && facts.leftOwing) {
    // Games, not return documents: two partial returns of one receipt are one game.
    const games = await db
      .selectFrom('purchase_returns as r')
      .innerJoin('purchases as p', 'p.id', 'r.purchase_id')
      .select(sql<string>`count(distinct r.purchase_id)`.as('n'))
      .where('p.customer_id', '=', facts.customerId)
      .where('r.left_owing', '=', true)
      .where('r.occurred_at', '>', from)
      .where('r.occurred_at', '<=', t)
      .executeTakeFirstOrThrow();
    const owingGames = Number(games.n);
    if (owingGames > spent.params.maxReturns!) {
      const recent = await db
        .selectFrom('purchase_returns as r')
        .innerJoin('purchases as p', 'p.id', 'r.purchase_id')
        .select(['r.return_id', 'r.occurred_at', 'r.returned_minor', 'p.receipt_id', 'p.store_code'])
        .where('p.customer_id', '=', facts.customerId)
        .where('r.left_owing', '=', true)
        .where('r.occurred_at', '>', from)
        .where('r.occurred_at', '<=', t)
        .orderBy('r.occurred_at')
        .limit(50)
        .execute();
      findings.push({
        rule: spent,
        summary: `${owingGames} receipts in 90 days were returned after their stickers were exchanged (more than ${spent.params.maxReturns})`,
        evidence: {
          owingReceipts90d: owingGames,
          returns: recent.map((row) => ({ returnId: row.return_id, receiptId: row.receipt_id, storeCode: row.store_code, occurredAt: row.occurred_at.toISOString(), returnedMinor: Number(row.returned_minor) })),
        },
      });
    }
  }

  if (ratio) {
    // The same receipts on both sides: what the card bought in the 90 days up to this
    // return, and what it has returned of those receipts so far.
    const [returned, bought] = await Promise.all([
      db
        .selectFrom('purchase_returns as r')
        .innerJoin('purchases as p', 'p.id', 'r.purchase_id')
        .select([sql<string>`count(*)`.as('returns'), sql<string>`coalesce(sum(r.returned_minor), 0)`.as('minor')])
        .where('p.customer_id', '=', facts.customerId)
        .where('p.occurred_at', '>', from)
        .where('p.occurred_at', '<=', t)
        .where('r.occurred_at', '<=', t)
        .executeTakeFirstOrThrow(),
      db
        .selectFrom('purchases')
        .select(sql<string>`coalesce(sum(total_minor), 0)`.as('minor'))
        .where('customer_id', '=', facts.customerId)
        .where('occurred_at', '>', from)
        .where('occurred_at', '<=', t)
        .executeTakeFirstOrThrow(),
    ]);
    const window = { returns: returned.returns, returnedMinor: returned.minor, boughtMinor: bought.minor };
    const returnCount = Number(window.returns);
    const boughtMinor = Number(window.boughtMinor);
    const returnedMinor = Number(window.returnedMinor);
    if (returnCount >= ratio.params.minReturns! && boughtMinor > 0 && returnedMinor * 100 > ratio.params.maxPercent! * boughtMinor) {
      const percent = Math.round((returnedMinor * 100) / boughtMinor);
      findings.push({
        rule: ratio,
        summary: `returned ${percent}% of what this card bought in 90 days, in ${returnCount} returns (more than ${ratio.params.maxPercent}%)`,
        evidence: { boughtMinor90d: boughtMinor, returnedMinor90d: returnedMinor, returns90d: returnCount, returnPercent: percent },
      });
    }
  }
  return findings;
}
