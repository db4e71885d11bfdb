/**
 * A synthetic week of one issuer's tills, for measuring the anti-fraud rules against a
 * population whose truth is known (test/fraud-scenarios.test.ts, docs/fraud.md).
 *
 * Deterministic: every random choice comes from one seeded PRNG (mulberry32), so the
 * same seed gives the same week, receipt for receipt. Times are real instants; the
 * stores keep Moscow hours (UTC+3, no daylight saving), so `start` must be a local
 * midnight and "08:00" below means 08:00 in the store.
 *
 * The shape of the week:
 * - `stores` stores (MSK-001…), open 08:00-22:00, each with three staffed tills and a
 *   self-checkout (no cashier id). Seven cashiers per store; every day three work the
 *   morning shift (08:00-15:00), three the evening shift (15:00-22:00), one is off, on a
 *   rota that moves by one each day. A cashier keeps one till for the shift.
 * - Honest customers, each with a home store: ~12% shop (almost) daily, ~73% two to four
 *   days a week, the rest once. Each keeps a favourite time of day; a few shop twice on
 *   a day (at least 3 h apart); ~15% also use a second store now and then (the same
 *   3 h apart). Receipts 300-5,000 RUB (log-uniform), lines adding up to the total.
 *   About 2% of receipts get one line returned within 1-30 h; about half of those who
 *   earn enough instant stickers exchange them once.
 * - Abusers: a cashier who scans their own card for customers without one (10-25 times
 *   a shift, on every shift they work); a card used at two stores minutes apart (shared
 *   or cloned), on two evenings; a return gamer (buys, exchanges the stickers, returns
 *   the goods, twice); a "velocity" card with 8-11 receipts a day on four days.
 */

export const MINUTE_MS = 60 * 1000;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;

export type AbuserKind = 'cashier_own_card' | 'store_hop' | 'return_gamer' | 'velocity';

/** The rule each abuser is meant to be caught by. */
export const INTENDED_RULE: Record<AbuserKind, string> = {
  cashier_own_card: 'cashier.own_card_shift',
  store_hop: 'velocity.store_hop',
  return_gamer: 'returns.spent_stickers',
  velocity: 'velocity.daily_purchases',
};

export type Profile = 'daily' | 'regular' | 'light' | 'abuser';

export interface SyntheticCard {
  cardNumber: string;
  /** E.164; null for customers enrolled by card only. */
  phone: string | null;
  role: 'honest' | AbuserKind;
  profile: Profile;
  homeStore: string;
  secondStore: string | null;
}

export interface ReceiptLine {
  sku: string;
  quantity: number;
  amountMinor: number;
}

export interface SyntheticPurchase {
  kind: 'purchase';
  at: Date;
  cardNumber: string;
  storeCode: string;
  terminalId: string;
  /** null at the self-checkout. */
  cashierId: string | null;
  receiptId: string;
  totalMinor: number;
  lines: ReceiptLine[];
}

export interface SyntheticReturn {
  kind: 'return';
  at: Date;
  cardNumber: string;
  storeCode: string;
  receiptId: string;
  returnId: string;
  /** The returned lines; null returns the whole receipt. */
  lines: ReceiptLine[] | null;
}

export interface SyntheticExchange {
  kind: 'exchange';
  at: Date;
  cardNumber: string;
}

export type SyntheticEvent = SyntheticPurchase | SyntheticReturn | SyntheticExchange;

export interface SyntheticStore {
  code: string;
  staffedTills: string[];
  selfCheckout: string;
  cashiers: string[];
}

export interface SyntheticWeek {
  seed: number;
  start: Date;
  end: Date;
  stores: SyntheticStore[];
  cards: SyntheticCard[];
  /** Everything that happens, in time order (a card's events never share an instant). */
  events: SyntheticEvent[];
  purchases: SyntheticPurchase[];
  truth: {
    honest: string[];
    abusers: Record<AbuserKind, string>;
    /** The cashier behind cashier_own_card. */
    cashier: { cashierId: string; storeCode: string };
  };
}

export interface SyntheticWeekOptions {
  seed?: number;
  /** A local (UTC+3) midnight: the first day of the week. */
  start: Date;
  days?: number;
  stores?: number;
  honestCustomers?: number;
  /** The instant (no hold) campaign: who can afford an exchange, and the gamer's receipts. */
  instant: { perAmountMinor: number; stickerCost: number };
}

/** mulberry32: small, fast, good enough for test data; never Math.random. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Rng {
  private readonly next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  float(min = 0, max = 1): number {
    return min + (max - min) * this.next();
  }
  /** Inclusive of both ends. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
  /** `count` distinct items, in their original order. */
  sample<T>(items: readonly T[], count: number): T[] {
    const indexes = items.map((_, i) => i);
    for (let i = indexes.length - 1; i > 0; i -= 1) {
      const j = Math.floor(this.next() * (i + 1));
      [indexes[i], indexes[j]] = [indexes[j]!, indexes[i]!];
    }
    return indexes
      .slice(0, count)
      .sort((a, b) => a - b)
      .map((i) => items[i]!);
  }
}

const CATALOG: readonly { sku: string; weighed: boolean }[] = [
  { sku: 'MILK-1L', weighed: false },
  { sku: 'BREAD-WHITE', weighed: false },
  { sku: 'EGGS-10', weighed: false },
  { sku: 'BEEF', weighed: true },
  { sku: 'CHICKEN', weighed: true },
  { sku: 'APPLES', weighed: true },
  { sku: 'BANANAS', weighed: true },
  { sku: 'POTATOES', weighed: true },
  { sku: 'CHEESE-200G', weighed: false },
  { sku: 'COFFEE-250G', weighed: false },
  { sku: 'TEA-100', weighed: false },
  { sku: 'PASTA-500G', weighed: false },
  { sku: 'RICE-1KG', weighed: false },
  { sku: 'YOGURT', weighed: false },
  { sku: 'BUTTER-180G', weighed: false },
  { sku: 'JUICE-1L', weighed: false },
  { sku: 'WATER-5L', weighed: false },
  { sku: 'DETERGENT', weighed: false },
  { sku: 'SHAMPOO', weighed: false },
  { sku: 'CHOCOLATE', weighed: false },
];

const MIN_RECEIPT_MINOR = 30_000;
const MAX_RECEIPT_MINOR = 500_000;
/** Favourite times of day (local hours) and how many customers keep each. */
const WINDOWS: readonly { from: number; to: number; weight: number }[] = [
  { from: 8, to: 10.5, weight: 0.25 },
  { from: 12, to: 14.5, weight: 0.25 },
  { from: 17, to: 21.5, weight: 0.5 },
];
const OPENS = 8;
const CLOSES = 22;
const SHIFT_CHANGE = 15;

/** Lines that add up exactly to the total. */
function receiptLines(rng: Rng, totalMinor: number): ReceiptLine[] {
  const count = Math.max(1, Math.min(14, Math.round((totalMinor / 30_000) * rng.float(0.6, 1.4))));
  const weights = Array.from({ length: count }, () => rng.float(0.3, 1.3));
  const sum = weights.reduce((acc, weight) => acc + weight, 0);
  const amounts = weights.map((weight) => Math.floor((totalMinor * weight) / sum));
  amounts[count - 1]! += totalMinor - amounts.reduce((acc, amount) => acc + amount, 0);
  return amounts.map((amountMinor) => {
    const item = rng.pick(CATALOG);
    return { sku: item.sku, quantity: item.weighed ? Math.round(rng.float(0.3, 2) * 1000) / 1000 : rng.int(1, 3), amountMinor };
  });
}

/** Log-uniform 300-5,000 RUB: many small baskets, a few big ones (median ~1,200). */
function receiptTotal(rng: Rng): number {
  return Math.round(Math.exp(rng.float(Math.log(MIN_RECEIPT_MINOR), Math.log(MAX_RECEIPT_MINOR))));
}

function unique(used: Set<string>, make: () => string): string {
  for (;;) {
    const value = make();
    if (!used.has(value)) {
      used.add(value);
      return value;
    }
  }
}

export function syntheticWeek(options: SyntheticWeekOptions): SyntheticWeek {
  const seed = options.seed ?? 20261102;
  const rng = new Rng(seed);
  const days = options.days ?? 7;
  const start = options.start;
  const end = new Date(start.getTime() + days * DAY_MS);
  const at = (day: number, localHour: number) => new Date(start.getTime() + day * DAY_MS + Math.round(localHour * 3600) * 1000);
  const localHourOf = (moment: Date) => ((moment.getTime() - start.getTime()) % DAY_MS) / HOUR_MS;
  const dayOf = (moment: Date) => Math.floor((moment.getTime() - start.getTime()) / DAY_MS);

  const stores: SyntheticStore[] = Array.from({ length: options.stores ?? 4 }, (_, i) => {
    const code = `MSK-${String(i + 1).padStart(3, '0')}`;
    return { code, staffedTills: ['till-1', 'till-2', 'till-3'], selfCheckout: 'sco-1', cashiers: Array.from({ length: 7 }, (_, k) => `${code}-C${k + 1}`) };
  });

  /** Rota: on day d cashier k works the morning if (k - d) mod 7 is 0-2, the evening if 3-5, and is off on 6. Slot = till. */
  const rota = (cashierIndex: number, day: number): { shift: 'morning' | 'evening'; till: number } | null => {
    const slot = (((cashierIndex - day) % 7) + 7) % 7;
    if (slot === 6) return null;
    return { shift: slot < 3 ? 'morning' : 'evening', till: slot % 3 };
  };
  const cashierAt = (store: SyntheticStore, moment: Date, till: number): string => {
    const day = dayOf(moment);
    const shift = localHourOf(moment) < SHIFT_CHANGE ? 'morning' : 'evening';
    const index = store.cashiers.findIndex((_, k) => {
      const duty = rota(k, day);
      return duty !== null && duty.shift === shift && duty.till === till;
    });
    return store.cashiers[index]!;
  };

  const usedCards = new Set<string>();
  const usedPhones = new Set<string>();
  const newCard = () => unique(usedCards, () => `7000-${String(rng.int(0, 999_999)).padStart(6, '0')}`);
  const newPhone = () => unique(usedPhones, () => `+7${rng.pick(['903', '905', '915', '916', '925', '926', '977', '999'])}${String(rng.int(0, 9_999_999)).padStart(7, '0')}`);

  const cards: SyntheticCard[] = [];
  const purchases: Omit<SyntheticPurchase, 'receiptId'>[] = [];
  const later: ((receiptIdOf: (purchase: Omit<SyntheticPurchase, 'receiptId'>) => string) => SyntheticEvent)[] = [];
  const exchanges: SyntheticExchange[] = [];

  /** A receipt at a till: the self-checkout now and then, else a staffed till and its cashier. */
  const ring = (card: string, store: SyntheticStore, moment: Date, options: { totalMinor?: number; till?: number | 'sco' } = {}) => {
    const till = options.till ?? (rng.chance(0.2) ? 'sco' : rng.int(0, 2));
    const totalMinor = options.totalMinor ?? receiptTotal(rng);
    const purchase: Omit<SyntheticPurchase, 'receiptId'> = {
      kind: 'purchase',
      at: moment,
      cardNumber: card,
      storeCode: store.code,
      terminalId: till === 'sco' ? store.selfCheckout : store.staffedTills[till]!,
      cashierId: till === 'sco' ? null : cashierAt(store, moment, till),
      totalMinor,
      lines: receiptLines(rng, totalMinor),
    };
    purchases.push(purchase);
    return purchase;
  };
  const returnOf = (purchase: Omit<SyntheticPurchase, 'receiptId'>, moment: Date, lines: ReceiptLine[] | null) => {
    const index = later.length;
    later.push((receiptIdOf) => ({
      kind: 'return',
      at: moment,
      cardNumber: purchase.cardNumber,
      storeCode: purchase.storeCode,
      receiptId: receiptIdOf(purchase),
      returnId: `RET-${purchase.storeCode}-${String(index + 1).padStart(4, '0')}`,
      lines,
    }));
  };
  const stickersOf = (totalMinor: number) => Math.floor(totalMinor / options.instant.perAmountMinor);

  // ---- honest customers ------------------------------------------------------------
  const honest: string[] = [];
  for (let i = 0; i < (options.honestCustomers ?? 200); i += 1) {
    const roll = rng.float();
    const profile: Profile = roll < 0.12 ? 'daily' : roll < 0.85 ? 'regular' : 'light';
    const home = rng.pick(stores);
    const second = rng.chance(0.15) ? rng.pick(stores.filter((store) => store !== home)) : null;
    const card: SyntheticCard = { cardNumber: newCard(), phone: rng.chance(0.6) ? newPhone() : null, role: 'honest', profile, homeStore: home.code, secondStore: second?.code ?? null };
    cards.push(card);
    honest.push(card.cardNumber);

    const windowRoll = rng.float();
    let favourite = 0;
    for (let acc = 0, w = 0; w < WINDOWS.length; w += 1) {
      acc += WINDOWS[w]!.weight;
      if (windowRoll < acc) {
        favourite = w;
        break;
      }
    }
    const dayList = Array.from({ length: days }, (_, d) => d);
    const shoppingDays =
      profile === 'daily' ? dayList.filter(() => rng.chance(0.85)) : profile === 'regular' ? rng.sample(dayList, rng.int(2, Math.min(4, days))) : rng.sample(dayList, 1);

    // Instant stickers in hand (conservatively: a scheduled return counts in full from the start).
    let instant = 0;
    let exchanged = false;
    const wantsToExchange = rng.chance(0.5);
    for (const day of shoppingDays) {
      const visits: number[] = [];
      const window = WINDOWS[favourite]!;
      visits.push(rng.float(window.from, window.to));
      if (rng.chance(profile === 'daily' ? 0.25 : 0.08)) {
        const other = WINDOWS[rng.pick(WINDOWS.map((_, w) => w).filter((w) => w !== favourite))]!;
        let hour = rng.float(other.from, other.to);
        if (Math.abs(hour - visits[0]!) < 3) hour = visits[0]! + 3 + rng.float(0, 1);
        if (hour <= CLOSES - 0.25) visits.push(hour);
      }
      visits.sort((a, b) => a - b);
      for (const hour of visits) {
        const store = second && rng.chance(0.25) ? second : home;
        const purchase = ring(card.cardNumber, store, at(day, hour));
        instant += stickersOf(purchase.totalMinor);
        if (rng.chance(0.02)) {
          // One line back, 1-30 h later, in opening hours and within the week.
          const line = rng.pick(purchase.lines);
          let back = new Date(purchase.at.getTime() + rng.float(1, 30) * HOUR_MS);
          const backHour = localHourOf(back);
          if (backHour < OPENS + 1 || backHour > CLOSES - 0.5) back = at(dayOf(back) + (backHour > CLOSES - 0.5 ? 1 : 0), OPENS + 1 + rng.float(0, 2));
          if (back < end) {
            returnOf(purchase, back, [line]);
            instant -= stickersOf(purchase.totalMinor);
          }
        }
        if (wantsToExchange && !exchanged && instant >= options.instant.stickerCost) {
          const moment = new Date(purchase.at.getTime() + rng.int(5, 40) * MINUTE_MS);
          if (moment < end) {
            exchanges.push({ kind: 'exchange', at: moment, cardNumber: card.cardNumber });
            instant -= options.instant.stickerCost;
            exchanged = true;
          }
        }
      }
    }
  }

  // ---- (a) the cashier scanning their own card ---------------------------------------
  const cashierStore = stores[1 % stores.length]!;
  const cashierIndex = rng.int(0, cashierStore.cashiers.length - 1);
  const cashierId = cashierStore.cashiers[cashierIndex]!;
  const cashierCard: SyntheticCard = { cardNumber: newCard(), phone: newPhone(), role: 'cashier_own_card', profile: 'abuser', homeStore: cashierStore.code, secondStore: null };
  cards.push(cashierCard);
  for (let day = 0; day < days; day += 1) {
    const duty = rota(cashierIndex, day);
    if (!duty) {
      // Their own shopping on the day off, rung up by a colleague.
      ring(cashierCard.cardNumber, cashierStore, at(day, rng.float(11, 13)), { till: rng.int(0, 2) });
      continue;
    }
    const from = duty.shift === 'morning' ? OPENS : SHIFT_CHANGE;
    const to = duty.shift === 'morning' ? SHIFT_CHANGE : CLOSES;
    const count = rng.int(10, 25);
    // Evenly spread customers without a card: one slot each, a random moment inside it.
    const slot = (to - from) / count;
    for (let n = 0; n < count; n += 1) {
      ring(cashierCard.cardNumber, cashierStore, at(day, from + slot * (n + rng.float(0.1, 0.9))), { till: duty.till });
    }
  }

  // ---- (b) one card at two stores minutes apart -----------------------------------------
  const hopHome = rng.pick(stores);
  const hopCard: SyntheticCard = { cardNumber: newCard(), phone: newPhone(), role: 'store_hop', profile: 'abuser', homeStore: hopHome.code, secondStore: null };
  cards.push(hopCard);
  const hopDays = rng.sample(
    Array.from({ length: days }, (_, d) => d),
    2,
  );
  for (const day of Array.from({ length: days }, (_, d) => d)) {
    if (hopDays.includes(day)) {
      const first = ring(hopCard.cardNumber, hopHome, at(day, rng.float(17, 20)));
      const elsewhere = rng.pick(stores.filter((store) => store !== hopHome));
      ring(hopCard.cardNumber, elsewhere, new Date(first.at.getTime() + rng.int(5, 15) * MINUTE_MS));
    } else if (rng.chance(0.4)) {
      ring(hopCard.cardNumber, hopHome, at(day, rng.float(17, 21)));
    }
  }

  // ---- (c) the return gamer: buy, exchange, return; twice ------------------------------
  const gamerHome = rng.pick(stores);
  const gamerCard: SyntheticCard = { cardNumber: newCard(), phone: newPhone(), role: 'return_gamer', profile: 'abuser', homeStore: gamerHome.code, secondStore: null };
  cards.push(gamerCard);
  const big = options.instant.stickerCost * options.instant.perAmountMinor; // exactly one reward's worth
  {
    // Game 1: day 0 buy, exchange 25 min later; day 1 return the whole receipt.
    const buy = ring(gamerCard.cardNumber, gamerHome, at(0, 11 + rng.float(0, 1)), { totalMinor: big });
    exchanges.push({ kind: 'exchange', at: new Date(buy.at.getTime() + 25 * MINUTE_MS), cardNumber: gamerCard.cardNumber });
    returnOf(buy, at(1, 10 + rng.float(0, 1)), null);
    // Game 2: two receipts on day 2 pay off the debt and buy a reward; one goes back on day 3.
    ring(gamerCard.cardNumber, gamerHome, at(2, 12 + rng.float(0, 1)), { totalMinor: big });
    const second = ring(gamerCard.cardNumber, gamerHome, at(2, 18 + rng.float(0, 1)), { totalMinor: big });
    exchanges.push({ kind: 'exchange', at: new Date(second.at.getTime() + 20 * MINUTE_MS), cardNumber: gamerCard.cardNumber });
    returnOf(second, at(3, 11 + rng.float(0, 1)), null);
    // An ordinary basket later in the week.
    ring(gamerCard.cardNumber, gamerHome, at(Math.min(5, days - 1), 19 + rng.float(0, 1)));
  }

  // ---- (d) the velocity card: 8-11 receipts a day on four days ----------------------------
  const velocityHome = rng.pick(stores);
  const velocityCard: SyntheticCard = { cardNumber: newCard(), phone: null, role: 'velocity', profile: 'abuser', homeStore: velocityHome.code, secondStore: null };
  cards.push(velocityCard);
  const busyDays = rng.sample(
    Array.from({ length: days }, (_, d) => d),
    Math.min(4, days),
  );
  for (let day = 0; day < days; day += 1) {
    if (busyDays.includes(day)) {
      const count = rng.int(8, 11);
      const slot = (21.5 - 9) / count;
      for (let n = 0; n < count; n += 1) ring(velocityCard.cardNumber, velocityHome, at(day, 9 + slot * (n + rng.float(0.15, 0.85))), { totalMinor: rng.int(30_000, 150_000) });
    } else if (rng.chance(0.5)) {
      ring(velocityCard.cardNumber, velocityHome, at(day, rng.float(10, 20)));
    }
  }

  // ---- receipt numbers: per store, till and day, in time order ----------------------------
  const byTime = <T extends { at: Date }>(a: T, b: T) => a.at.getTime() - b.at.getTime();
  purchases.sort(byTime);
  const counters = new Map<string, number>();
  const receiptIds = new Map<Omit<SyntheticPurchase, 'receiptId'>, string>();
  const finished: SyntheticPurchase[] = purchases.map((purchase) => {
    const local = new Date(purchase.at.getTime() + 3 * HOUR_MS);
    const date = `${String(local.getUTCMonth() + 1).padStart(2, '0')}${String(local.getUTCDate()).padStart(2, '0')}`;
    const key = `${purchase.storeCode}/${purchase.terminalId}/${date}`;
    const n = (counters.get(key) ?? 0) + 1;
    counters.set(key, n);
    const receiptId = `${purchase.terminalId}/${date}/${String(n).padStart(4, '0')}`;
    receiptIds.set(purchase, receiptId);
    return { ...purchase, receiptId };
  });
  const returns = later.map((make) => make((purchase) => receiptIds.get(purchase)!));
  const kindOrder = { purchase: 0, exchange: 1, return: 2 } as const;
  const events: SyntheticEvent[] = [...finished, ...returns, ...exchanges].sort((a, b) => byTime(a, b) || kindOrder[a.kind] - kindOrder[b.kind]);

  return {
    seed,
    start,
    end,
    stores,
    cards,
    events,
    purchases: finished,
    truth: {
      honest,
      abusers: { cashier_own_card: cashierCard.cardNumber, store_hop: hopCard.cardNumber, return_gamer: gamerCard.cardNumber, velocity: velocityCard.cardNumber },
      cashier: { cashierId, storeCode: cashierStore.code },
    },
  };
}
