import { sql } from 'kysely';
import type { CoalitionDb, TenantDb } from '../db/database.ts';
import { periodAround } from '../system/calendar.ts';
import type { FraudFinding } from './record-cases.ts';
import { activeRule, type RuleSet } from './rules.ts';

const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;

export interface ExchangeFacts {
  issuerTenantId: string;
  customer: { id: string; created_at: Date };
  rewardId: string;
  timezone: string;
  now: Date;
}

/**
 * The exchange-time rules, judged before anything is spent, under the customer's lock:
 * every exchange of one customer queues on that lock, so a daily cap of 2 lets exactly
 * 2 of 20 simultaneous exchanges through.
 */
export async function checkExchange(issuerDb: TenantDb, coalition: CoalitionDb, rules: RuleSet, facts: ExchangeFacts): Promise<FraudFinding[]> {
  const findings: FraudFinding[] = [];
  const { now } = facts;

  const cap = activeRule(rules, 'exchange.daily_cap');
  if (cap) {
    const day = periodAround(now, 'day', facts.timezone);
    const today = await coalition
      .selectFrom('vouchers')
      .select(sql<string>`count(*)`.as('n'))
      .where('issuer_tenant_id', '=', facts.issuerTenantId)
      .where('customer_id', '=', facts.customer.id)
      .where('issued_at', '>=', day.start)
      .where('issued_at', '<', day.end)
      .executeTakeFirstOrThrow();
    const used = Number(today.n);
    if (used >= cap.params.maxExchanges!) {
      findings.push({
        rule: cap,
        summary: `this would be exchange ${used + 1} today (at most ${cap.params.maxExchanges} a day)`,
        evidence: { exchangesToday: used, rewardId: facts.rewardId, day: { from: day.start.toISOString(), to: day.end.toISOString() }, resetsAt: day.end.toISOString() },
      });
    }
  }

  const cooldown = activeRule(rules, 'exchange.new_card_cooldown');
  if (cooldown) {
    const ageMs = now.getTime() - facts.customer.created_at.getTime();
    if (ageMs < cooldown.params.hours! * HOUR_MS) {
      const until = new Date(facts.customer.created_at.getTime() + cooldown.params.hours! * HOUR_MS);
      findings.push({
        rule: cooldown,
        summary: `the card was enrolled ${Math.floor(ageMs / 60_000)} min ago (exchanges from ${until.toISOString()})`,
        evidence: { enrolledAt: facts.customer.created_at.toISOString(), exchangesFrom: until.toISOString(), rewardId: facts.rewardId },
      });
    }
  }

  const shared = activeRule(rules, 'exchange.shared_phone');
  if (shared) {
    const linked = await issuerDb
      .selectFrom('customer_phone_links as mine')
      .innerJoin('customer_phone_links as other', 'other.phone_hash', 'mine.phone_hash')
      .innerJoin('customers as c', 'c.id', 'other.customer_id')
      .select(['other.customer_id', 'c.card_number', 'c.phone_hint'])
      .distinct()
      .where('mine.customer_id', '=', facts.customer.id)
      .execute();
    if (linked.length > 1) {
      const vouchers = await coalition
        .selectFrom('vouchers')
        .select(['customer_id', sql<string>`count(*)`.as('n')])
        .where('issuer_tenant_id', '=', facts.issuerTenantId)
        .where(
          'customer_id',
          'in',
          linked.map((row) => row.customer_id),
        )
        .where('issued_at', '>', new Date(now.getTime() - 30 * DAY_MS))
        .groupBy('customer_id')
        .execute();
      const total = vouchers.reduce((sum, row) => sum + Number(row.n), 0) + 1;
      if (total > shared.params.maxVouchers!) {
        const byCustomer = new Map(vouchers.map((row) => [row.customer_id, Number(row.n)]));
        findings.push({
          rule: shared,
          summary: `${linked.length} cards that have shared a phone would hold ${total} vouchers from 30 days (more than ${shared.params.maxVouchers})`,
          evidence: {
            rewardId: facts.rewardId,
            vouchers30d: total,
            cards: linked.map((row) => ({ customerId: row.customer_id, cardNumber: row.card_number, phoneHint: row.phone_hint ? `…${row.phone_hint}` : null, vouchers30d: byCustomer.get(row.customer_id) ?? 0 })),
          },
        });
      }
    }
  }
  return findings;
}
