/**
 * Purchase receipts for the "purchase accrual" scenario. Used by the load worker, which
 * builds every request body itself (functions cannot cross IPC), and by the pre-check.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { GeneratedRequest } from './load-generator.ts';

/** What the load worker is told: enough to build distinct, valid purchases on its own. */
export interface PurchaseLoad {
  kind: 'purchases';
  storeCode: string;
  /** Customers are spread uniformly over this many card numbers. */
  cardCount: number;
}

export const PURCHASE_PATH = '/api/v1/pos/purchases';
export const BENCH_STORE_CODE = 'MSK-001';
export const BENCH_CARD_COUNT = 1_000;

/** The SKU the bench campaign gives bonus stickers for. */
export const BONUS_SKU = 'PROMO-COFFEE';

/** The bench campaign's rules: 1 sticker per 500.00, 14-day hold, a SKU bonus. */
export const BENCH_CAMPAIGN_RULES = {
  perAmountMinor: 50_000,
  stickersPerStep: 1,
  holdDays: 14,
  skuBonuses: [{ sku: BONUS_SKU, stickersPerUnit: 2, maxPerReceipt: 4 }],
};

interface Item {
  sku: string;
  /** Per unit, or per kg when weighed. */
  priceMinor: number;
  /** Sold by weight: quantity in kg with up to 3 decimals, from minQuantity to maxQuantity. */
  weighed?: boolean;
  minQuantity?: number;
  maxQuantity: number;
}

/** Every receipt has one of these, each at least 500.00, so every receipt earns a sticker. */
const MAIN_ITEMS: Item[] = [
  { sku: 'BEEF-1KG', priceMinor: 79_900, maxQuantity: 2 },
  { sku: 'SALMON-FILLET', priceMinor: 129_000, weighed: true, minQuantity: 0.4, maxQuantity: 1.5 },
  { sku: 'OLIVE-OIL-1L', priceMinor: 64_990, maxQuantity: 2 },
  { sku: 'WINE-RED-075', priceMinor: 99_000, maxQuantity: 3 },
  { sku: 'PAN-24CM', priceMinor: 249_000, maxQuantity: 1 },
];

/** Then one or two of these. */
const SMALL_ITEMS: Item[] = [
  { sku: 'MILK-1L', priceMinor: 8_990, maxQuantity: 4 },
  { sku: 'BREAD-WHITE', priceMinor: 5_490, maxQuantity: 2 },
  { sku: 'APPLES', priceMinor: 14_990, weighed: true, minQuantity: 0.25, maxQuantity: 3 },
  { sku: 'CHEESE-200G', priceMinor: 32_900, maxQuantity: 2 },
  { sku: BONUS_SKU, priceMinor: 39_900, maxQuantity: 3 },
  { sku: 'EGGS-10', priceMinor: 12_990, maxQuantity: 2 },
];

/** The cheapest a line of this item can be. */
const minimumAmount = (item: Item) => Math.round(item.priceMinor * (item.weighed ? (item.minQuantity ?? 0) : 1));

// Checked when loaded, so a catalogue edit cannot make some receipts silently earn nothing.
for (const item of MAIN_ITEMS) {
  if (minimumAmount(item) < BENCH_CAMPAIGN_RULES.perAmountMinor) {
    throw new Error(`bench catalogue: a line of ${item.sku} can cost less than ${BENCH_CAMPAIGN_RULES.perAmountMinor} minor units and earn no sticker`);
  }
}

const pick = <T>(list: readonly T[]): T => list[Math.floor(Math.random() * list.length)]!;

function line(item: Item): { sku: string; quantity: number; amountMinor: number } {
  // Weighed goods: whole grams between the limits; the till rounds the amount.
  const min = item.minQuantity ?? 0;
  const quantity = item.weighed
    ? Math.round((min + Math.random() * (item.maxQuantity - min)) * 1000) / 1000
    : 1 + Math.floor(Math.random() * item.maxQuantity);
  return { sku: item.sku, quantity, amountMinor: Math.round(item.priceMinor * quantity) };
}

/**
 * A source of distinct purchases: a new receipt id (unique per store across every
 * factory, thanks to the random tag) and a new Idempotency-Key for every call, a
 * customer drawn from `cardCount` cards, 2-3 lines adding up to the total, now.
 */
export function purchaseFactory(load: PurchaseLoad, prefix: string): () => GeneratedRequest {
  const tag = `${prefix}-${randomBytes(6).toString('hex')}`;
  let count = 0;
  return () => {
    count += 1;
    const main = pick(MAIN_ITEMS);
    const first = pick(SMALL_ITEMS);
    const lines = [line(main), line(first)];
    if (Math.random() < 0.5) {
      const second = pick(SMALL_ITEMS.filter((item) => item !== first));
      lines.push(line(second));
    }
    const card = Math.floor(Math.random() * load.cardCount);
    const body = {
      storeCode: load.storeCode,
      terminalId: `till-${1 + (count % 8)}`,
      cashierId: `cashier-${1 + (count % 20)}`,
      receiptId: `${tag}-${count}`,
      occurredAt: new Date().toISOString(),
      customer: { cardNumber: `7000-${String(card).padStart(6, '0')}` },
      totalMinor: lines.reduce((sum, entry) => sum + entry.amountMinor, 0),
      lines,
    };
    return { idempotencyKey: randomUUID(), body: JSON.stringify(body) };
  };
}
