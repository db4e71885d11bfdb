import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SettlementEvent } from '../server/src/db/tables.ts';
import { activeAgreement, startExchangeWorld, type ExchangeWorld } from './support/exchange.ts';
import { createOffer } from './support/partner.ts';
import { seedEntry, settlementApi } from './support/settlement.ts';

/**
 * Settlement periods are calendar months in the agreement's time zone. Every instant
 * below is worked out by hand (local wall clock and offset → UTC) so that the test does
 * not lean on the calendar code it checks:
 *
 * - Europe/Moscow: UTC+3 all year, no DST.
 * - Europe/Berlin: CEST (UTC+2) until 2026-10-25 03:00 CEST = 01:00Z, when clocks go back
 *   to 02:00 CET (UTC+1), so 02:00–02:59 happens twice that night; CET until
 *   2027-03-28 02:00 CET = 01:00Z, when clocks jump to 03:00 CEST.
 * - America/New_York: EDT (UTC−4) until 2026-11-01 02:00 EDT = 06:00Z, when clocks go
 *   back to 01:00 EST (UTC−5): the change happens on the first day of November, so
 *   01:00–01:59 on November 1st happens twice, both times in November.
 */
const START = '2026-09-15T09:00:00Z';
let world: ExchangeWorld;
let issuer: ReturnType<typeof settlementApi>;
let partner: ReturnType<typeof settlementApi>;

beforeAll(async () => {
  world = await startExchangeWorld({ start: START });
  issuer = settlementApi(world, world.issuer.key);
  partner = settlementApi(world, world.partner.key);
});
afterAll(() => world.stop());

/** An agreement of its own (one offer, no codes: entries are seeded) in a time zone, accepted now. */
async function agreementIn(timezone: string): Promise<{ agreementId: string; offerId: string }> {
  const offer = await createOffer(world.system.baseUrl, world.partner.key);
  const agreement = await activeAgreement(world, [offer.id], { timezone, currency: 'RUB', model: { type: 'issuer_pays_per_redeemed', amountMinor: 1_000 } });
  expect(agreement.timezone).toBe(timezone);
  return { agreementId: agreement.id, offerId: offer.id };
}

interface Seeded {
  /** The instant, UTC. */
  at: string;
  /** The same instant on the agreement's wall clock, as the entries CSV must show it. */
  local: string;
  /** The month it must land in. */
  month: string;
  event?: SettlementEvent;
  relatesToPeriod?: string;
  /** Which entry a reversal takes back (index in the same list). */
  reverses?: number;
}

/** Seeds each as an entry of its own amount (2^i, so that any sum tells which entries it holds). */
async function seedAll(agreement: { agreementId: string; offerId: string }, entries: readonly Seeded[]): Promise<number[]> {
  const amounts: number[] = [];
  for (const [index, entry] of entries.entries()) {
    const amountMinor = entry.reverses === undefined ? 2 ** index : -amounts[entry.reverses]!;
    amounts.push(amountMinor);
    await seedEntry(world, agreement.agreementId, {
      voucherId: `vch_period${String(index).padStart(6, '0')}`,
      offerId: agreement.offerId,
      event: entry.event ?? 'code_redeemed',
      amountMinor,
      occurredAt: new Date(entry.at),
      redemptionId: `red_period${String(entry.reverses ?? index).padStart(6, '0')}`,
      ...(entry.relatesToPeriod ? { relatesToPeriod: entry.relatesToPeriod } : {}),
    });
  }
  return amounts;
}

/** The rows of a statement's entries CSV as objects keyed by column. */
async function entryRows(statementId: string): Promise<Array<Record<string, string>>> {
  const csv = await issuer.file(statementId, 'entries.csv');
  expect(csv.status).toBe(200);
  const [header, ...rows] = csv.text.trimEnd().split('\r\n');
  const columns = header!.split(',');
  return rows.map((row) => Object.fromEntries(row.split(',').map((value, index) => [columns[index]!, value])));
}

/**
 * Builds the month and checks it holds exactly the entries expected there: the count,
 * the lines (period entries and adjustments to earlier months, each summed), and in the
 * entries CSV each entry's instant with its local reading.
 */
async function expectMonth(agreement: { agreementId: string; offerId: string }, entries: readonly Seeded[], amounts: readonly number[], month: string, bounds: { periodStart: string; periodEnd: string }) {
  const built = await issuer.build(agreement.agreementId, month);
  expect(built.status, JSON.stringify(built.body)).toBe(200);
  const expected = entries.map((entry, index) => ({ ...entry, amountMinor: amounts[index]! })).filter((entry) => entry.month === month);
  const lineOf = (section: 'period' | 'adjustment', event: SettlementEvent, relatesTo: string) => {
    const taken = expected.filter((entry) => (entry.event ?? 'code_redeemed') === event && (entry.relatesToPeriod?.slice(0, 7) ?? month) === relatesTo);
    return taken.length
      ? [{ section, relatesToPeriod: relatesTo, offerId: agreement.offerId, event, statementRef: null, currency: 'RUB', count: taken.length, amountMinor: taken.reduce((sum, entry) => sum + entry.amountMinor, 0) }]
      : [];
  };
  const earlier = [...new Set(expected.map((entry) => entry.relatesToPeriod?.slice(0, 7)).filter((rel): rel is string => rel !== undefined && rel < month))].sort();
  expect(built.body).toMatchObject({
    period: month,
    ...bounds,
    entryCount: expected.length,
    lines: [
      ...lineOf('period', 'code_redeemed', month),
      ...lineOf('period', 'redemption_reversed', month),
      ...earlier.flatMap((rel) => [...lineOf('adjustment', 'code_redeemed', rel), ...lineOf('adjustment', 'redemption_reversed', rel)]),
    ],
  });
  const rows = await entryRows(built.body.id);
  expect(rows.map((row) => ({ occurred_at: row.occurred_at!, occurred_at_local: row.occurred_at_local!, amount_minor: Number(row.amount_minor) })).sort((a, b) => a.occurred_at.localeCompare(b.occurred_at))).toEqual(
    expected.map((entry) => ({ occurred_at: new Date(entry.at).toISOString(), occurred_at_local: entry.local, amount_minor: entry.amountMinor })).sort((a, b) => a.occurred_at.localeCompare(b.occurred_at)),
  );
  return built.body;
}

describe('each entry lands in the calendar month of its instant in the agreement time zone', () => {
  const moscow: Seeded[] = [
    { at: '2026-09-30T20:59:59.999Z', local: '2026-09-30T23:59:59.999+03:00', month: '2026-09' },
    { at: '2026-09-30T21:00:00.000Z', local: '2026-10-01T00:00:00.000+03:00', month: '2026-10' },
    // 00:30Z on the night Berlin changes clocks: nothing changes in Moscow.
    { at: '2026-10-25T00:30:00.000Z', local: '2026-10-25T03:30:00.000+03:00', month: '2026-10' },
    { at: '2026-10-31T20:59:59.999Z', local: '2026-10-31T23:59:59.999+03:00', month: '2026-10' },
    { at: '2026-10-31T21:00:00.000Z', local: '2026-11-01T00:00:00.000+03:00', month: '2026-11' },
    // Still 31 October in UTC, already November in Moscow.
    { at: '2026-10-31T23:30:00.000Z', local: '2026-11-01T02:30:00.000+03:00', month: '2026-11' },
  ];
  const berlin: Seeded[] = [
    { at: '2026-09-30T21:59:59.999Z', local: '2026-09-30T23:59:59.999+02:00', month: '2026-09' },
    { at: '2026-09-30T22:00:00.000Z', local: '2026-10-01T00:00:00.000+02:00', month: '2026-10' },
    // 25 October, 02:30 twice: first in CEST (00:30Z), then again in CET (01:30Z).
    { at: '2026-10-25T00:30:00.000Z', local: '2026-10-25T02:30:00.000+02:00', month: '2026-10' },
    { at: '2026-10-25T01:30:00.000Z', local: '2026-10-25T02:30:00.000+01:00', month: '2026-10' },
    // The last millisecond of October is in CET now: 23:59:59.999+01:00.
    { at: '2026-10-31T22:59:59.999Z', local: '2026-10-31T23:59:59.999+01:00', month: '2026-10' },
    // 22:30Z would be November under the summer offset; it is 23:30 on 31 October in CET.
    { at: '2026-10-31T22:30:00.000Z', local: '2026-10-31T23:30:00.000+01:00', month: '2026-10' },
    { at: '2026-10-31T23:00:00.000Z', local: '2026-11-01T00:00:00.000+01:00', month: '2026-11' },
    { at: '2027-02-28T22:59:59.999Z', local: '2027-02-28T23:59:59.999+01:00', month: '2027-02' },
    { at: '2027-02-28T23:00:00.000Z', local: '2027-03-01T00:00:00.000+01:00', month: '2027-03' },
    // 28 March: the last millisecond of CET, and 03:00 CEST one millisecond later.
    { at: '2027-03-28T00:59:59.999Z', local: '2027-03-28T01:59:59.999+01:00', month: '2027-03' },
    { at: '2027-03-28T01:00:00.000Z', local: '2027-03-28T03:00:00.000+02:00', month: '2027-03' },
    // The end of March is in CEST: 23:59:59.999+02:00 = 21:59:59.999Z.
    { at: '2027-03-31T21:59:59.999Z', local: '2027-03-31T23:59:59.999+02:00', month: '2027-03' },
    // 22:30Z is still 31 March in UTC (and under CET it would be 23:30): April in Berlin.
    { at: '2027-03-31T22:30:00.000Z', local: '2027-04-01T00:30:00.000+02:00', month: '2027-04' },
    { at: '2027-03-31T22:00:00.000Z', local: '2027-04-01T00:00:00.000+02:00', month: '2027-04' },
  ];
  const newYork: Seeded[] = [
    { at: '2026-10-01T03:59:59.999Z', local: '2026-09-30T23:59:59.999-04:00', month: '2026-09' },
    { at: '2026-10-01T04:00:00.000Z', local: '2026-10-01T00:00:00.000-04:00', month: '2026-10' },
    { at: '2026-11-01T03:59:59.999Z', local: '2026-10-31T23:59:59.999-04:00', month: '2026-10' },
    { at: '2026-11-01T04:00:00.000Z', local: '2026-11-01T00:00:00.000-04:00', month: '2026-11' },
    // 1 November, 01:30 twice: in EDT (05:30Z), then again in EST (06:30Z); both November.
    { at: '2026-11-01T05:30:00.000Z', local: '2026-11-01T01:30:00.000-04:00', month: '2026-11' },
    { at: '2026-11-01T06:30:00.000Z', local: '2026-11-01T01:30:00.000-05:00', month: '2026-11' },
    // A reversal in the repeated hour of the October charge of 31 October 23:59:59.999: November, as an adjustment to October.
    { at: '2026-11-01T06:45:00.000Z', local: '2026-11-01T01:45:00.000-05:00', month: '2026-11', event: 'redemption_reversed', relatesToPeriod: '2026-10-01', reverses: 2 },
    // The last millisecond of November is in EST: 23:59:59.999-05:00 = 04:59:59.999Z on 1 December.
    { at: '2026-12-01T04:59:59.999Z', local: '2026-11-30T23:59:59.999-05:00', month: '2026-11' },
    { at: '2026-12-01T05:00:00.000Z', local: '2026-12-01T00:00:00.000-05:00', month: '2026-12' },
  ];
  const agreements: Record<string, { agreementId: string; offerId: string }> = {};
  const amounts: Record<string, number[]> = {};

  beforeAll(async () => {
    world.clock.set(START);
    for (const [name, timezone, entries] of [
      ['moscow', 'Europe/Moscow', moscow],
      ['berlin', 'Europe/Berlin', berlin],
      ['newYork', 'America/New_York', newYork],
    ] as const) {
      agreements[name] = await agreementIn(timezone);
      amounts[name] = await seedAll(agreements[name]!, entries);
    }
    world.clock.set('2027-05-03T12:00:00Z');
  });

  it('Moscow (no DST): months from 21:00Z to 21:00Z', async () => {
    const a = agreements.moscow!;
    await expectMonth(a, moscow, amounts.moscow!, '2026-09', { periodStart: '2026-08-31T21:00:00.000Z', periodEnd: '2026-09-30T21:00:00.000Z' });
    const october = await expectMonth(a, moscow, amounts.moscow!, '2026-10', { periodStart: '2026-09-30T21:00:00.000Z', periodEnd: '2026-10-31T21:00:00.000Z' });
    expect(october).toMatchObject({ timezone: 'Europe/Moscow', entryCount: 3, totals: [{ currency: 'RUB', periodMinor: 2 + 4 + 8, netMinor: 14 }] });
    await expectMonth(a, moscow, amounts.moscow!, '2026-11', { periodStart: '2026-10-31T21:00:00.000Z', periodEnd: '2026-11-30T21:00:00.000Z' });
  });

  it('Berlin: October starts in CEST and ends in CET; both 02:30 of 25 October are October', async () => {
    const a = agreements.berlin!;
    await expectMonth(a, berlin, amounts.berlin!, '2026-09', { periodStart: '2026-08-31T22:00:00.000Z', periodEnd: '2026-09-30T22:00:00.000Z' });
    const october = await expectMonth(a, berlin, amounts.berlin!, '2026-10', { periodStart: '2026-09-30T22:00:00.000Z', periodEnd: '2026-10-31T23:00:00.000Z' });
    expect(october).toMatchObject({ timezone: 'Europe/Berlin', entryCount: 5, totals: [{ currency: 'RUB', netMinor: 2 + 4 + 8 + 16 + 32 }] });
    await expectMonth(a, berlin, amounts.berlin!, '2026-11', { periodStart: '2026-10-31T23:00:00.000Z', periodEnd: '2026-11-30T23:00:00.000Z' });
  });

  it('Berlin: March 2027 starts in CET and ends in CEST; April begins at 22:00Z on 31 March', async () => {
    const a = agreements.berlin!;
    await expectMonth(a, berlin, amounts.berlin!, '2027-02', { periodStart: '2027-01-31T23:00:00.000Z', periodEnd: '2027-02-28T23:00:00.000Z' });
    const march = await expectMonth(a, berlin, amounts.berlin!, '2027-03', { periodStart: '2027-02-28T23:00:00.000Z', periodEnd: '2027-03-31T22:00:00.000Z' });
    expect(march.entryCount).toBe(4);
    const april = await expectMonth(a, berlin, amounts.berlin!, '2027-04', { periodStart: '2027-03-31T22:00:00.000Z', periodEnd: '2027-04-30T22:00:00.000Z' });
    expect(april.entryCount).toBe(2);
  });

  it('New York: October ends at 04:00Z on 1 November, November (changing to EST on its first day) at 05:00Z on 1 December', async () => {
    const a = agreements.newYork!;
    await expectMonth(a, newYork, amounts.newYork!, '2026-09', { periodStart: '2026-09-01T04:00:00.000Z', periodEnd: '2026-10-01T04:00:00.000Z' });
    const october = await expectMonth(a, newYork, amounts.newYork!, '2026-10', { periodStart: '2026-10-01T04:00:00.000Z', periodEnd: '2026-11-01T04:00:00.000Z' });
    expect(october.entryCount).toBe(2);
    const november = await expectMonth(a, newYork, amounts.newYork!, '2026-11', { periodStart: '2026-11-01T04:00:00.000Z', periodEnd: '2026-12-01T05:00:00.000Z' });
    // 00:00 EDT, 01:30 EDT, 01:30 EST, 23:59:59.999 EST on the 30th, and the reversal of an October charge.
    expect(november).toMatchObject({
      entryCount: 5,
      totals: [{ currency: 'RUB', periodMinor: 8 + 16 + 32 + 128, adjustmentsMinor: -4, netMinor: 8 + 16 + 32 + 128 - 4 }],
    });
    expect(november.lines.map((line: any) => [line.section, line.relatesToPeriod, line.event])).toEqual([
      ['period', '2026-11', 'code_redeemed'],
      ['adjustment', '2026-10', 'redemption_reversed'],
    ]);
    await expectMonth(a, newYork, amounts.newYork!, '2026-12', { periodStart: '2026-12-01T05:00:00.000Z', periodEnd: '2027-01-01T05:00:00.000Z' });
  });

  it('the entries CSV of a finalized month shows the local instants with the offset in force at each', async () => {
    const a = agreements.berlin!;
    const september = (await issuer.build(a.agreementId, '2026-09')).body;
    expect((await issuer.finalize(september.id, september.contentHash)).status).toBe(200);
    const october = (await issuer.build(a.agreementId, '2026-10')).body;
    const finalized = await partner.finalize(october.id, october.contentHash);
    expect(finalized.status, JSON.stringify(finalized.body)).toBe(200);
    const csv = await partner.file(october.id, 'entries.csv');
    const local = csv.text
      .trimEnd()
      .split('\r\n')
      .slice(1)
      .map((row) => row.split(',')[3]);
    expect(local.sort()).toEqual([
      '2026-10-01T00:00:00.000+02:00',
      '2026-10-25T02:30:00.000+01:00',
      '2026-10-25T02:30:00.000+02:00',
      '2026-10-31T23:30:00.000+01:00',
      '2026-10-31T23:59:59.999+01:00',
    ]);
  });
});

describe('a month is finalized from its local end, to the millisecond, and in month order', () => {
  const agreements: Record<string, { agreementId: string; offerId: string }> = {};

  beforeAll(async () => {
    world.clock.set(START);
    agreements.moscow = await agreementIn('Europe/Moscow');
    agreements.berlin = await agreementIn('Europe/Berlin');
    agreements.newYork = await agreementIn('America/New_York');
    agreements.berlinNoOctober = await agreementIn('Europe/Berlin');
    await seedAll(agreements.moscow, [
      { at: '2026-10-31T20:59:59.999Z', local: '2026-10-31T23:59:59.999+03:00', month: '2026-10' },
      { at: '2026-10-31T21:00:00.000Z', local: '2026-11-01T00:00:00.000+03:00', month: '2026-11' },
    ]);
    await seedAll(agreements.berlin, [
      { at: '2026-10-25T01:30:00.000Z', local: '2026-10-25T02:30:00.000+01:00', month: '2026-10' },
      { at: '2026-10-31T22:59:59.999Z', local: '2026-10-31T23:59:59.999+01:00', month: '2026-10' },
    ]);
    await seedAll(agreements.newYork, [
      { at: '2026-09-20T12:00:00.000Z', local: '2026-09-20T08:00:00.000-04:00', month: '2026-09' },
      { at: '2026-11-01T03:59:59.999Z', local: '2026-10-31T23:59:59.999-04:00', month: '2026-10' },
      { at: '2026-11-01T06:30:00.000Z', local: '2026-11-01T01:30:00.000-05:00', month: '2026-11' },
    ]);
    await seedAll(agreements.berlinNoOctober, [{ at: '2026-11-15T10:00:00.000Z', local: '2026-11-15T11:00:00.000+01:00', month: '2026-11' }]);
  });

  /** Builds the month, is refused 1 ms before the local month end, finalizes exactly at it. */
  async function finalizeAtTheEnd(agreementId: string, period: string, end: string) {
    world.clock.set(new Date(new Date(end).getTime() - 1));
    const draft = await issuer.build(agreementId, period);
    expect(draft.status, JSON.stringify(draft.body)).toBe(200);
    expect(draft.body.periodEnd).toBe(end);
    const early = await issuer.finalize(draft.body.id, draft.body.contentHash);
    expect(early.status).toBe(409);
    expect(early.body).toMatchObject({ code: 'STATEMENT_PERIOD_OPEN', details: { statementId: draft.body.id, periodEnd: end } });
    expect((await issuer.get(draft.body.id)).body.status).toBe('draft');

    world.clock.set(end);
    const finalized = await issuer.finalize(draft.body.id, draft.body.contentHash);
    expect(finalized.status, JSON.stringify(finalized.body)).toBe(200);
    expect(finalized.body).toMatchObject({ status: 'finalized', finalizedAt: end, contentHash: draft.body.contentHash });
    return finalized.body;
  }

  it('New York September (EDT) ends at 04:00Z on 1 October', async () => {
    const september = await finalizeAtTheEnd(agreements.newYork!.agreementId, '2026-09', '2026-10-01T04:00:00.000Z');
    expect(september.entryCount).toBe(1);
  });

  it('Moscow October ends at 21:00Z on 31 October', async () => {
    const october = await finalizeAtTheEnd(agreements.moscow!.agreementId, '2026-10', '2026-10-31T21:00:00.000Z');
    expect(october.entryCount).toBe(1);
  });

  it('Berlin October (CET at its end) ends at 23:00Z on 31 October, not at 22:00Z', async () => {
    const october = await finalizeAtTheEnd(agreements.berlin!.agreementId, '2026-10', '2026-10-31T23:00:00.000Z');
    expect(october.entryCount).toBe(2);
  });

  it('November before October is refused, whether October has only entries or only a draft', async () => {
    // New York: October has an entry and no statement at all.
    const newYorkEnd = '2026-12-01T05:00:00.000Z';
    world.clock.set(new Date(new Date(newYorkEnd).getTime() - 1));
    const november = (await issuer.build(agreements.newYork!.agreementId, '2026-11')).body;
    expect(november).toMatchObject({ periodStart: '2026-11-01T04:00:00.000Z', periodEnd: newYorkEnd, entryCount: 1 });
    const tooEarly = await issuer.finalize(november.id, november.contentHash);
    expect(tooEarly.status).toBe(409);
    expect(tooEarly.body).toMatchObject({ code: 'STATEMENT_PERIOD_OPEN', details: { periodEnd: newYorkEnd } });
    world.clock.set(newYorkEnd);
    const outOfOrder = await issuer.finalize(november.id, november.contentHash);
    expect(outOfOrder.status).toBe(409);
    expect(outOfOrder.body).toMatchObject({ code: 'EARLIER_PERIOD_UNSETTLED', details: { statementId: november.id, periods: ['2026-10'] } });
    expect((await issuer.get(november.id)).body.status).toBe('draft');

    // Berlin: October has no entries, but a draft statement.
    const berlinOctober = (await issuer.build(agreements.berlinNoOctober!.agreementId, '2026-10')).body;
    expect(berlinOctober).toMatchObject({ status: 'draft', entryCount: 0, lines: [], totals: [] });
    const berlinNovember = (await issuer.build(agreements.berlinNoOctober!.agreementId, '2026-11')).body;
    const refused = await issuer.finalize(berlinNovember.id, berlinNovember.contentHash);
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'EARLIER_PERIOD_UNSETTLED', details: { periods: ['2026-10'] } });
  });

  it('in order, New York October then November (EST at its end) are finalized', async () => {
    const newYork = agreements.newYork!.agreementId;
    const october = (await issuer.build(newYork, '2026-10')).body;
    expect(october).toMatchObject({ periodEnd: '2026-11-01T04:00:00.000Z', entryCount: 1 });
    expect((await partner.finalize(october.id, october.contentHash)).body).toMatchObject({ status: 'finalized', finalizedBy: 'partner' });
    const november = (await issuer.build(newYork, '2026-11')).body;
    const finalized = await issuer.finalize(november.id, november.contentHash);
    expect(finalized.status, JSON.stringify(finalized.body)).toBe(200);
    expect(finalized.body).toMatchObject({ status: 'finalized', entryCount: 1, periodEnd: '2026-12-01T05:00:00.000Z' });
    const csv = await issuer.file(november.id, 'entries.csv');
    expect(csv.text.trimEnd().split('\r\n')[1]!.split(',').slice(2, 4)).toEqual(['2026-11-01T06:30:00.000Z', '2026-11-01T01:30:00.000-05:00']);
  });
});
