/**
 * Coalition netting for a settlement period: every agreement's statement says who owes
 * whom per currency; netting combines them so that each tenant pays or receives only its
 * net balance, with as few bank transfers as can be proven (each transfer costs fees and
 * a reconciliation step on both sides). Pure arithmetic on integers of minor units: no
 * database, no clock, and the same obligations in any order give the same result.
 */

/** One statement's result in one currency: `payer` owes `payee` a positive amount. */
export interface Obligation {
  payer: string;
  payee: string;
  currency: string;
  amountMinor: number;
}

/** A tenant's totals in one currency; `netMinor` = `owedMinor` − `owesMinor` (positive: it receives). */
export interface Position {
  tenantId: string;
  currency: string;
  owesMinor: number;
  owedMinor: number;
  netMinor: number;
}

export interface Transfer {
  currency: string;
  from: string;
  to: string;
  amountMinor: number;
}

export interface Netting {
  positions: Position[];
  transfers: Transfer[];
  /** per currency: whether the transfer count is proven minimal */
  optimal: Record<string, boolean>;
}

/**
 * The most tenants with a non-zero balance in one currency for which the fewest transfers
 * are searched exactly. The search holds 2^n subset sums (8 bytes each) and takes about
 * n·2^(n−1) steps: at 16 that is half a megabyte and well under a second; every tenant more
 * doubles both, so beyond it netting falls back to a greedy plan that is not proven minimal.
 */
export const EXACT_NETTING_LIMIT = 16;

const CURRENCY = /^[A-Z]{3}$/;

/** Code-unit order, not locale order: the output must be the same on every host. */
function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function checkCurrency(currency: string): void {
  if (typeof currency !== 'string' || !CURRENCY.test(currency)) throw new RangeError(`Currency must be three capital letters (ISO 4217), got ${JSON.stringify(currency)}`);
}

/** Adds minor units, refusing to go where doubles stop counting every unit. */
function safeAdd(a: number, b: number, what: string): number {
  const sum = a + b;
  if (!Number.isSafeInteger(sum)) throw new RangeError(`${what} is not a safe integer of minor units`);
  return sum;
}

/**
 * Nets the period's obligations currency by currency (never converting between them):
 * one position for every tenant that appears in a currency, even if it nets to zero, so
 * that a statement can show it was included; and the fewest transfers that settle every
 * net balance (see `minimalTransfers`). Positions are sorted by currency then tenant,
 * transfers by currency, payer, payee.
 *
 * Throws a RangeError for an amount that is not a positive safe integer, a total that
 * leaves the safe integers (what a tenant owes or is owed, or all that is to be paid in a
 * currency), an obligation of a tenant to itself or a currency that is not three capital
 * letters; nothing is netted then, since a partial plan would be wrong.
 */
export function netObligations(obligations: readonly Obligation[]): Netting {
  const byCurrency = new Map<string, Map<string, { owes: number; owed: number }>>();
  for (const { payer, payee, currency, amountMinor } of obligations) {
    checkCurrency(currency);
    if (!Number.isSafeInteger(amountMinor) || amountMinor <= 0) throw new RangeError(`An obligation must be a positive integer of minor units, got ${amountMinor}`);
    if (payer === payee) throw new RangeError(`Tenant ${payer} cannot owe itself`);
    let tenants = byCurrency.get(currency);
    if (!tenants) byCurrency.set(currency, (tenants = new Map()));
    const from = tenants.get(payer) ?? { owes: 0, owed: 0 };
    const to = tenants.get(payee) ?? { owes: 0, owed: 0 };
    from.owes = safeAdd(from.owes, amountMinor, `What ${payer} owes in ${currency}`);
    to.owed = safeAdd(to.owed, amountMinor, `What ${payee} is owed in ${currency}`);
    tenants.set(payer, from).set(payee, to);
  }

  const positions: Position[] = [];
  const transfers: Transfer[] = [];
  const optimal: Record<string, boolean> = {};
  for (const currency of [...byCurrency.keys()].sort(compareIds)) {
    const tenants = byCurrency.get(currency)!;
    const balances = new Map<string, number>();
    for (const tenantId of [...tenants.keys()].sort(compareIds)) {
      const { owes, owed } = tenants.get(tenantId)!;
      // Both totals are safe and not negative, so their difference is safe too.
      positions.push({ tenantId, currency, owesMinor: owes, owedMinor: owed, netMinor: owed - owes });
      balances.set(tenantId, owed - owes);
    }
    const plan = minimalTransfers(currency, balances);
    transfers.push(...plan.transfers);
    optimal[currency] = plan.optimal;
  }
  return { positions, transfers, optimal };
}

/**
 * The fewest transfers that settle balances of one currency (positive: the tenant
 * receives; zero balances are ignored), sorted by payer then payee.
 *
 * The transfers of any plan join the n tenants with a non-zero balance into connected
 * groups; each group must sum to zero, and connecting s tenants takes at least s − 1
 * transfers, so the fewest is n − k for the largest k such that the tenants split into k
 * groups each summing to zero. Finding k is NP-hard (it contains subset sum), hence the search over subsets up to
 * EXACT_NETTING_LIMIT tenants and `optimal: false` beyond it, where the greedy plan still
 * settles everything in at most n − 1 transfers.
 *
 * Within a group, the largest debtor pays the largest creditor (ties: the smaller tenant
 * id), which zeroes at least one of them per transfer and never makes a tenant both pay
 * and receive.
 *
 * Throws a RangeError if a balance is not a safe integer, the balances do not sum to zero
 * or all that is to be paid is not a safe integer: the search adds balances in any
 * combination, and only below that bound do doubles count every minor unit.
 */
export function minimalTransfers(currency: string, balances: ReadonlyMap<string, number>): { transfers: Transfer[]; optimal: boolean } {
  checkCurrency(currency);
  let receivable = 0;
  let payable = 0;
  const tenants: string[] = [];
  for (const [tenantId, balance] of balances) {
    if (!Number.isSafeInteger(balance)) throw new RangeError(`The ${currency} balance of ${tenantId} is not a safe integer of minor units: ${balance}`);
    if (balance > 0) receivable = safeAdd(receivable, balance, `The ${currency} sum of the balances`);
    if (balance < 0) payable = safeAdd(payable, -balance, `The ${currency} sum of the balances`);
    if (balance !== 0) tenants.push(tenantId);
  }
  if (receivable !== payable) throw new RangeError(`The ${currency} balances sum to ${receivable - payable}, not zero`);
  // Sorted so that the groups found, and so the plan, depend on the tenants and not on
  // the map's insertion order.
  tenants.sort(compareIds);
  const amounts = tenants.map((tenantId) => balances.get(tenantId)!);

  if (tenants.length > EXACT_NETTING_LIMIT) return { transfers: sortTransfers(settleGreedily(currency, tenants, amounts)), optimal: false };
  const transfers: Transfer[] = [];
  for (const group of zeroSumGroups(amounts)) {
    transfers.push(...settleGreedily(currency, group.map((index) => tenants[index]!), group.map((index) => amounts[index]!)));
  }
  return { transfers: sortTransfers(transfers), optimal: true };
}

/**
 * Splits non-zero amounts summing to zero into the most groups that each sum to zero, as
 * lists of indexes. Ordering the tenants one by one, every prefix that sums to zero closes
 * a group, so the most groups is the most zero-sum prefixes over all orders:
 * best[mask] = max over i in mask of best[mask without i], plus one if mask sums to zero.
 * Subset sums stay exact in doubles because each lies within the (safe) positive total.
 */
function zeroSumGroups(amounts: readonly number[]): number[][] {
  const n = amounts.length;
  if (n === 0) return [];
  const size = 1 << n;
  const sums = new Float64Array(size);
  // At most n / 2 groups: a group of one would be a zero balance.
  const best = new Int8Array(size);
  for (let mask = 1; mask < size; mask++) {
    const lowest = mask & -mask;
    sums[mask] = sums[mask ^ lowest]! + amounts[31 - Math.clz32(lowest)]!;
    let most = 0;
    for (let rest = mask; rest !== 0; rest &= rest - 1) {
      const value = best[mask ^ (rest & -rest)]!;
      if (value > most) most = value;
    }
    best[mask] = sums[mask] === 0 ? most + 1 : most;
  }

  // Walk back from everyone, always removing the lowest index that keeps the optimum,
  // and cut a group off at every zero-sum set on the way.
  const groups: number[][] = [];
  let group: number[] = [];
  for (let mask = size - 1; mask !== 0; ) {
    const target = best[mask]! - (sums[mask] === 0 ? 1 : 0);
    let index = 0;
    while (!((mask >> index) & 1) || best[mask ^ (1 << index)]! !== target) index++;
    group.push(index);
    mask ^= 1 << index;
    if (sums[mask] === 0) {
      groups.push(group.sort((a, b) => a - b));
      group = [];
    }
  }
  return groups;
}

/**
 * Settles balances summing to zero: the largest debtor pays the largest creditor until
 * all are zero. Each transfer zeroes one side (the last one both), so s tenants take at
 * most s − 1 transfers, and a tenant's balance never changes sign.
 */
function settleGreedily(currency: string, tenants: readonly string[], amounts: readonly number[]): Transfer[] {
  const left = [...amounts];
  const transfers: Transfer[] = [];
  for (;;) {
    let debtor = -1;
    let creditor = -1;
    for (let index = 0; index < left.length; index++) {
      const amount = left[index]!;
      // Strict comparisons keep the first, i.e. smallest, tenant id among equals (tenants are sorted).
      if (amount < 0 && (debtor < 0 || amount < left[debtor]!)) debtor = index;
      if (amount > 0 && (creditor < 0 || amount > left[creditor]!)) creditor = index;
    }
    if (debtor < 0 || creditor < 0) return transfers;
    const amountMinor = Math.min(-left[debtor]!, left[creditor]!);
    transfers.push({ currency, from: tenants[debtor]!, to: tenants[creditor]!, amountMinor });
    left[debtor]! += amountMinor;
    left[creditor]! -= amountMinor;
  }
}

function sortTransfers(transfers: Transfer[]): Transfer[] {
  return transfers.sort((a, b) => compareIds(a.currency, b.currency) || compareIds(a.from, b.from) || compareIds(a.to, b.to));
}
