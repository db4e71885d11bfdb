import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EXACT_NETTING_LIMIT, minimalTransfers, netObligations, type Netting, type Obligation } from '../server/src/settlement/netting.ts';

const CURRENCIES = ['EUR', 'RUB', 'USD'] as const;

/** Tenant ids with a fixed width, so that id order is number order in the messages. */
const tenant = (index: number) => `t${String(index).padStart(2, '0')}`;

const owes = (payer: string, payee: string, amountMinor: number, currency = 'EUR'): Obligation => ({ payer, payee, currency, amountMinor });

/**
 * Obligations among `tenants` tenants in one to three currencies. Small amounts are
 * frequent so that zero-sum groups, which netting looks for, actually occur.
 */
const obligationsArb = (tenants: number, maxLength = 14) =>
  fc.array(
    fc.record({
      payer: fc.integer({ min: 0, max: tenants - 1 }),
      offset: fc.integer({ min: 1, max: tenants - 1 }),
      currency: fc.constantFrom(...CURRENCIES),
      amountMinor: fc.oneof(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 1_000_000_000_000 })),
    }),
    { maxLength },
  ).map((drawn) => drawn.map(({ payer, offset, currency, amountMinor }) => owes(tenant(payer), tenant((payer + offset) % tenants), amountMinor, currency)));

/**
 * Obligations that give each tenant the balance asked for (positive: it receives), as a
 * chain between neighbours, as statements might.
 */
function chainOf(balances: readonly (readonly [string, number])[], currency = 'EUR'): Obligation[] {
  const obligations: Obligation[] = [];
  let running = 0;
  for (let index = 0; index + 1 < balances.length; index++) {
    running += balances[index]![1];
    const [here, next] = [balances[index]![0], balances[index + 1]![0]];
    // The tenants up to here are owed `running` in all: it comes from the next one, through here.
    if (running > 0) obligations.push(owes(next, here, running, currency));
    if (running < 0) obligations.push(owes(here, next, -running, currency));
  }
  return obligations;
}

/**
 * The most groups that non-zero balances summing to zero split into, each summing to
 * zero, by trying every set partition (Bell(7) = 877 of them): independent of the
 * subset search under test.
 */
function mostZeroSumGroups(balances: readonly number[]): number {
  let most = 0;
  const blocks: number[] = [];
  const place = (index: number): void => {
    if (index === balances.length) {
      if (blocks.every((sum) => sum === 0)) most = Math.max(most, blocks.length);
      return;
    }
    for (let block = 0; block < blocks.length; block++) {
      blocks[block]! += balances[index]!;
      place(index + 1);
      blocks[block]! -= balances[index]!;
    }
    blocks.push(balances[index]!);
    place(index + 1);
    blocks.pop();
  };
  place(0);
  return most;
}

/** Each tenant's net per currency ("EUR t01" → net) after the transfers are made. */
function afterTransfers(netting: Netting): Map<string, number> {
  const nets = new Map(netting.positions.map((position) => [`${position.currency} ${position.tenantId}`, position.netMinor]));
  for (const { currency, from, to, amountMinor } of netting.transfers) {
    const [payer, payee] = [`${currency} ${from}`, `${currency} ${to}`];
    expect(nets.has(payer) && nets.has(payee), `${payer} → ${payee} has positions`).toBe(true);
    nets.set(payer, nets.get(payer)! + amountMinor);
    nets.set(payee, nets.get(payee)! - amountMinor);
  }
  return nets;
}

/** Expects every transfer to be a real payment and every position to be settled by them. */
function expectSettled(netting: Netting): void {
  for (const transfer of netting.transfers) {
    expect(Number.isSafeInteger(transfer.amountMinor) && transfer.amountMinor > 0, JSON.stringify(transfer)).toBe(true);
    expect(transfer.from).not.toBe(transfer.to);
  }
  for (const [key, net] of afterTransfers(netting)) expect(net, key).toBe(0);
}

const nonZeroTenants = (netting: Netting, currency: string) => netting.positions.filter((position) => position.currency === currency && position.netMinor !== 0);
const transfersIn = (netting: Netting, currency: string) => netting.transfers.filter((transfer) => transfer.currency === currency);

describe('netObligations', () => {
  it('lets the first debtor pay the last creditor directly along a chain', () => {
    const netting = netObligations([owes('acme', 'bolt', 100), owes('bolt', 'cora', 100)]);
    expect(netting.transfers).toEqual([{ currency: 'EUR', from: 'acme', to: 'cora', amountMinor: 100 }]);
    expect(netting.positions).toEqual([
      { tenantId: 'acme', currency: 'EUR', owesMinor: 100, owedMinor: 0, netMinor: -100 },
      { tenantId: 'bolt', currency: 'EUR', owesMinor: 100, owedMinor: 100, netMinor: 0 },
      { tenantId: 'cora', currency: 'EUR', owesMinor: 0, owedMinor: 100, netMinor: 100 },
    ]);
    expect(netting.optimal).toEqual({ EUR: true });
  });

  it('cancels a cycle of equal debts entirely, yet still lists every tenant in it', () => {
    const netting = netObligations([owes('acme', 'bolt', 250), owes('bolt', 'cora', 250), owes('cora', 'acme', 250)]);
    expect(netting.transfers).toEqual([]);
    expect(netting.positions.map((position) => [position.tenantId, position.owesMinor, position.owedMinor, position.netMinor])).toEqual([
      ['acme', 250, 250, 0],
      ['bolt', 250, 250, 0],
      ['cora', 250, 250, 0],
    ]);
    expect(netting.optimal).toEqual({ EUR: true });
  });

  it('never offsets one currency against another', () => {
    const netting = netObligations([owes('acme', 'bolt', 100, 'USD'), owes('bolt', 'acme', 100, 'EUR'), owes('bolt', 'acme', 30, 'USD')]);
    expect(netting.transfers).toEqual([
      { currency: 'EUR', from: 'bolt', to: 'acme', amountMinor: 100 },
      { currency: 'USD', from: 'acme', to: 'bolt', amountMinor: 70 },
    ]);
    expect(netting.positions.map((position) => `${position.currency} ${position.tenantId} ${position.netMinor}`)).toEqual(['EUR acme 100', 'EUR bolt -100', 'USD acme -70', 'USD bolt 70']);
    expect(netting.optimal).toEqual({ EUR: true, USD: true });
  });

  it('settles two separate zero-sum pairs with two transfers, not the three a chain would take', () => {
    // Balances: acme −7, bolt +5, cora −5, dune +7; paying along the statements would take three.
    const netting = netObligations([owes('acme', 'bolt', 5), owes('acme', 'cora', 2), owes('cora', 'dune', 7)]);
    expect(netting.transfers).toEqual([
      { currency: 'EUR', from: 'acme', to: 'dune', amountMinor: 7 },
      { currency: 'EUR', from: 'cora', to: 'bolt', amountMinor: 5 },
    ]);
  });

  it('finds the zero-sum groups that paying the largest debt first would miss', () => {
    // +5 −7 −5 +4 +3: largest first pays −7→+5, −5→+4, then two more (four transfers);
    // {+5, −5} and {−7, +4, +3} take three.
    const netting = netObligations(chainOf([['acme', 5], ['bolt', -7], ['cora', -5], ['dune', 4], ['echo', 3]]));
    expect(netting.transfers).toEqual([
      { currency: 'EUR', from: 'bolt', to: 'dune', amountMinor: 4 },
      { currency: 'EUR', from: 'bolt', to: 'echo', amountMinor: 3 },
      { currency: 'EUR', from: 'cora', to: 'acme', amountMinor: 5 },
    ]);
    expect(netting.optimal).toEqual({ EUR: true });
  });

  it('gives nothing to settle for no obligations', () => {
    expect(netObligations([])).toEqual({ positions: [], transfers: [], optimal: {} });
  });

  it('is exact at the largest safe amounts', () => {
    const big = Number.MAX_SAFE_INTEGER;
    const half = Math.floor(big / 2);
    const netting = netObligations([owes('acme', 'bolt', half), owes('bolt', 'cora', half - 1), owes('dune', 'echo', big, 'USD')]);
    expect(netting.transfers).toEqual([
      { currency: 'EUR', from: 'acme', to: 'bolt', amountMinor: 1 },
      { currency: 'EUR', from: 'acme', to: 'cora', amountMinor: half - 1 },
      { currency: 'USD', from: 'dune', to: 'echo', amountMinor: big },
    ]);
  });

  it('refuses amounts that are not positive safe integers, self-debts and malformed currencies', () => {
    const bad: Obligation[] = [
      owes('acme', 'bolt', 0),
      owes('acme', 'bolt', -5),
      owes('acme', 'bolt', 1.5),
      owes('acme', 'bolt', Number.NaN),
      owes('acme', 'bolt', Number.POSITIVE_INFINITY),
      owes('acme', 'bolt', Number.MAX_SAFE_INTEGER + 1),
      owes('acme', 'acme', 100),
      owes('acme', 'bolt', 100, 'eur'),
      owes('acme', 'bolt', 100, 'EU'),
      owes('acme', 'bolt', 100, 'EURO'),
      owes('acme', 'bolt', 100, ''),
    ];
    for (const obligation of bad) expect(() => netObligations([owes('cora', 'dune', 10), obligation]), JSON.stringify(obligation)).toThrow(RangeError);
  });

  it('refuses totals beyond the safe integers rather than rounding them', () => {
    const big = Number.MAX_SAFE_INTEGER;
    // bolt's net would be safe (big − big), but what it is owed is not exact.
    expect(() => netObligations([owes('acme', 'bolt', big), owes('bolt', 'cora', big), owes('cora', 'bolt', 1)])).toThrow(RangeError);
    // Every tenant's figures are safe, but all that is to be paid in EUR is not.
    expect(() => netObligations([owes('acme', 'bolt', big), owes('cora', 'dune', 1)])).toThrow(RangeError);
    // In different currencies the same amounts are fine.
    expect(netObligations([owes('acme', 'bolt', big, 'EUR'), owes('cora', 'dune', 1, 'USD')]).transfers).toHaveLength(2);
  });

  it('settles every net balance with the transfers, in sorted order (property)', () => {
    fc.assert(
      fc.property(obligationsArb(8), (obligations) => {
        const netting = netObligations(obligations);
        expectSettled(netting);
        const order = (currency: string, first: string, second: string) => `${currency} ${first} ${second}`;
        const sortedBy = <T>(items: T[], key: (item: T) => string) => items.every((item, index) => index === 0 || key(items[index - 1]!) < key(item));
        expect(sortedBy(netting.positions, (position) => order(position.currency, position.tenantId, ''))).toBe(true);
        expect(sortedBy(netting.transfers, (transfer) => order(transfer.currency, transfer.from, transfer.to))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it("gives each tenant that appears in a currency its owed minus owes there, and no one else a position (property)", () => {
    fc.assert(
      fc.property(obligationsArb(8), (obligations) => {
        const expected = new Map<string, { owes: number; owed: number }>();
        const totalsOf = (key: string) => expected.get(key) ?? expected.set(key, { owes: 0, owed: 0 }).get(key)!;
        for (const { payer, payee, currency, amountMinor } of obligations) {
          totalsOf(`${currency} ${payer}`).owes += amountMinor;
          totalsOf(`${currency} ${payee}`).owed += amountMinor;
        }
        const { positions } = netObligations(obligations);
        expect(positions).toHaveLength(expected.size);
        for (const position of positions) {
          const totals = expected.get(`${position.currency} ${position.tenantId}`);
          expect(totals, `${position.currency} ${position.tenantId}`).toBeDefined();
          expect([position.owesMinor, position.owedMinor, position.netMinor]).toEqual([totals!.owes, totals!.owed, totals!.owed - totals!.owes]);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('needs at most one transfer fewer than the tenants with a balance, per currency (property)', () => {
    fc.assert(
      fc.property(obligationsArb(8, 20), (obligations) => {
        const netting = netObligations(obligations);
        for (const currency of Object.keys(netting.optimal)) {
          expect(netting.optimal[currency]).toBe(true);
          expect(transfersIn(netting, currency).length).toBeLessThanOrEqual(Math.max(0, nonZeroTenants(netting, currency).length - 1));
        }
      }),
      { numRuns: 500 },
    );
  });

  it('takes exactly as few transfers as the best split into zero-sum groups allows, found by trying every partition (property)', () => {
    fc.assert(
      fc.property(obligationsArb(7, 16), (obligations) => {
        const netting = netObligations(obligations);
        for (const currency of Object.keys(netting.optimal)) {
          const balances = nonZeroTenants(netting, currency).map((position) => position.netMinor);
          expect(transfersIn(netting, currency)).toHaveLength(balances.length - mostZeroSumGroups(balances));
        }
      }),
      { numRuns: 1_000 },
    );
  });

  it('gives the same result whatever order the statements come in, or however an agreement splits its amount (property)', () => {
    const shuffledArb = obligationsArb(8).chain((obligations) =>
      fc.tuple(fc.constant(obligations), fc.shuffledSubarray(obligations, { minLength: obligations.length }), fc.nat(), fc.integer({ min: 1, max: 1_000 })),
    );
    fc.assert(
      fc.property(shuffledArb, ([obligations, shuffled, at, part]) => {
        const netting = netObligations(obligations);
        expect(netObligations(shuffled)).toEqual(netting);
        // The same debt arriving as two statements (two agreements between the same pair).
        const split = obligations.flatMap((obligation, index) =>
          index === at % Math.max(1, obligations.length) && obligation.amountMinor > part ? [{ ...obligation, amountMinor: obligation.amountMinor - part }, { ...obligation, amountMinor: part }] : [obligation],
        );
        expect(netObligations(split)).toEqual(netting);
      }),
      { numRuns: 300 },
    );
  });

  it('never has a tenant both pay and receive in the same currency, and only debtors pay (property)', () => {
    fc.assert(
      fc.property(obligationsArb(8, 20), (obligations) => {
        const netting = netObligations(obligations);
        const nets = new Map(netting.positions.map((position) => [`${position.currency} ${position.tenantId}`, position.netMinor]));
        for (const { currency, from, to } of netting.transfers) {
          expect(nets.get(`${currency} ${from}`)!, `${currency} ${from} pays`).toBeLessThan(0);
          expect(nets.get(`${currency} ${to}`)!, `${currency} ${to} receives`).toBeGreaterThan(0);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('netting at and beyond the exact limit', () => {
  it('finds the best plan among 16 tenants where paying the largest debts first would not', () => {
    // Three groups that largest-first settles badly, each scaled by its own power of 1,000
    // so that no zero-sum set mixes groups; then the fewest transfers are the groups'
    // fewest, each found by trying every partition.
    const groups = [
      [5, -7, -5, 4, 3],
      [6, -8, -6, 5, 3],
      [-6, 7, -2, -5, 3, 3],
    ];
    const scaled = groups.flatMap((group, index) => group.map((balance) => balance * 1_000 ** index));
    expect(scaled).toHaveLength(EXACT_NETTING_LIMIT);
    // Spread the groups across the id order.
    const balances = scaled.map((balance, index) => [tenant((index * 7) % 16), balance] as const);
    const netting = netObligations(chainOf(balances));
    expect(netting.optimal).toEqual({ EUR: true });
    expect(nonZeroTenants(netting, 'EUR')).toHaveLength(16);
    expectSettled(netting);
    const fewest = groups.reduce((sum, group) => sum + group.length - mostZeroSumGroups(group), 0);
    expect(fewest).toBe(3 + 3 + 4);
    expect(netting.transfers).toHaveLength(fewest);
  });

  it('pairs up 16 tenants whose balances cancel only in pairs: eight transfers (property)', () => {
    // Balances ±m·2^i: a subset sums to zero only if it takes both signs of each power.
    const pairsArb = fc.tuple(fc.integer({ min: 1, max: 1_000_000 }), fc.shuffledSubarray([...Array(16).keys()], { minLength: 16 }));
    fc.assert(
      fc.property(pairsArb, ([multiple, order]) => {
        const balances = order.map((slot, index) => [tenant(index), (slot % 2 ? -1 : 1) * multiple * 2 ** (slot >> 1)] as const);
        const netting = netObligations(chainOf(balances, 'RUB'));
        expect(netting.optimal).toEqual({ RUB: true });
        expectSettled(netting);
        expect(netting.transfers).toHaveLength(8);
        for (const { from, to } of netting.transfers) expect(balances.find(([id]) => id === from)![1]).toBe(-balances.find(([id]) => id === to)![1]);
      }),
      { numRuns: 20 },
    );
  });

  it('still settles 16 tenants with random balances within 15 transfers (property)', () => {
    const balanceArb = fc.oneof(fc.integer({ min: -9, max: 9 }), fc.integer({ min: -1_000_000_000, max: 1_000_000_000 })).filter((value) => value !== 0);
    fc.assert(
      fc.property(fc.array(balanceArb, { minLength: 15, maxLength: 15 }), (drawn) => {
        // The sixteenth tenant takes up the difference; it must have one to count.
        const values = [...drawn, -drawn.reduce((sum, value) => sum + value, 0)];
        fc.pre(values[15] !== 0);
        const netting = netObligations(chainOf(values.map((balance, index) => [tenant(index), balance] as const)));
        expect(netting.optimal).toEqual({ EUR: true });
        expectSettled(netting);
        expect(netting.transfers.length).toBeLessThanOrEqual(15);
      }),
      { numRuns: 20 },
    );
  });

  it('counts only tenants with a balance against the limit', () => {
    // 20 tenants in a cycle of equal debts plus four with balances: exact.
    const cycle = [...Array(20).keys()].map((index) => owes(tenant(index), tenant((index + 1) % 20), 1_000));
    const netting = netObligations([...cycle, owes('t00', 't01', 5), owes('t02', 't03', 5), owes('t04', 't05', 3)]);
    expect(netting.positions).toHaveLength(20);
    expect(netting.optimal).toEqual({ EUR: true });
    expect(netting.transfers).toHaveLength(3);
    expectSettled(netting);
  });

  it('beyond the limit, settles everything with at most n − 1 transfers but does not claim the fewest', () => {
    const balancesArb = fc.array(fc.integer({ min: 1, max: 1_000_000 }), { minLength: 20, maxLength: 20 }).chain((magnitudes) =>
      fc.tuple(fc.constant(magnitudes), fc.array(fc.boolean(), { minLength: 20, maxLength: 20 })),
    );
    fc.assert(
      fc.property(balancesArb, ([magnitudes, negative]) => {
        const values = magnitudes.map((magnitude, index) => (negative[index] ? -magnitude : magnitude));
        // A twenty-first tenant takes up the difference, if there is one.
        const rest = -values.reduce((sum, value) => sum + value, 0);
        if (rest !== 0) values.push(rest);
        const netting = netObligations(chainOf(values.map((balance, index) => [tenant(index), balance] as const), 'USD'));
        expect(netting.optimal).toEqual({ USD: false });
        expectSettled(netting);
        expect(netting.transfers.length).toBeLessThanOrEqual(values.length - 1);
        const payers = new Set(netting.transfers.map((transfer) => transfer.from));
        for (const { to } of netting.transfers) expect(payers.has(to), `${to} both pays and receives`).toBe(false);
      }),
      { numRuns: 50 },
    );
  });

  it('nets each currency on its own side of the limit', () => {
    const many = chainOf([...Array(18).keys()].map((index) => [tenant(index), index === 17 ? -17 : 1] as const), 'USD');
    const netting = netObligations([...many, owes('t00', 't01', 10, 'EUR')]);
    expect(netting.optimal).toEqual({ EUR: true, USD: false });
    expect(transfersIn(netting, 'USD')).toHaveLength(17);
    expectSettled(netting);
  });
});

describe('minimalTransfers', () => {
  it('settles balances held already, ignoring tenants at zero', () => {
    const balances = new Map([
      ['cora', -5],
      ['acme', 5],
      ['bolt', 0],
      ['dune', -7],
      ['echo', 7],
    ]);
    expect(minimalTransfers('EUR', balances)).toEqual({
      transfers: [
        { currency: 'EUR', from: 'cora', to: 'acme', amountMinor: 5 },
        { currency: 'EUR', from: 'dune', to: 'echo', amountMinor: 7 },
      ],
      optimal: true,
    });
    expect(minimalTransfers('EUR', new Map())).toEqual({ transfers: [], optimal: true });
  });

  it('refuses balances that do not sum to zero or are not safe integers, and malformed currencies', () => {
    expect(() => minimalTransfers('EUR', new Map([['acme', 5], ['bolt', -4]]))).toThrow(RangeError);
    expect(() => minimalTransfers('EUR', new Map([['acme', 0.5], ['bolt', -0.5]]))).toThrow(RangeError);
    expect(() => minimalTransfers('EUR', new Map([['acme', Number.NaN]]))).toThrow(RangeError);
    const big = Number.MAX_SAFE_INTEGER;
    expect(() => minimalTransfers('EUR', new Map([['acme', big], ['bolt', big], ['cora', -big], ['dune', -big]]))).toThrow(RangeError);
    expect(() => minimalTransfers('usd', new Map([['acme', 5], ['bolt', -5]]))).toThrow(RangeError);
  });
});
