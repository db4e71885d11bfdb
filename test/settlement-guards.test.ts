import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coalitionDb } from '../server/src/db/database.ts';
import { closeSettlementPeriods, executeRun } from '../server/src/settlement/settlement-runs.ts';
import { activeAgreement, offerWithCodes, startExchangeWorld, type ExchangeWorld } from './support/exchange.ts';
import { seedEntry, settlementApi } from './support/settlement.ts';

// Moscow (UTC+3, no DST): October 2026 is 2026-09-30T21:00Z to 2026-10-31T21:00Z, due 2026-11-01T00:00Z.
const START = '2026-10-02T10:00:00Z';
let world: ExchangeWorld;
let api: ReturnType<typeof settlementApi>;
const coalition = () => coalitionDb(world.system.services.db);

beforeAll(async () => {
  world = await startExchangeWorld({ start: START });
  api = settlementApi(world, world.issuer.key);
});
afterAll(() => world.stop());

let seq = 0;
async function agreementWithCharges(timezone: string, instants: string[]): Promise<{ id: string; offerId: string }> {
  world.clock.set(START);
  const offer = await offerWithCodes(world, []);
  const agreement = await activeAgreement(world, [offer.id], { timezone });
  for (const at of instants) {
    seq++;
    await seedEntry(world, agreement.id, { voucherId: `vch_guard${String(seq).padStart(7, '0')}`, offerId: offer.id, event: 'code_issued', amountMinor: 5_000, occurredAt: new Date(at) });
  }
  return { id: agreement.id, offerId: offer.id };
}

describe('the schedule and a preview draft', () => {
  it('a draft built during the month is rebuilt at 03:00 on the 1st with the rest of the month; a fresh one is left alone', async () => {
    const agreement = await agreementWithCharges('Europe/Moscow', ['2026-10-10T10:00:00Z']);
    world.clock.set('2026-10-20T10:00:00Z');
    const preview = (await api.build(agreement.id, '2026-10')).body;
    expect(preview).toMatchObject({ status: 'draft', entryCount: 1 });
    await seedEntry(world, agreement.id, { voucherId: 'vch_guardlate0001', offerId: agreement.offerId, event: 'code_issued', amountMinor: 5_000, occurredAt: new Date('2026-10-31T20:59:59.999Z') });

    world.clock.set('2026-11-01T00:00:00Z');
    const runId = await closeSettlementPeriods(world.system.services, world.system.services.logger);
    expect(runId).toMatch(/^srun_/);
    const run = await executeRun(world.system.services, runId!, world.system.services.logger);
    expect(run).toMatchObject({ status: 'succeeded', statements_built: 1 });
    const rebuilt = (await api.get(preview.id)).body;
    expect(rebuilt).toMatchObject({ id: preview.id, status: 'draft', entryCount: 2, builtAt: '2026-11-01T00:00:00.000Z' });

    // Built after it was due: the next sweeps leave it as it is.
    world.clock.set('2026-11-01T00:15:00Z');
    expect(await closeSettlementPeriods(world.system.services, world.system.services.logger)).toBeNull();
  });
});

describe('runs that cannot finish', () => {
  it('a run on its fourth attempt (its worker died each time) is marked failed instead of running again', async () => {
    await coalition()
      .insertInto('settlement_runs')
      .values({ id: 'srun_dying00000001', tenant_id: null, period: null, trigger: 'api', requested_by: 'test', status: 'running', attempts: 3, created_at: new Date(START), started_at: new Date(START) })
      .execute();
    expect(await executeRun(world.system.services, 'srun_dying00000001', world.system.services.logger)).toBeUndefined();
    const row = await coalition().selectFrom('settlement_runs').selectAll().where('id', '=', 'srun_dying00000001').executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: 'failed', attempts: 4 });
    expect(row.error).toContain('gave up after 3 attempts');
    expect(row.finished_at).not.toBeNull();
  });
});

describe('one agreement that cannot be built', () => {
  it('does not keep the others from being settled; the run names it, is retried, and fails after three attempts', async () => {
    const good = await agreementWithCharges('Europe/Moscow', ['2026-10-13T10:00:00Z']);
    const bad = await agreementWithCharges('Europe/Moscow', []);
    // An amount no statement can hold exactly (beyond 2^53): written past the application, as corrupt data would be.
    await sql`
      insert into coalition.settlement_entries (agreement_id, voucher_id, offer_id, event, payer_tenant_id, payee_tenant_id, amount_minor, currency, occurred_at, period)
      select id, 'vch_guardhuge0001', ${bad.offerId}, 'code_issued', issuer_tenant_id, partner_tenant_id, 9007199254740993, 'RUB', '2026-10-14T10:00:00Z', '2026-10-01'
        from coalition.agreements where id = ${bad.id}`.execute(world.system.services.db);
    world.clock.set('2026-11-05T10:00:00Z');
    await coalition()
      .insertInto('settlement_runs')
      .values({ id: 'srun_partial000001', tenant_id: null, period: '2026-10-01', trigger: 'api', requested_by: 'test', status: 'queued', created_at: world.clock.now() })
      .execute();
    await expect(executeRun(world.system.services, 'srun_partial000001', world.system.services.logger)).rejects.toThrow(bad.id);
    const statements = await coalition().selectFrom('settlement_statements').select(['agreement_id', 'entry_count']).where('agreement_id', 'in', [good.id, bad.id]).execute();
    expect(statements).toEqual([{ agreement_id: good.id, entry_count: 1 }]);
    const attempt = await coalition().selectFrom('settlement_runs').selectAll().where('id', '=', 'srun_partial000001').executeTakeFirstOrThrow();
    expect(attempt).toMatchObject({ status: 'running', attempts: 1 });
    expect(attempt.error).toContain(`${bad.id} 2026-10`);

    await coalition().updateTable('settlement_runs').set({ attempts: 2 }).where('id', '=', 'srun_partial000001').execute();
    expect(await executeRun(world.system.services, 'srun_partial000001', world.system.services.logger)).toBeUndefined();
    const last = await coalition().selectFrom('settlement_runs').selectAll().where('id', '=', 'srun_partial000001').executeTakeFirstOrThrow();
    expect(last).toMatchObject({ status: 'failed', attempts: 3 });
    expect(last.error).toContain(bad.id);
  });
});

describe('a finalized statement is fixed in the database too', () => {
  let statementId: string;
  let agreementId: string;
  let contentHash: string;

  beforeAll(async () => {
    const agreement = await agreementWithCharges('Europe/Moscow', ['2026-10-11T10:00:00Z', '2026-10-12T10:00:00Z']);
    agreementId = agreement.id;
    world.clock.set('2026-11-02T10:00:00Z');
    const draft = (await api.build(agreement.id, '2026-10')).body;
    const finalized = await api.finalize(draft.id, draft.contentHash);
    expect(finalized.status).toBe(200);
    statementId = draft.id;
    contentHash = draft.contentHash;
  });

  it('refuses a direct change of its content, its lines, the entries it took, or its deletion', async () => {
    const db = world.system.services.db;
    const refused = async (statement: Promise<unknown>) => expect(statement).rejects.toThrow(/fixed|never deleted|append-only/);
    await refused(sql`update coalition.settlement_statements set document = '{}' where id = ${statementId}`.execute(db));
    await refused(sql`update coalition.settlement_statements set totals = '[]' where id = ${statementId}`.execute(db));
    await refused(sql`update coalition.settlement_statements set status = 'draft' where id = ${statementId}`.execute(db));
    await refused(sql`delete from coalition.settlement_statements where id = ${statementId}`.execute(db));
    await refused(sql`delete from coalition.settlement_statement_lines where statement_id = ${statementId}`.execute(db));
    await refused(sql`update coalition.settlement_statement_lines set amount_minor = 1 where statement_id = ${statementId}`.execute(db));
    await refused(sql`insert into coalition.settlement_statement_lines (statement_id, line_no, section, relates_to_period, event, currency, count, amount_minor) values (${statementId}, 99, 'period', '2026-10-01', 'code_issued', 'RUB', 1, 1)`.execute(db));
    await refused(sql`delete from coalition.settlement_statement_entries where statement_id = ${statementId}`.execute(db));
    // Its lifecycle still moves on.
    expect((await api.pay(statementId, 'PAY-1')).body).toMatchObject({ status: 'paid', contentHash });
  });

  it('verifies against the header it was finalized with, even if the agreement\'s zone changes under it', async () => {
    // As if the zone's rules changed: the month's instants would be computed differently today.
    await sql`update coalition.agreements set timezone = 'Asia/Tokyo' where id = ${agreementId}`.execute(world.system.services.db);
    expect((await api.verify(statementId)).body).toMatchObject({ identical: true, contentHash, rebuiltContentHash: contentHash });
    expect((await api.get(statementId)).body).toMatchObject({ timezone: 'Europe/Moscow', periodStart: '2026-09-30T21:00:00.000Z', periodEnd: '2026-10-31T21:00:00.000Z' });
  });
});
