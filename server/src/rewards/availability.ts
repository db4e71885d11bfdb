import { sql } from 'kysely';
import type { CoalitionDb } from '../db/database.ts';
import { periodAround } from '../system/calendar.ts';
import type { RewardRow } from './reward.ts';

export interface LimitUsage {
  total: { limit: number; used: number } | null;
  period: { limit: number; used: number; period: 'day' | 'week' | 'month'; resetsAt: string } | null;
  /** Which limit a further exchange would break. */
  reached: 'total' | 'period' | null;
}

/**
 * How much of a reward's per-customer limits the customer has used: vouchers of the
 * reward not cancelled, in all and in the current calendar period of the issuer's time
 * zone. Exact when called under the customer's row lock (the exchange holds it).
 */
export async function limitUsage(db: CoalitionDb, input: { issuerTenantId: string; customerId: string; reward: RewardRow; timezone: string; now: Date }): Promise<LimitUsage> {
  const { reward } = input;
  if (reward.limit_total === null && reward.limit_per_period === null) return { total: null, period: null, reached: null };
  const window = reward.limit_period ? periodAround(input.now, reward.limit_period, input.timezone) : null;
  const row = await db
    .selectFrom('vouchers')
    .select([
      sql<number>`count(*)::integer`.as('total'),
      (window ? sql<number>`(count(*) filter (where issued_at >= ${window.start} and issued_at < ${window.end}))::integer` : sql<number>`0`).as('in_period'),
    ])
    .where('issuer_tenant_id', '=', input.issuerTenantId)
    .where('customer_id', '=', input.customerId)
    .where('reward_id', '=', reward.id)
    .where('status', '<>', 'cancelled')
    .executeTakeFirstOrThrow();
  const total = reward.limit_total !== null ? { limit: reward.limit_total, used: row.total } : null;
  const period =
    reward.limit_per_period !== null && reward.limit_period !== null && window
      ? { limit: reward.limit_per_period, used: row.in_period, period: reward.limit_period, resetsAt: window.end.toISOString() }
      : null;
  const reached = total && total.used >= total.limit ? 'total' : period && period.used >= period.limit ? 'period' : null;
  return { total, period, reached };
}
