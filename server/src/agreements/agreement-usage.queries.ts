import { sql } from 'kysely';
import type { CoalitionDb } from '../db/database.ts';
import { AppError } from '../errors/app-error.ts';
import { monthOf, periodAround } from '../system/calendar.ts';
import type { AgreementRow } from './agreement.ts';

type CappedTerms = Pick<AgreementRow, 'id' | 'monthly_cap' | 'timezone'>;

/**
 * Counts one issued code against the agreement's monthly cap: one conditional upsert
 * of the month's counter (a month in the agreement's time zone), which holds under any
 * concurrency because every exchange under the agreement goes through this row.
 * Returns the month counted in (null when the agreement has no cap), or throws
 * AGREEMENT_CAP_REACHED.
 */
export async function countAgainstCap(db: CoalitionDb, agreement: CappedTerms, now: Date): Promise<string | null> {
  if (agreement.monthly_cap === null) return null;
  const period = monthOf(now, agreement.timezone);
  const counted = await db
    .insertInto('agreement_usage')
    .values({ agreement_id: agreement.id, period, issued: 1 })
    .onConflict((oc) =>
      oc
        .columns(['agreement_id', 'period'])
        .doUpdateSet({ issued: sql`agreement_usage.issued + 1` })
        .where('agreement_usage.issued', '<', agreement.monthly_cap),
    )
    .returning('issued')
    .executeTakeFirst();
  if (!counted) {
    const resetsAt = periodAround(now, 'month', agreement.timezone).end.toISOString();
    throw new AppError('AGREEMENT_CAP_REACHED', `The agreement's cap of ${agreement.monthly_cap} codes this month is used up; it frees up at ${resetsAt}.`, {
      agreementId: agreement.id,
      monthlyCap: agreement.monthly_cap,
      resetsAt,
    });
  }
  return period;
}

/** A cancelled voucher gives its place back to the month it was counted in. */
export async function releaseFromCap(db: CoalitionDb, agreementId: string, period: string): Promise<void> {
  await db
    .updateTable('agreement_usage')
    .set((eb) => ({ issued: eb('issued', '-', 1) }))
    .where('agreement_id', '=', agreementId)
    .where('period', '=', period)
    .where('issued', '>', 0)
    .execute();
}

/** Codes each capped agreement may still issue this month (null: no cap). */
export async function capLeftThisMonth(db: CoalitionDb, agreements: readonly CappedTerms[], now: Date): Promise<Map<string, number | null>> {
  const capped = agreements.filter((agreement) => agreement.monthly_cap !== null);
  const rows = capped.length
    ? await db
        .selectFrom('agreement_usage')
        .select(['agreement_id', 'period', 'issued'])
        .where('agreement_id', 'in', capped.map((agreement) => agreement.id))
        .execute()
    : [];
  return new Map(
    agreements.map((agreement) => {
      if (agreement.monthly_cap === null) return [agreement.id, null];
      const issued = rows.find((row) => row.agreement_id === agreement.id && row.period === monthOf(now, agreement.timezone))?.issued ?? 0;
      return [agreement.id, Math.max(0, agreement.monthly_cap - issued)];
    }),
  );
}
