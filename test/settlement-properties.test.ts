import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SettlementEvent } from '../server/src/db/tables.ts';
import { activeAgreement, startExchangeWorld, type ExchangeWorld } from './support/exchange.ts';
import { operatorKey } from './support/factories.ts';
import { request } from './support/http-client.ts';
import { createOffer } from './support/partner.ts';
import { newPartnerWorld } from './support/redemption.ts';
import { seedEntry, settlementApi } from './support/settlement.ts';

/**
 * Settlement as properties over random months of activity: an issuer and two partners,
 * two to four agreements (both payers, several time zones, RUB and EUR), charges and
 * their reversals at random instants of three consecutive months (often on the first or
 * last millisecond of a month), statements built and finalized in order, then entries
 * that arrive late, after their month was finalized.
 *
 * Each run settles months of a two-year span of its own (run i starts in 2030 + 2i; its
 * three months may cross into the next year): netting is coalition-wide per month, so
 * runs never see each other's statements.
 */

type ModelType = 'issuer_pays_per_issued' | 'issuer_pays_per_redeemed' | 'partner_pays_per_redeemed' | 'partner_pays_percent_of_order';
type Currency = 'RUB' | 'EUR';
/** Where in a month: its first millisecond, its last, or a fraction (in millionths) of it. */
type InMonth = 'first' | 'last' | number;

interface AgreementSpec {
  partner: 0 | 1;
  model: ModelType;
  timezone: string;
  currency: Currency;
  /** The fixed charge; for a percentage, each charge draws its own amount. */
  amountMinor: number;
}
interface ChargeSpec {
  agreement: number;
  month: number;
  at: InMonth;
  amountMinor: number;
  reversal: { monthsLater: number; at: InMonth } | null;
}
interface LateSpec {
  kind: 'charge' | 'reverse';
  /** Dated in a month that is already finalized, when the agreement has one. */
  intoFinalized: boolean;
  agreement: number;
  month: number;
  at: InMonth;
  amountMinor: number;
  target: number;
}
interface Scenario {
  firstMonth: number;
  agreements: AgreementSpec[];
  charges: ChargeSpec[];
  late: LateSpec[];
  /** Per agreement, how many of the three months are finalized before the late entries arrive. */
  finalizedFirst: number[];
}

const ZONES = ['Europe/Moscow', 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata'] as const;
const MONTHS = 3;

const inMonthArb: fc.Arbitrary<InMonth> = fc.oneof(
  { arbitrary: fc.constant('first' as const), weight: 1 },
  { arbitrary: fc.constant('last' as const), weight: 1 },
  { arbitrary: fc.integer({ min: 0, max: 999_999 }), weight: 4 },
);
const amountArb = fc.integer({ min: 1, max: 100_000 });
const agreementArb = (models: readonly ModelType[], zones: readonly string[], currencies: readonly Currency[], partners: ReadonlyArray<0 | 1>) =>
  fc.record({
    partner: fc.constantFrom(...partners),
    model: fc.constantFrom(...models),
    timezone: fc.constantFrom(...zones),
    currency: fc.constantFrom(...currencies),
    amountMinor: amountArb,
  });

const scenarioArb: fc.Arbitrary<Scenario> = fc
  .record({
    firstMonth: fc.integer({ min: 1, max: 12 }),
    // The first agreement: the issuer pays, in the issuer's zone and currency, with the first partner;
    // the second: the other partner pays, in another zone, in EUR; up to two more of anything.
    agreements: fc
      .tuple(
        agreementArb(['issuer_pays_per_issued', 'issuer_pays_per_redeemed'], ['Europe/Moscow'], ['RUB'], [0]),
        agreementArb(['partner_pays_per_redeemed', 'partner_pays_percent_of_order'], ZONES.slice(1), ['EUR'], [1]),
        fc.array(agreementArb(['issuer_pays_per_issued', 'issuer_pays_per_redeemed', 'partner_pays_per_redeemed', 'partner_pays_percent_of_order'], ZONES, ['RUB', 'EUR'], [0, 1]), { maxLength: 2 }),
      )
      .map(([first, second, more]) => [first, second, ...more]),
    charges: fc.array(
      fc.record({
        agreement: fc.nat(),
        month: fc.integer({ min: 0, max: MONTHS - 1 }),
        at: inMonthArb,
        amountMinor: amountArb,
        reversal: fc.option(fc.record({ monthsLater: fc.integer({ min: 0, max: 2 }), at: inMonthArb }), { freq: 3 }),
      }),
      { minLength: 1, maxLength: 14 },
    ),
    late: fc.array(
      fc.record({
        kind: fc.constantFrom('charge' as const, 'reverse' as const),
        intoFinalized: fc.boolean(),
        agreement: fc.nat(),
        month: fc.integer({ min: 0, max: MONTHS - 1 }),
        at: inMonthArb,
        amountMinor: amountArb,
        target: fc.nat(),
      }),
      { minLength: 1, maxLength: 6 },
    ),
    finalizedFirst: fc.array(fc.integer({ min: 0, max: MONTHS - 1 }), { minLength: 4, maxLength: 4 }),
  })
  .map((scenario) => ({
    ...scenario,
    charges: scenario.charges.map((charge) => ({ ...charge, agreement: charge.agreement % scenario.agreements.length })),
    late: scenario.late.map((late) => ({ ...late, agreement: late.agreement % scenario.agreements.length })),
  }));

// ---- calendar, independently of server/src/system/calendar.ts ------------------------

/** The zone's UTC offset at an instant, in ms, read from ICU's "GMT+05:30" form. */
function offsetMs(instant: number, timeZone: string): number {
  const name = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' }).formatToParts(instant).find((part) => part.type === 'timeZoneName')!.value;
  const match = /^GMT(?:([+-])(\d{2}):(\d{2}))?$/.exec(name);
  if (!match) throw new Error(`unexpected offset ${name}`);
  if (!match[1]) return 0;
  return (match[1] === '-' ? -1 : 1) * (Number(match[2]) * 60 + Number(match[3])) * 60_000;
}

/** Local midnight of the 1st of a month (month may be 13 or more: into the next year), as a UTC instant. */
function localMonthStart(year: number, month: number, timeZone: string): number {
  const wall = Date.UTC(year, month - 1, 1);
  const guess = wall - offsetMs(wall, timeZone);
  return wall - offsetMs(guess, timeZone);
}

const pad2 = (n: number) => String(n).padStart(2, '0');

// ---- the world -------------------------------------------------------------------------

let world: ExchangeWorld;
let partner2: ExchangeWorld;
let opKey: string;
let run = 0;

beforeAll(async () => {
  world = await startExchangeWorld({ start: '2029-12-01T00:00:00Z' });
  partner2 = await newPartnerWorld(world, 'mart');
  opKey = await operatorKey(world.system.services);
});
afterAll(() => world.stop());

interface RunAgreement {
  spec: AgreementSpec;
  id: string;
  offerId: string;
  partnerSlug: string;
  partnerKey: string;
  payerSlug: string;
  payeeSlug: string;
  /** Months finalized so far: always a prefix 0..finalized-1. */
  finalized: number;
}

interface ModelEntry {
  agreement: number;
  month: number;
  /** The month it corrects (its own for a charge). */
  rel: number;
  event: SettlementEvent;
  amountMinor: number;
  currency: string;
  voucherId: string;
  late: boolean;
  /** The month of the finalized statement that took it. */
  takenBy: number | null;
}

interface Line {
  section: 'period' | 'adjustment';
  relatesToPeriod: string;
  offerId: string | null;
  event: SettlementEvent;
  statementRef: string | null;
  currency: string;
  count: number;
  amountMinor: number;
}

const lineKey = (line: Line) => [line.section, line.relatesToPeriod, line.event, line.currency].join(' ');
const byKey = (lines: readonly Line[]) => [...lines].sort((a, b) => lineKey(a).localeCompare(lineKey(b)));
/** −0 would not equal 0. */
const negate = (n: number) => (n === 0 ? 0 : -n);

/** Sums per currency as { currency: [count, sum] }, from rows of currency, n, sum. */
function perCurrency(rows: ReadonlyArray<{ currency: string; n: number | string; sum: number | string }>): Record<string, [number, number]> {
  return Object.fromEntries(rows.map((row) => [row.currency.trim(), [Number(row.n), Number(row.sum)]]));
}

async function runScenario(scenario: Scenario): Promise<void> {
  const index = run++;
  const year = 2030 + 2 * index;
  if (year + 1 > 2999) throw new Error('out of years for distinct runs');
  const label = (month: number) => {
    const zeroBased = scenario.firstMonth - 1 + month;
    return `${year + Math.floor(zeroBased / 12)}-${pad2((zeroBased % 12) + 1)}`;
  };
  const db = world.system.services.db;
  const issuer = settlementApi(world, world.issuer.key);
  const issuerSlug = world.issuer.tenant.slug;
  const partners = [world, partner2];
  const apiOf = (key: string) => settlementApi(world, key);
  const boundsOf = (agreement: RunAgreement, month: number) => ({
    start: localMonthStart(year, scenario.firstMonth + month, agreement.spec.timezone),
    end: localMonthStart(year, scenario.firstMonth + month + 1, agreement.spec.timezone),
  });
  const instant = (agreement: RunAgreement, month: number, at: InMonth): number => {
    const { start, end } = boundsOf(agreement, month);
    return at === 'first' ? start : at === 'last' ? end - 1 : start + Math.floor((at * (end - start)) / 1_000_000);
  };

  // Before the first month (in every zone): the agreements are in force from now.
  world.clock.set(new Date(Date.UTC(year, scenario.firstMonth - 1, 1) - 2 * 86_400_000));
  const agreements: RunAgreement[] = [];
  for (const spec of scenario.agreements) {
    const partnerWorld = partners[spec.partner]!;
    const offer = await createOffer(world.system.baseUrl, partnerWorld.partner.key, { currency: spec.currency });
    const model = spec.model === 'partner_pays_percent_of_order' ? { type: spec.model, percent: 5 } : { type: spec.model, amountMinor: spec.amountMinor };
    const agreement = await activeAgreement(partnerWorld, [offer.id], { timezone: spec.timezone, currency: spec.currency, model });
    const partnerSlug = partnerWorld.partner.tenant.slug;
    const issuerPays = spec.model.startsWith('issuer_pays');
    agreements.push({
      spec,
      id: agreement.id,
      offerId: offer.id,
      partnerSlug,
      partnerKey: partnerWorld.partner.key,
      payerSlug: issuerPays ? issuerSlug : partnerSlug,
      payeeSlug: issuerPays ? partnerSlug : issuerSlug,
      finalized: 0,
    });
  }

  // ---- entries ----
  const entries: ModelEntry[] = [];
  let serial = 0;
  const voucherOf = () => `vch_r${String(index).padStart(3, '0')}e${String(serial++).padStart(7, '0')}`;
  async function seed(agreementIndex: number, entry: { month: number; at: number; rel: number; event: SettlementEvent; amountMinor: number; voucherId: string; redemptionId?: string }, late: boolean) {
    const agreement = agreements[agreementIndex]!;
    await seedEntry(world, agreement.id, {
      voucherId: entry.voucherId,
      offerId: agreement.offerId,
      event: entry.event,
      amountMinor: entry.amountMinor,
      occurredAt: new Date(entry.at),
      ...(entry.redemptionId ? { redemptionId: entry.redemptionId } : {}),
      ...(entry.event === 'issue_cancelled' || entry.event === 'redemption_reversed' ? { relatesToPeriod: `${label(entry.rel)}-01` } : {}),
    });
    const modelEntry: ModelEntry = { agreement: agreementIndex, month: entry.month, rel: entry.rel, event: entry.event, amountMinor: entry.amountMinor, currency: agreement.spec.currency, voucherId: entry.voucherId, late, takenBy: null };
    entries.push(modelEntry);
    return modelEntry;
  }
  interface Charge {
    entry: ModelEntry;
    at: number;
    redemptionId: string | undefined;
    reversed: boolean;
  }
  const charges: Charge[] = [];
  async function charge(spec: { agreement: number; month: number; at: InMonth; amountMinor: number }, late: boolean): Promise<Charge> {
    const agreement = agreements[spec.agreement]!;
    const at = instant(agreement, spec.month, spec.at);
    const perIssued = agreement.spec.model === 'issuer_pays_per_issued';
    const amountMinor = agreement.spec.model === 'partner_pays_percent_of_order' ? spec.amountMinor : agreement.spec.amountMinor;
    const voucherId = voucherOf();
    const redemptionId = perIssued ? undefined : `red_${voucherId.slice(4)}`;
    const entry = await seed(spec.agreement, { month: spec.month, at, rel: spec.month, event: perIssued ? 'code_issued' : 'code_redeemed', amountMinor, voucherId, ...(redemptionId ? { redemptionId } : {}) }, late);
    const made = { entry, at, redemptionId, reversed: false };
    charges.push(made);
    return made;
  }
  /** Takes a charge back in `month` (not before the charge), relating to the charge's month. */
  async function reverse(made: Charge, month: number, at: InMonth, late: boolean) {
    const agreement = agreements[made.entry.agreement]!;
    const when = Math.max(made.at, instant(agreement, month, at));
    made.reversed = true;
    await seed(
      made.entry.agreement,
      {
        month,
        at: when,
        rel: made.entry.month,
        event: made.entry.event === 'code_issued' ? 'issue_cancelled' : 'redemption_reversed',
        amountMinor: -made.entry.amountMinor,
        voucherId: made.entry.voucherId,
        ...(made.redemptionId ? { redemptionId: made.redemptionId } : {}),
      },
      late,
    );
  }
  for (const spec of scenario.charges) {
    const made = await charge(spec, false);
    if (spec.reversal) await reverse(made, Math.min(MONTHS - 1, spec.month + spec.reversal.monthsLater), spec.reversal.at, false);
  }

  // After the last month, in every zone.
  world.clock.set(new Date(Date.UTC(year, scenario.firstMonth - 1 + MONTHS, 2)));

  // ---- checks ----
  /** What the statement of (agreement, month) covers now, by the rules. */
  const coverage = (a: number, month: number): ModelEntry[] => {
    const agreement = agreements[a]!;
    if (month < agreement.finalized) return entries.filter((entry) => entry.agreement === a && entry.takenBy === month);
    // Late entries of finalized months: only in the earliest open month (drafts of every month exist, built in order).
    return entries.filter((entry) => entry.agreement === a && entry.takenBy === null && (entry.month === month || (month === agreement.finalized && entry.month < agreement.finalized)));
  };

  async function expectStatement(a: number, month: number, statement: any): Promise<void> {
    const agreement = agreements[a]!;
    const covered = coverage(a, month);
    const context = `run ${index} agreement ${a} (${agreement.spec.model}, ${agreement.spec.timezone}) ${label(month)} ${statement.status}`;
    expect(statement, context).toMatchObject({ agreementId: agreement.id, period: label(month), timezone: agreement.spec.timezone, entryCount: covered.length });
    expect(Date.parse(statement.periodStart), context).toBe(boundsOf(agreement, month).start);
    expect(Date.parse(statement.periodEnd), context).toBe(boundsOf(agreement, month).end);

    // The lines: the covered entries grouped, adjustments for the earlier months they correct.
    const groups = new Map<string, Line>();
    for (const entry of covered) {
      const line: Line = {
        section: entry.rel < month ? 'adjustment' : 'period',
        relatesToPeriod: label(entry.rel),
        offerId: agreement.offerId,
        event: entry.event,
        statementRef: null,
        currency: entry.currency,
        count: 0,
        amountMinor: 0,
      };
      const found = groups.get(lineKey(line)) ?? line;
      found.count += 1;
      found.amountMinor += entry.amountMinor;
      groups.set(lineKey(line), found);
    }
    expect(byKey(statement.lines), context).toEqual(byKey([...groups.values()]));
    const sections = (statement.lines as Line[]).map((line) => line.section);
    expect(sections, `${context}: period lines first`).toEqual([...sections].sort((x, y) => (x === y ? 0 : x === 'period' ? -1 : 1)));

    // The totals: per currency, the sum of its lines only, signed from payer to payee.
    const currencies = [...new Set(covered.map((entry) => entry.currency))].sort();
    expect(
      statement.totals,
      context,
    ).toEqual(
      currencies.map((currency) => {
        const lines = (statement.lines as Line[]).filter((line) => line.currency === currency);
        const periodMinor = lines.filter((line) => line.section === 'period').reduce((sum, line) => sum + line.amountMinor, 0);
        const adjustmentsMinor = lines.filter((line) => line.section === 'adjustment').reduce((sum, line) => sum + line.amountMinor, 0);
        const netMinor = periodMinor + adjustmentsMinor;
        expect(netMinor, context).toBe(covered.filter((entry) => entry.currency === currency).reduce((sum, entry) => sum + entry.amountMinor, 0));
        return {
          currency,
          periodMinor,
          adjustmentsMinor,
          netMinor,
          owedBy: netMinor > 0 ? agreement.payerSlug : netMinor < 0 ? agreement.payeeSlug : null,
          owedTo: netMinor > 0 ? agreement.payeeSlug : netMinor < 0 ? agreement.payerSlug : null,
          amountMinor: Math.abs(netMinor),
        };
      }),
    );

    // The same totals straight from the entry tables.
    const { rows } =
      statement.status === 'draft'
        ? await sql<{ currency: string; n: number; sum: string }>`
            select e.currency, count(*)::int as n, sum(e.amount_minor)::text as sum from coalition.settlement_entries e
             where e.agreement_id = ${agreement.id}
               and not exists (select 1 from coalition.settlement_statement_entries s where s.entry_id = e.id)
               and (e.period = ${`${label(month)}-01`}::date
                    or (e.period in (select st.period from coalition.settlement_statements st
                                      where st.agreement_id = ${agreement.id} and st.status <> 'draft' and st.period < ${`${label(month)}-01`}::date)
                        -- late entries go to the earliest open month only
                        and not exists (select 1 from coalition.settlement_statements d
                                         where d.agreement_id = ${agreement.id} and d.status = 'draft' and d.period < ${`${label(month)}-01`}::date)))
             group by e.currency`.execute(db)
        : await sql<{ currency: string; n: number; sum: string }>`
            select e.currency, count(*)::int as n, sum(e.amount_minor)::text as sum from coalition.settlement_statement_entries s
              join coalition.settlement_entries e on e.id = s.entry_id
             where s.statement_id = ${statement.id}
             group by e.currency`.execute(db);
    expect(perCurrency(rows), context).toEqual(Object.fromEntries((statement.totals as any[]).map((total) => [total.currency, [covered.filter((entry) => entry.currency === total.currency).length, total.netMinor]])));
  }

  const statements: any[][] = agreements.map(() => []);
  const phaseBHash: string[][] = agreements.map(() => []);

  async function build(a: number, month: number): Promise<any> {
    const built = await issuer.build(agreements[a]!.id, label(month));
    expect(built.status, JSON.stringify(built.body)).toBe(200);
    statements[a]![month] = built.body;
    await expectStatement(a, month, built.body);
    return built.body;
  }

  async function finalize(a: number, month: number, hash: string): Promise<any> {
    const agreement = agreements[a]!;
    const key = (a + month) % 2 === 0 ? world.issuer.key : agreement.partnerKey;
    const finalized = await apiOf(key).finalize(statements[a]![month].id, hash);
    expect(finalized.status, JSON.stringify(finalized.body)).toBe(200);
    for (const entry of coverage(a, month)) entry.takenBy = month;
    agreement.finalized = month + 1;
    expect(finalized.body).toMatchObject({ status: 'finalized', contentHash: hash });
    statements[a]![month] = finalized.body;
    await expectStatement(a, month, finalized.body);
    return finalized.body;
  }

  /** The operator's netting of a month against the statements each tenant sees, and each tenant's own view. */
  async function expectNetting(month: number): Promise<void> {
    const period = label(month);
    const context = `run ${index} netting ${period}`;
    const operator = await request(world.system.baseUrl, 'GET', `/api/v1/operator/settlement/netting?period=${period}`, { key: opKey });
    expect(operator.status, JSON.stringify(operator.body)).toBe(200);
    const view = operator.body;
    expect(view.statements, context).toBe(agreements.length);
    expect(view.draftStatements, context).toBe(agreements.filter((agreement) => agreement.finalized <= month).length);
    // Positions are consistent, and the transfers settle every balance to zero per currency.
    const balances = new Map<string, number>();
    for (const position of view.positions) {
      expect(position.netMinor, context).toBe(position.owedMinor - position.owesMinor);
      balances.set(`${position.currency} ${position.tenant}`, position.netMinor);
    }
    for (const transfer of view.transfers) {
      expect(transfer.amountMinor, context).toBeGreaterThan(0);
      for (const [tenant, sign] of [[transfer.from, 1], [transfer.to, -1]] as const) {
        const key = `${transfer.currency} ${tenant}`;
        expect(balances.has(key), `${context}: ${key} has a position`).toBe(true);
        balances.set(key, balances.get(key)! + sign * transfer.amountMinor);
      }
    }
    expect([...balances].filter(([, balance]) => balance !== 0), context).toEqual([]);

    // Each tenant's position per currency is the sum of its yourNet over the month's statements.
    const tenants = [
      { slug: issuerSlug, key: world.issuer.key },
      ...partners.map((partnerWorld) => ({ slug: partnerWorld.partner.tenant.slug, key: partnerWorld.partner.key })),
    ];
    expect(new Set(view.positions.map((position: any) => position.tenant)).size, context).toBeLessThanOrEqual(tenants.length);
    for (const tenant of tenants) {
      const api = apiOf(tenant.key);
      const listed = await api.list(`?period=${period}`);
      expect(listed.status).toBe(200);
      expect(listed.body.nextCursor).toBeNull();
      const own = agreements.filter((agreement) => tenant.slug === issuerSlug || agreement.partnerSlug === tenant.slug);
      expect(listed.body.statements.map((statement: any) => statement.agreementId).sort(), context).toEqual(own.map((agreement) => agreement.id).sort());
      const nets = new Map<string, number>();
      for (const statement of listed.body.statements) {
        for (const net of statement.yourNet) nets.set(net.currency, (nets.get(net.currency) ?? 0) + net.amountMinor);
      }
      const positions = view.positions.filter((position: any) => position.tenant === tenant.slug);
      for (const currency of new Set([...nets.keys(), ...positions.map((position: any) => position.currency)])) {
        expect(positions.find((position: any) => position.currency === currency)?.netMinor ?? 0, `${context} ${tenant.slug} ${currency}`).toBe(nets.get(currency) ?? 0);
      }
      // The tenant's own view: exactly its positions, and the transfers it makes or receives.
      const mine = await api.netting(period);
      expect(mine.status).toBe(200);
      expect(mine.body.positions, context).toEqual(positions);
      expect(mine.body.transfers, context).toEqual(view.transfers.filter((transfer: any) => transfer.from === tenant.slug || transfer.to === tenant.slug));
      // Counted: its own statements only, and only the currencies it has a balance in.
      expect(mine.body, context).toMatchObject({ period, statements: listed.body.statements.length, draftStatements: listed.body.statements.filter((statement: any) => statement.status === 'draft').length });
      expect(Object.keys(mine.body.optimal).sort(), context).toEqual([...new Set(positions.map((position: any) => position.currency))].sort());
    }
  }

  /** Issuer and partner see the same statement, each with its own sign. */
  async function expectBothViews(a: number, month: number): Promise<void> {
    const agreement = agreements[a]!;
    const id = statements[a]![month].id;
    const [asIssuer, asPartner] = await Promise.all([issuer.get(id), apiOf(agreement.partnerKey).get(id)]);
    expect(asIssuer.status).toBe(200);
    expect(asPartner.status).toBe(200);
    const shared = (body: any) => ({ lines: body.lines, totals: body.totals, contentHash: body.contentHash, entryCount: body.entryCount, status: body.status, periodStart: body.periodStart, periodEnd: body.periodEnd });
    expect(shared(asPartner.body)).toEqual(shared(asIssuer.body));
    expect(asIssuer.body.yourSide).toBe('issuer');
    expect(asPartner.body.yourSide).toBe('partner');
    expect(asPartner.body.yourNet).toEqual(asIssuer.body.yourNet.map((net: any) => ({ currency: net.currency, amountMinor: negate(net.amountMinor) })));
    // Positive = you receive: the payee receives the net.
    const payeeNet = agreement.payeeSlug === issuerSlug ? asIssuer.body.yourNet : asPartner.body.yourNet;
    expect(payeeNet).toEqual(asIssuer.body.totals.map((total: any) => ({ currency: total.currency, amountMinor: total.netMinor })));
  }

  // Each entry is in the month of its instant in the agreement's zone.
  const placed = await sql<{ voucher_id: string; event: string; period: string }>`
    select voucher_id, event, period from coalition.settlement_entries where agreement_id = any(${agreements.map((agreement) => agreement.id)}::text[])`.execute(db);
  expect(placed.rows.map((row) => `${row.voucher_id} ${row.event} ${row.period}`).sort()).toEqual(entries.map((entry) => `${entry.voucherId} ${entry.event} ${label(entry.month)}-01`).sort());

  // ---- months built in order; the first ones finalized ----
  for (const [a, agreement] of agreements.entries()) {
    const first = Math.min(scenario.finalizedFirst[a] ?? 0, MONTHS - 1);
    for (let month = 0; month < MONTHS; month++) {
      const draft = await build(a, month);
      phaseBHash[a]![month] = draft.contentHash;
      if (month < first) {
        const finalized = await finalize(a, month, draft.contentHash);
        expect(finalized.contentHash).toBe(draft.contentHash);
      }
    }
    expect(agreement.finalized).toBe(first);
  }
  const frozen = statements.map((months) => months.map((statement) => (statement.status === 'finalized' ? statement : null)));

  // ---- late entries: committed after their month was finalized, and reversals of earlier months ----
  for (const late of scenario.late) {
    const finalized = agreements[late.agreement]!.finalized;
    if (late.kind === 'charge') {
      await charge({ ...late, month: late.intoFinalized && finalized > 0 ? late.month % finalized : late.month }, true);
    } else {
      const open = charges.filter((made) => !made.reversed);
      const beforeFinalized = open.filter((made) => made.entry.month < agreements[made.entry.agreement]!.finalized);
      const candidates = late.intoFinalized && beforeFinalized.length ? beforeFinalized : open;
      if (candidates.length === 0) continue;
      const made = candidates[late.target % candidates.length]!;
      const chargeMonth = made.entry.month;
      const until = agreements[made.entry.agreement]!.finalized;
      await reverse(made, late.intoFinalized && chargeMonth < until ? chargeMonth + (late.month % (until - chargeMonth)) : Math.max(chargeMonth, late.month), late.at, true);
    }
  }

  // Finalized statements do not change, and rebuild to the same bytes.
  for (const [a, months] of frozen.entries()) {
    for (const [month, statement] of months.entries()) {
      if (!statement) continue;
      const now = await issuer.get(statement.id);
      expect(now.body).toMatchObject({ status: 'finalized', contentHash: statement.contentHash, lines: statement.lines, totals: statement.totals, entryCount: statement.entryCount });
      expect((await issuer.verify(statement.id)).body).toEqual({ statementId: statement.id, status: 'finalized', identical: true, contentHash: statement.contentHash, rebuiltContentHash: statement.contentHash });
      expect((await issuer.build(agreements[a]!.id, label(month))).body.contentHash).toBe(statement.contentHash);
      await expectStatement(a, month, now.body);
    }
  }

  // The open months rebuilt: late entries of finalized months are adjustments of the first open one.
  for (const [a, agreement] of agreements.entries()) {
    for (let month = agreement.finalized; month < MONTHS; month++) {
      const draft = await build(a, month);
      if (month === agreement.finalized) {
        const lateInClosed = entries.filter((entry) => entry.agreement === a && entry.late && entry.month < month);
        const adjustments = (draft.lines as Line[]).filter((line) => line.section === 'adjustment');
        for (const entry of lateInClosed) {
          expect(adjustments.some((line) => line.relatesToPeriod === label(entry.rel) && line.event === entry.event), `late ${entry.event} of ${label(entry.month)} in ${label(month)}`).toBe(true);
        }
      }
    }
  }
  for (let month = 0; month < MONTHS; month++) await expectNetting(month);
  for (const [a] of agreements.entries()) for (let month = 0; month < MONTHS; month++) await expectBothViews(a, month);

  // ---- everything finalized, in order ----
  for (const [a, agreement] of agreements.entries()) {
    const first = agreement.finalized;
    for (let month = first; month < MONTHS; month++) {
      if (month === first) {
        // The draft reviewed before the late entries: finalizing it is refused if they changed what it covers.
        const reviewed = phaseBHash[a]![month]!;
        const current = statements[a]![month].contentHash;
        if (reviewed !== current) {
          const stale = await issuer.finalize(statements[a]![month].id, reviewed);
          expect(stale.status).toBe(409);
          expect(stale.body).toMatchObject({ code: 'STATEMENT_CHANGED', details: { expectedContentHash: reviewed, contentHash: current } });
          expect((await issuer.get(statements[a]![month].id)).body.status).toBe('draft');
        }
      }
      const draft = await build(a, month);
      await finalize(a, month, draft.contentHash);
    }
  }
  expect(entries.every((entry) => entry.takenBy !== null)).toBe(true);

  // Every entry is taken by exactly one finalized statement; the statements add up to the entries.
  const ids = agreements.map((agreement) => agreement.id);
  const { rows: coverageRows } = await sql<{ entries: number; taken: number; distinct_taken: number; untaken: number }>`
    select (select count(*) from coalition.settlement_entries where agreement_id = any(${ids}::text[]))::int as entries,
           (select count(*) from coalition.settlement_statement_entries s join coalition.settlement_statements st on st.id = s.statement_id
             where st.agreement_id = any(${ids}::text[]) and st.status = 'finalized')::int as taken,
           (select count(distinct s.entry_id) from coalition.settlement_statement_entries s join coalition.settlement_entries e on e.id = s.entry_id
             where e.agreement_id = any(${ids}::text[]))::int as distinct_taken,
           (select count(*) from coalition.settlement_entries e where e.agreement_id = any(${ids}::text[])
             and not exists (select 1 from coalition.settlement_statement_entries s where s.entry_id = e.id))::int as untaken`.execute(db);
  expect(coverageRows[0]).toEqual({ entries: entries.length, taken: entries.length, distinct_taken: entries.length, untaken: 0 });
  const { rows: sums } = await sql<{ agreement_id: string; currency: string; n: number; sum: string }>`
    select agreement_id, currency, count(*)::int as n, sum(amount_minor)::text as sum from coalition.settlement_entries
     where agreement_id = any(${ids}::text[]) group by 1, 2`.execute(db);
  for (const [a, agreement] of agreements.entries()) {
    const fromStatements = new Map<string, number>();
    for (const statement of statements[a]!) for (const total of statement.totals) fromStatements.set(total.currency, (fromStatements.get(total.currency) ?? 0) + total.netMinor);
    const fromEntries = sums.filter((row) => row.agreement_id === agreement.id);
    expect(Object.fromEntries([...fromStatements].filter(([, sum]) => sum !== 0)), `run ${index} agreement ${a}`).toEqual(
      Object.fromEntries(fromEntries.map((row) => [row.currency.trim(), Number(row.sum)]).filter(([, sum]) => sum !== 0)),
    );
    expect(statements[a]!.reduce((sum, statement) => sum + statement.entryCount, 0)).toBe(fromEntries.reduce((sum, row) => sum + row.n, 0));
  }
  for (let month = 0; month < MONTHS; month++) await expectNetting(month);
  for (const [a] of agreements.entries()) for (let month = 0; month < MONTHS; month++) await expectBothViews(a, month);
}

describe('settlement over random months of activity', () => {
  it('statements add up to their entries, stay fixed once finalized, take late entries as adjustments and net to zero', { timeout: 240_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (scenario) => {
        await runScenario(scenario);
      }),
      { numRuns: 12, interruptAfterTimeLimit: 150_000, markInterruptAsFailure: true },
    );
    expect(run).toBeGreaterThanOrEqual(12);
  });
});
