import { z } from 'zod';

/**
 * One version of a campaign's accrual rules. A purchase is judged by the version in
 * effect at its time, so changing rules never rewrites what old purchases earned.
 */
export const skuBonusSchema = z.strictObject({
  sku: z.string().trim().min(1).max(64),
  stickersPerUnit: z.number().int().min(1).max(1000),
  maxPerReceipt: z.number().int().min(1).max(100_000).nullable().default(null),
});

export const accrualRulesSchema = z.strictObject({
  /** N stickers for each full `perAmountMinor` of the receipt total. */
  perAmountMinor: z.number().int().min(1).max(1e12),
  stickersPerStep: z.number().int().min(1).max(1000).default(1),
  minTotalMinor: z.number().int().min(0).max(1e12).default(0),
  maxPerReceipt: z.number().int().min(1).max(100_000).nullable().default(null),
  skuBonuses: z
    .array(skuBonusSchema)
    .max(500)
    .default([])
    .refine((bonuses) => new Set(bonuses.map((b) => b.sku)).size === bonuses.length, 'each SKU may appear once'),
  /** Days stickers stay pending: the returns window. */
  holdDays: z.number().int().min(0).max(365).default(14),
});

export type AccrualRules = z.infer<typeof accrualRulesSchema>;

/** No receipt earns more than this, whatever the rules say: keeps counts far from overflow. */
export const MAX_STICKERS_PER_RECEIPT = 100_000;

export interface ReceiptLine {
  sku: string;
  quantity: number;
  amountMinor: number;
}

export interface AccrualBreakdown {
  base: number;
  bonus: number;
  /** What the receipt earns after the per-receipt cap. */
  total: number;
}

/**
 * Stickers a receipt earns under one rules version. Pure: the same receipt and rules
 * always earn the same stickers, which is what makes returns reversible exactly.
 */
export function computeAccrual(rules: AccrualRules, receipt: { totalMinor: number; lines: readonly ReceiptLine[] }): AccrualBreakdown {
  if (receipt.totalMinor < rules.minTotalMinor || receipt.totalMinor <= 0) return { base: 0, bonus: 0, total: 0 };
  const base = Math.floor(receipt.totalMinor / rules.perAmountMinor) * rules.stickersPerStep;
  let bonus = 0;
  for (const rule of rules.skuBonuses) {
    // Weighted goods (0.75 kg) earn per whole unit only.
    // Free lines (amount 0) earn no bonus: a bonus rewards buying, not scanning.
    const units = receipt.lines
      .filter((line) => line.sku === rule.sku && line.amountMinor > 0)
      .reduce((sum, line) => sum + Math.max(0, Math.floor(line.quantity)), 0);
    const earned = units * rule.stickersPerUnit;
    bonus += rule.maxPerReceipt === null ? earned : Math.min(earned, rule.maxPerReceipt);
  }
  const cap = Math.min(rules.maxPerReceipt ?? MAX_STICKERS_PER_RECEIPT, MAX_STICKERS_PER_RECEIPT);
  return { base, bonus, total: Math.min(base + bonus, cap) };
}

/**
 * Stickers to take back when `returnedMinor` of a `totalMinor` receipt has been
 * returned so far, given `credited` stickers earned and `alreadyReversed` taken back by
 * earlier returns. Proportional and cumulative, so a receipt returned in parts never
 * loses more than it earned and a full return takes back exactly what it earned.
 */
export function stickersToReverse(input: { credited: number; alreadyReversed: number; totalMinor: number; returnedMinor: number }): number {
  const { credited, alreadyReversed, totalMinor, returnedMinor } = input;
  if (credited <= 0 || totalMinor <= 0) return 0;
  const returned = Math.min(returnedMinor, totalMinor);
  // Integer arithmetic: amounts up to 10^12 minor units times stickers overflow doubles.
  const targetReversed = returned >= totalMinor ? credited : Number((BigInt(credited) * BigInt(returned)) / BigInt(totalMinor));
  return Math.max(0, targetReversed - alreadyReversed);
}
