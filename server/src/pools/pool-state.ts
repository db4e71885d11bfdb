import { sql } from 'kysely';
import { z } from 'zod';
import type { TenantHandle } from '../auth/principal.ts';
import { requireOffer } from '../offers/manage-offers.ts';
import { codeCountsSchema } from './batch.ts';
import { countCodes } from './manage-batches.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

export const poolStateOutputSchema = z.object({
  offerId: z.string(),
  stockState: z.enum(['ok', 'low', 'empty']),
  lowStockThreshold: z.number(),
  counts: codeCountsSchema.describe('Codes by status. expired includes available codes past their date (or the offer codesValidUntil) that the sweep (every minute) has not moved yet.'),
  issuedLast7Days: z.number().describe('Codes issued from the start of the UTC day six days ago until now: the days of `daily`.'),
  issueRatePerDay: z.number().describe('Codes issued per day, averaged over the last 7 days.'),
  daysUntilEmpty: z.number().nullable().describe('available / issueRatePerDay, rounded down; null when nothing was issued in the last 7 days.'),
  daily: z
    .array(
      z.object({
        date: z.string(),
        issued: z.number(),
        redeemed: z.number().describe('Codes of the offer redeemed that day and not reversed since.'),
      }),
    )
    .describe('Codes issued and redeemed per UTC day, the last 7 days, oldest first.'),
});
export type PoolState = z.infer<typeof poolStateOutputSchema>;

/**
 * An offer's pool at a glance. Counts come from the (batch, status) index and the
 * available-codes index: index scans, no table scan, also for a pool of millions.
 */
export async function getPoolState(tenant: TenantHandle, offerId: string, now: Date): Promise<PoolState> {
  const offer = await requireOffer(tenant.db, offerId);
  const counts = await countCodes(tenant.db, { offerId }, now);
  if (offer.codes_valid_until && offer.codes_valid_until <= now) {
    // Past the offer's codesValidUntil no code is valid; the sweep marks them expired.
    counts.expired += counts.available;
    counts.available = 0;
  }

  const since = new Date(Math.floor(now.getTime() / DAY_MS) * DAY_MS - 6 * DAY_MS);
  const issued = await tenant.db
    .selectFrom('codes')
    .select([sql<string>`to_char(issued_at at time zone 'UTC', 'YYYY-MM-DD')`.as('day'), sql<number>`count(*)::integer`.as('n')])
    .where('offer_id', '=', offerId)
    .where('issued_at', '>=', since)
    .where('issued_at', '<=', now)
    .groupBy(sql`1`)
    .execute();
  // A redeemed code was issued first: the issued-codes index narrows this to the offer's handed-out codes.
  // A reversal clears redeemed_at, so reversed redemptions do not count.
  const redeemed = await tenant.db
    .selectFrom('codes')
    .select([sql<string>`to_char(redeemed_at at time zone 'UTC', 'YYYY-MM-DD')`.as('day'), sql<number>`count(*)::integer`.as('n')])
    .where('offer_id', '=', offerId)
    .where('issued_at', 'is not', null)
    .where('status', '=', 'redeemed')
    .where('redeemed_at', '>=', since)
    .where('redeemed_at', '<=', now)
    .groupBy(sql`1`)
    .execute();
  const issuedLast7Days = issued.reduce((sum, row) => sum + row.n, 0);
  const issuedPerDay = new Map(issued.map((row) => [row.day, row.n]));
  const redeemedPerDay = new Map(redeemed.map((row) => [row.day, row.n]));
  const daily = Array.from({ length: 7 }, (_, i) => {
    const date = new Date(since.getTime() + i * DAY_MS).toISOString().slice(0, 10);
    return { date, issued: issuedPerDay.get(date) ?? 0, redeemed: redeemedPerDay.get(date) ?? 0 };
  });
  const issueRatePerDay = Math.round((issuedLast7Days / 7) * 100) / 100;
  return {
    offerId,
    stockState: offer.stock_state,
    lowStockThreshold: offer.low_stock_threshold,
    counts,
    issuedLast7Days,
    issueRatePerDay,
    daysUntilEmpty: issuedLast7Days === 0 ? null : Math.floor(counts.available / (issuedLast7Days / 7)),
    daily,
  };
}
