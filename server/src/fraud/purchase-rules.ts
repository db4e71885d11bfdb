import { sql } from 'kysely';
import type { TenantDb } from '../db/database.ts';
import { localDate, periodAround } from '../system/calendar.ts';
import type { FraudFinding } from './record-cases.ts';
import { activeRule, type RuleSet } from './rules.ts';

const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;
const MAX_EVIDENCE = 50;

/** The receipt's day in the issuer's time zone, as YYYY-MM-DD. */
function localDay(at: Date, timeZone: string): string {
  const { year, month, day } = localDate(at, timeZone);
  return `${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

export interface PurchaseFacts {
  customerId: string;
  purchaseId: string;
  storeCode: string;
  cashierId: string | null;
  occurredAt: Date;
  /** Stickers this receipt would credit, all campaigns together. */
  stickers: number;
  timezone: string;
}

export type ReceiptEvidence = { purchaseId: string; receiptId: string; storeCode: string; terminalId: string; cashierId: string | null; occurredAt: string; totalMinor: number };

/** The card's receipts matching a filter, for a case's evidence (only read when a rule fires). */
async function receipts(
  db: TenantDb,
  customerId: string,
  window: { from: Date; to: Date; fromInclusive?: boolean },
  filter: { cashierId?: string; storeCode?: string; otherThanStore?: string } = {},
): Promise<ReceiptEvidence[]> {
  let query = db
    .selectFrom('purchases')
    .select(['id', 'receipt_id', 'store_code', 'terminal_id', 'cashier_id', 'occurred_at', 'total_minor'])
    .where('customer_id', '=', customerId)
    .where('occurred_at', window.fromInclusive ? '>=' : '>', window.from)
    .where('occurred_at', '<', window.to);
  if (filter.cashierId !== undefined) query = query.where('cashier_id', '=', filter.cashierId);
  if (filter.storeCode !== undefined) query = query.where('store_code', '=', filter.storeCode);
  if (filter.otherThanStore !== undefined) query = query.where('store_code', '<>', filter.otherThanStore);
  const rows = await query.orderBy('occurred_at').limit(MAX_EVIDENCE).execute();
  return rows.map((row) => ({
    purchaseId: row.id,
    receiptId: row.receipt_id,
    storeCode: row.store_code,
    terminalId: row.terminal_id,
    cashierId: row.cashier_id,
    occurredAt: row.occurred_at.toISOString(),
    totalMinor: Number(row.total_minor),
  }));
}

/**
 * The purchase-time rules, judged on the card's receipts around this one (already
 * inserted, so it counts itself). One indexed read of the card's last 30 days answers
 * every rule; evidence is read only for a rule that fires. Runs under the customer's
 * lock, so two tills cannot both squeeze under a limit.
 */
export async function checkPurchase(db: TenantDb, rules: RuleSet, facts: PurchaseFacts): Promise<FraudFinding[]> {
  const shift = activeRule(rules, 'cashier.own_card_shift');
  const share = activeRule(rules, 'cashier.own_card_share');
  const daily = activeRule(rules, 'velocity.daily_purchases');
  const volume = activeRule(rules, 'velocity.stickers_30d');
  const hop = activeRule(rules, 'velocity.store_hop');
  if (!shift && !share && !daily && !volume && !hop) return [];

  const t = facts.occurredAt;
  const day = periodAround(t, 'day', facts.timezone);
  const shiftFrom = new Date(t.getTime() - (shift?.params.shiftHours ?? 12) * HOUR_MS);
  const monthFrom = new Date(t.getTime() - 30 * DAY_MS);
  const hopMs = (hop?.params.withinMinutes ?? 0) * 60 * 1000;
  const hopFrom = new Date(t.getTime() - hopMs);
  const hopTo = new Date(t.getTime() + hopMs);
  const from = new Date(Math.min(monthFrom.getTime(), day.start.getTime(), hopFrom.getTime()));
  const to = new Date(Math.max(day.end.getTime(), hopTo.getTime(), t.getTime() + 1));
  const cashier = facts.cashierId;

  const stats = await db
    .selectFrom('purchases')
    .select([
      sql<string>`count(*) filter (where occurred_at >= ${day.start} and occurred_at <= ${t})`.as('dayCount'),
      sql<string>`count(*) filter (where store_code = ${facts.storeCode} and cashier_id = ${cashier} and occurred_at > ${shiftFrom} and occurred_at <= ${t})`.as('shiftCount'),
      sql<string>`count(*) filter (where occurred_at > ${monthFrom} and occurred_at <= ${t})`.as('monthCount'),
      sql<string>`count(*) filter (where store_code = ${facts.storeCode} and cashier_id = ${cashier} and occurred_at > ${monthFrom} and occurred_at <= ${t})`.as('monthCashierCount'),
      sql<number>`count(distinct store_code) filter (where store_code <> ${facts.storeCode} and occurred_at > ${hopFrom} and occurred_at < ${hopTo})`.as('hopStores'),
    ])
    .select((eb) =>
      volume
        ? eb
            .selectFrom('sticker_ledger as l')
            .innerJoin('purchases as p', 'p.id', 'l.purchase_id')
            .select(sql<string>`coalesce(sum(l.amount), 0)`.as('n'))
            .where('l.customer_id', '=', facts.customerId)
            .where('l.kind', '=', 'accrual')
            .where('p.occurred_at', '>', monthFrom)
            .where('p.occurred_at', '<=', t)
            .as('monthStickers')
        : sql<string>`0`.as('monthStickers'),
    )
    .where('customer_id', '=', facts.customerId)
    .where('occurred_at', '>', from)
    .where('occurred_at', '<', to)
    .executeTakeFirstOrThrow();

  const findings: FraudFinding[] = [];
  const shiftCount = Number(stats.shiftCount);
  if (shift && cashier !== null && shiftCount > shift.params.maxReceipts!) {
    findings.push({
      rule: shift,
      summary: `${shiftCount} receipts on this card by cashier ${cashier} at ${facts.storeCode} within ${shift.params.shiftHours} h (more than ${shift.params.maxReceipts})`,
      evidence: { cashierId: cashier, storeCode: facts.storeCode, receiptsInShift: shiftCount, receipts: await receipts(db, facts.customerId, { from: shiftFrom, to: new Date(t.getTime() + 1) }, { cashierId: cashier, storeCode: facts.storeCode }) },
    });
  }
  const monthCount = Number(stats.monthCount);
  const monthCashierCount = Number(stats.monthCashierCount);
  if (share && cashier !== null && monthCount >= share.params.minReceipts! && monthCashierCount * 100 > share.params.maxSharePercent! * monthCount) {
    const percent = Math.round((monthCashierCount * 100) / monthCount);
    findings.push({
      rule: share,
      summary: `cashier ${cashier} at ${facts.storeCode} rang up ${monthCashierCount} of this card's ${monthCount} receipts in 30 days (${percent}%, more than ${share.params.maxSharePercent}%)`,
      evidence: { cashierId: cashier, storeCode: facts.storeCode, receipts30d: monthCount, byCashier30d: monthCashierCount, sharePercent: percent },
    });
  }
  const dayCount = Number(stats.dayCount);
  if (daily && dayCount > daily.params.maxPurchases!) {
    findings.push({
      rule: daily,
      summary: `${dayCount} receipts on this card on ${localDay(t, facts.timezone)} (more than ${daily.params.maxPurchases})`,
      evidence: { day: { from: day.start.toISOString(), to: day.end.toISOString() }, receiptsThatDay: dayCount, receipts: await receipts(db, facts.customerId, { from: day.start, to: new Date(t.getTime() + 1), fromInclusive: true }) },
    });
  }
  const monthStickers = Number(stats.monthStickers) + facts.stickers;
  if (volume && facts.stickers > 0 && monthStickers > volume.params.maxStickers!) {
    findings.push({
      rule: volume,
      summary: `${monthStickers} stickers on this card in 30 days (more than ${volume.params.maxStickers})`,
      evidence: { stickers30d: monthStickers, thisReceipt: facts.stickers, receipts30d: monthCount },
    });
  }
  if (hop && Number(stats.hopStores) > 0) {
    const others = await receipts(db, facts.customerId, { from: hopFrom, to: hopTo }, { otherThanStore: facts.storeCode });
    findings.push({
      rule: hop,
      summary: `this card was used at ${[...new Set(others.map((receipt) => receipt.storeCode))].join(', ')} within ${hop.params.withinMinutes} min of a receipt at ${facts.storeCode}`,
      evidence: { storeCode: facts.storeCode, occurredAt: t.toISOString(), otherStores: others },
    });
  }
  return findings;
}
