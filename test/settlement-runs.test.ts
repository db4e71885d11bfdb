import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coalitionDb, type CoalitionDb } from '../server/src/db/database.ts';
import { startWorkerHost, type WorkerHost } from '../server/src/jobs/worker-host.ts';
import { closeSettlementPeriods, settlementDueAt, settlementRunJob } from '../server/src/settlement/settlement-runs.ts';
import { parseDocument } from '../server/src/settlement/statement-document.ts';
import { activeAgreement, offerWithCodes, startExchangeWorld, type ExchangeWorld } from './support/exchange.ts';
import { keyFor, tenantWithKey, uniqueSlug, type TenantWithKey } from './support/factories.ts';
import { request } from './support/http-client.ts';
import { createOffer } from './support/partner.ts';
import { startCoalition, type RunningProcess } from './support/process.ts';
import { seedEntry, settlementApi } from './support/settlement.ts';
import { waitUntil } from './support/webhooks.ts';

// ---- helpers ------------------------------------------------------------------------

const coalition = (world: ExchangeWorld): CoalitionDb => coalitionDb(world.system.services.db);

/** An agreement in force between the world's partner and issuer over fresh offers, its months in `timezone`. */
async function agreementIn(world: ExchangeWorld, timezone: string, offers = 1): Promise<{ id: string; offerIds: string[] }> {
  const offerIds: string[] = [];
  for (let i = 0; i < offers; i++) offerIds.push((await offerWithCodes(world, [])).id);
  const agreement = await activeAgreement(world, offerIds, { timezone, name: `Settled in ${timezone}` });
  expect(agreement).toMatchObject({ status: 'active', timezone });
  return { id: agreement.id, offerIds };
}

let voucherSeq = 0;
/** A 50.00 RUB per-issued-code charge at `at` (the agreements' model), written by the real domain function. */
async function charge(world: ExchangeWorld, agreementId: string, offerId: string, at: string, amountMinor = 5_000): Promise<void> {
  voucherSeq++;
  await seedEntry(world, agreementId, { voucherId: `vch_seed${String(voucherSeq).padStart(8, '0')}`, offerId, event: 'code_issued', amountMinor, occurredAt: new Date(at) });
}

function statementsOf(world: ExchangeWorld, agreementId: string) {
  return coalition(world)
    .selectFrom('settlement_statements')
    .select(['id', 'period', 'status', 'period_start', 'period_end', 'entry_count', 'build_count', 'built_at', 'built_by', 'document', 'content_hash'])
    .where('agreement_id', '=', agreementId)
    .orderBy('period')
    .execute();
}

function runsOf(world: ExchangeWorld) {
  return coalition(world).selectFrom('settlement_runs').selectAll().orderBy('created_at').orderBy('id').execute();
}

async function linesOf(db: CoalitionDb, statementId: string) {
  const rows = await db.selectFrom('settlement_statement_lines').selectAll().where('statement_id', '=', statementId).orderBy('line_no').execute();
  return rows.map((row) => ({ ...row, amount_minor: Number(row.amount_minor) }));
}

/** The lines a statement's document lists, in the shape of settlement_statement_lines rows. */
function documentLines(statementId: string, document: string) {
  return parseDocument(document).lines.map((line, index) => ({
    statement_id: statementId,
    line_no: index + 1,
    section: line.section,
    relates_to_period: `${line.relatesToPeriod}-01`,
    offer_id: line.offerId,
    event: line.event,
    statement_ref: line.statementRef,
    currency: line.currency,
    count: line.count,
    amount_minor: line.amountMinor,
  }));
}

/** Waits for a run row to leave queued/running (in-process worker on the world's clock). */
async function settled(world: ExchangeWorld, runId: string) {
  return waitUntil(
    async () => {
      const row = await coalition(world).selectFrom('settlement_runs').selectAll().where('id', '=', runId).executeTakeFirstOrThrow();
      return row.status === 'succeeded' || row.status === 'failed' ? row : null;
    },
    15_000,
    `settlement run ${runId}`,
  );
}

/** Polls the run through the API, the way a finance tool does. */
async function polledRun(api: ReturnType<typeof settlementApi>, runId: string, timeoutMs = 15_000) {
  return waitUntil(
    async () => {
      const res = await api.getRun(runId);
      expect(res.status).toBe(200);
      return res.body.status === 'succeeded' || res.body.status === 'failed' ? res.body : null;
    },
    timeoutMs,
    `settlement run ${runId}`,
  );
}

/** A settlement-runs worker in this process (no scheduler: the tests sweep themselves, on the world's clock). */
function settlementWorkers(world: ExchangeWorld): Promise<WorkerHost> {
  return startWorkerHost({ services: world.system.services, definitions: [settlementRunJob] });
}

/**
 * A world on 1 October 2026 for one describe block of schedule tests: the sweep on its
 * clock, and a settlement worker started when a test wants one; all stopped afterwards.
 */
function scheduleWorld() {
  const state: { world?: ExchangeWorld; workers?: WorkerHost } = {};
  beforeAll(async () => {
    state.world = await startExchangeWorld({ start: '2026-10-01T12:00:00Z' });
  });
  afterAll(async () => {
    await state.workers?.close();
    await state.world?.stop();
  });
  return {
    get world(): ExchangeWorld {
      return state.world!;
    },
    sweep: () => closeSettlementPeriods(state.world!.system.services, state.world!.system.services.logger),
    startWorkers: async () => {
      state.workers ??= await settlementWorkers(state.world!);
    },
  };
}

// ---- 1. the schedule ------------------------------------------------------------------

describe('the schedule: an agreement is settled at 03:00 on the 1st in its own time zone', () => {
  // Accepted on 1 October (after September ended in both zones), so October is each one's first month.
  const ctx = scheduleWorld();
  let moscow: { id: string; offerIds: string[] };
  let newYork: { id: string; offerIds: string[] };
  const sweep = ctx.sweep;

  beforeAll(async () => {
    moscow = await agreementIn(ctx.world, 'Europe/Moscow');
    newYork = await agreementIn(ctx.world, 'America/New_York');
    await charge(ctx.world, moscow.id, moscow.offerIds[0]!, '2026-10-10T09:00:00Z');
    await charge(ctx.world, moscow.id, moscow.offerIds[0]!, '2026-10-20T09:00:00Z');
    await charge(ctx.world, newYork.id, newYork.offerIds[0]!, '2026-10-15T15:00:00Z');
  });

  it('is due at 00:00Z for Moscow (UTC+3) and at 08:00Z for New York (EST, the clocks went back at 02:00 that night)', () => {
    expect(settlementDueAt('2026-10-01', 'Europe/Moscow').toISOString()).toBe('2026-11-01T00:00:00.000Z');
    expect(settlementDueAt('2026-10-01', 'America/New_York').toISOString()).toBe('2026-11-01T08:00:00.000Z');
  });

  it('at 02:59:59.999 in Moscow nothing is due: the sweep queues no run', async () => {
    ctx.world.clock.set('2026-10-31T23:59:59.999Z');
    expect(await sweep()).toBeNull();
    expect(await runsOf(ctx.world)).toEqual([]);
  });

  it("at 03:00 in Moscow one scheduled run is queued, and it builds only the Moscow agreement's October", async () => {
    ctx.world.clock.set('2026-11-01T00:00:00Z');
    const runId = await sweep();
    expect(runId).toMatch(/^srun_[0-9A-Za-z]{12}$/);
    // Swept again before a worker took it: the open scheduled run is enough.
    expect(await sweep()).toBeNull();
    expect(await runsOf(ctx.world)).toEqual([
      expect.objectContaining({ id: runId, tenant_id: null, period: null, trigger: 'schedule', requested_by: 'scheduler', status: 'queued', attempts: 0, created_at: new Date('2026-11-01T00:00:00Z') }),
    ]);

    await ctx.startWorkers();
    expect(await settled(ctx.world, runId!)).toMatchObject({ status: 'succeeded', attempts: 1, statements_built: 1, statements_unchanged: 0, error: null });
    expect(await statementsOf(ctx.world, moscow.id)).toEqual([
      expect.objectContaining({
        period: '2026-10-01',
        status: 'draft',
        period_start: new Date('2026-09-30T21:00:00Z'),
        period_end: new Date('2026-10-31T21:00:00Z'),
        entry_count: 2,
        build_count: 1,
        built_at: new Date('2026-11-01T00:00:00Z'),
        built_by: `run:${runId}`,
      }),
    ]);
    expect(await statementsOf(ctx.world, newYork.id)).toEqual([]);
  });

  it('sweeping again once it has run queues nothing and builds nothing', async () => {
    const before = await statementsOf(ctx.world, moscow.id);
    ctx.world.clock.set('2026-11-01T00:15:00Z');
    expect(await sweep()).toBeNull();
    ctx.world.clock.set('2026-11-01T07:59:59.999Z');
    expect(await sweep()).toBeNull();
    expect(await runsOf(ctx.world)).toHaveLength(1);
    expect(await statementsOf(ctx.world, moscow.id)).toEqual(before);
    expect(await statementsOf(ctx.world, newYork.id)).toEqual([]);
  });

  it("at 03:00 EST in New York (08:00Z) the next scheduled run builds New York's October and leaves Moscow's as it is", async () => {
    const moscowBefore = await statementsOf(ctx.world, moscow.id);
    ctx.world.clock.set('2026-11-01T08:00:00Z');
    const runId = await sweep();
    expect(runId).toMatch(/^srun_/);
    // Moscow's statement, built after it was due, is not even looked at again.
    expect(await settled(ctx.world, runId!)).toMatchObject({ trigger: 'schedule', status: 'succeeded', attempts: 1, statements_built: 1, statements_unchanged: 0 });
    expect(await statementsOf(ctx.world, newYork.id)).toEqual([
      expect.objectContaining({
        period: '2026-10-01',
        status: 'draft',
        // Midnight EDT at both ends: October ends before the clocks go back.
        period_start: new Date('2026-10-01T04:00:00Z'),
        period_end: new Date('2026-11-01T04:00:00Z'),
        entry_count: 1,
        build_count: 1,
        built_at: new Date('2026-11-01T08:00:00Z'),
        built_by: `run:${runId}`,
      }),
    ]);
    expect(await statementsOf(ctx.world, moscow.id)).toEqual(moscowBefore);

    ctx.world.clock.set('2026-11-01T08:15:00Z');
    expect(await sweep()).toBeNull();
    expect(await runsOf(ctx.world)).toHaveLength(2);
  });
});

describe('a scheduled run builds only the agreements that are due, not every closed month', () => {
  // Berlin is on CET (UTC+1) by November: its October closes at 23:00Z and is due at
  // 02:00Z, two hours after Moscow's (00:00Z). A scheduled run builds only what is due
  // when it runs, not every agreement whose month has closed.
  const ctx = scheduleWorld();
  const sweep = ctx.sweep;


  it("Moscow's 03:00 run leaves Berlin's October (closed, but due only at 03:00 CET) to Berlin's own 03:00", async () => {
    const moscow = await agreementIn(ctx.world, 'Europe/Moscow');
    const berlin = await agreementIn(ctx.world, 'Europe/Berlin');
    await charge(ctx.world, moscow.id, moscow.offerIds[0]!, '2026-10-15T10:00:00Z');
    await charge(ctx.world, berlin.id, berlin.offerIds[0]!, '2026-10-15T10:00:00Z');
    expect(settlementDueAt('2026-10-01', 'Europe/Berlin').toISOString()).toBe('2026-11-01T02:00:00.000Z');

    ctx.world.clock.set('2026-11-01T00:00:00Z');
    const moscowRun = await sweep();
    expect(moscowRun).toMatch(/^srun_/);
    await ctx.startWorkers();
    const done = await settled(ctx.world, moscowRun!);
    expect(done.status).toBe('succeeded');
    expect(await statementsOf(ctx.world, moscow.id)).toEqual([expect.objectContaining({ period: '2026-10-01', built_at: new Date('2026-11-01T00:00:00Z') })]);
    expect(await statementsOf(ctx.world, berlin.id)).toEqual([]);
    expect(done).toMatchObject({ statements_built: 1, statements_unchanged: 0 });

    ctx.world.clock.set('2026-11-01T02:00:00Z');
    const berlinRun = await sweep();
    expect(berlinRun).toMatch(/^srun_/);
    expect(await settled(ctx.world, berlinRun!)).toMatchObject({ status: 'succeeded', statements_built: 1, statements_unchanged: 0 });
    expect(await statementsOf(ctx.world, berlin.id)).toEqual([expect.objectContaining({ period: '2026-10-01', built_at: new Date('2026-11-01T02:00:00Z'), built_by: `run:${berlinRun}` })]);
  });
});

describe('a missed schedule is caught up by the next sweep', () => {
  const ctx = scheduleWorld();
  const sweep = ctx.sweep;


  it('a first sweep on 20 November builds both agreements\' October, and none for an agreement accepted after October ended', async () => {
    const moscow = await agreementIn(ctx.world, 'Europe/Moscow');
    const newYork = await agreementIn(ctx.world, 'America/New_York');
    await charge(ctx.world, moscow.id, moscow.offerIds[0]!, '2026-10-31T20:59:59Z'); // 23:59:59 in Moscow: still October
    await charge(ctx.world, newYork.id, newYork.offerIds[0]!, '2026-11-01T03:59:59Z'); // 23:59:59 EDT: still October
    ctx.world.clock.set('2026-11-02T09:00:00Z');
    const late = await agreementIn(ctx.world, 'Europe/Moscow');
    await charge(ctx.world, late.id, late.offerIds[0]!, '2026-11-02T09:30:00Z');

    ctx.world.clock.set('2026-11-20T10:00:00Z');
    const runId = await sweep();
    expect(runId).toMatch(/^srun_/);
    await ctx.startWorkers();
    expect(await settled(ctx.world, runId!)).toMatchObject({ trigger: 'schedule', status: 'succeeded', attempts: 1, statements_built: 2, statements_unchanged: 0 });
    for (const agreement of [moscow, newYork]) {
      expect(await statementsOf(ctx.world, agreement.id)).toEqual([
        expect.objectContaining({ period: '2026-10-01', status: 'draft', entry_count: 1, build_count: 1, built_at: new Date('2026-11-20T10:00:00Z'), built_by: `run:${runId}` }),
      ]);
    }
    expect(await statementsOf(ctx.world, late.id)).toEqual([]);

    expect(await sweep()).toBeNull();
    expect(await runsOf(ctx.world)).toHaveLength(1);
    expect(await statementsOf(ctx.world, late.id)).toEqual([]);
  });
});

// ---- 2. and 3. runs on demand, concurrent builds ---------------------------------------

describe('settlement runs on demand through the API', () => {
  let world: ExchangeWorld;
  let workers: WorkerHost | undefined;
  let mine: { id: string; offerIds: string[] }[];
  let others: { id: string; offerId: string };
  let otherPartner: TenantWithKey;
  let writer: ReturnType<typeof settlementApi>;
  let reader: ReturnType<typeof settlementApi>;
  let runId: string;

  beforeAll(async () => {
    world = await startExchangeWorld({ start: '2026-10-01T12:00:00Z' });
    // The caller (the world's partner) has two agreements with the issuer.
    mine = [await agreementIn(world, 'Europe/Moscow'), await agreementIn(world, 'America/New_York', 2)];
    // Another partner has one with the same issuer.
    otherPartner = await tenantWithKey(world.system.services, { slug: uniqueSlug('tools'), roles: ['partner'], scopes: ['admin'] });
    const offer = await createOffer(world.system.baseUrl, otherPartner.key);
    const proposed = await request(world.system.baseUrl, 'POST', '/api/v1/agreements', {
      key: otherPartner.key,
      body: { name: 'Tools for stickers', issuer: world.issuer.tenant.slug, offerIds: [offer.id], model: { type: 'issuer_pays_per_issued', amountMinor: 5_000 }, currency: 'RUB' },
    });
    expect(proposed.status).toBe(200);
    expect((await request(world.system.baseUrl, 'POST', `/api/v1/agreements/${proposed.body.id}/accept`, { key: world.issuer.key })).status).toBe(200);
    others = { id: proposed.body.id, offerId: offer.id };

    await charge(world, mine[0]!.id, mine[0]!.offerIds[0]!, '2026-10-05T10:00:00Z');
    await charge(world, mine[1]!.id, mine[1]!.offerIds[0]!, '2026-10-06T10:00:00Z');
    await charge(world, mine[1]!.id, mine[1]!.offerIds[1]!, '2026-10-07T10:00:00Z');
    for (let i = 0; i < 5; i++) await charge(world, others.id, others.offerId, `2026-10-${String(10 + i).padStart(2, '0')}T10:00:00Z`);
    // Entries in another currency and a cancellation, so the other agreement's statement has several lines.
    await seedEntry(world, others.id, { voucherId: 'vch_seedcxl00001', offerId: others.offerId, event: 'issue_cancelled', amountMinor: -5_000, occurredAt: new Date('2026-10-20T10:00:00Z') });
    await seedEntry(world, others.id, { voucherId: 'vch_seedeur00001', offerId: others.offerId, event: 'code_issued', amountMinor: 700, currency: 'EUR', occurredAt: new Date('2026-10-21T10:00:00Z') });

    world.clock.set('2026-11-05T10:00:00Z');
    writer = settlementApi(world, (await keyFor(world.system.services, world.partner.tenant.slug, ['settlement:write', 'settlement:read'])).secret);
    reader = settlementApi(world, (await keyFor(world.system.services, world.partner.tenant.slug, ['settlement:read'])).secret);
    workers = await settlementWorkers(world);
  });
  afterAll(async () => {
    await workers?.close();
    await world?.stop();
  });

  it("answers queued, then builds October's statement of each of the caller's agreements and of nobody else's", async () => {
    const started = await writer.startRun('2026-10');
    expect(started.status).toBe(200);
    expect(started.body).toEqual({
      id: expect.stringMatching(/^srun_[0-9A-Za-z]{12}$/),
      period: '2026-10',
      trigger: 'api',
      status: 'queued',
      attempts: 0,
      statementsBuilt: 0,
      statementsUnchanged: 0,
      error: null,
      createdAt: '2026-11-05T10:00:00.000Z',
      startedAt: null,
      finishedAt: null,
    });
    runId = started.body.id;
    expect(await polledRun(writer, runId)).toMatchObject({ id: runId, status: 'succeeded', attempts: 1, statementsBuilt: mine.length, statementsUnchanged: 0, error: null, finishedAt: '2026-11-05T10:00:00.000Z' });
    for (const agreement of mine) {
      expect(await statementsOf(world, agreement.id)).toEqual([expect.objectContaining({ period: '2026-10-01', status: 'draft', build_count: 1, built_by: `run:${runId}` })]);
    }
    expect(await statementsOf(world, others.id)).toEqual([]);
  });

  it('a second run for the month finds every statement up to date and changes none', async () => {
    const before = await Promise.all(mine.map((agreement) => statementsOf(world, agreement.id)));
    const again = await writer.startRun('2026-10');
    expect(again.status).toBe(200);
    expect(await polledRun(writer, again.body.id)).toMatchObject({ status: 'succeeded', statementsBuilt: 0, statementsUnchanged: mine.length });
    expect(await Promise.all(mine.map((agreement) => statementsOf(world, agreement.id)))).toEqual(before);
    expect(await statementsOf(world, others.id)).toEqual([]);
  });

  it("another tenant cannot read the caller's run", async () => {
    const stranger = settlementApi(world, otherPartner.key);
    const res = await stranger.getRun(runId);
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('SETTLEMENT_RUN_NOT_FOUND');
    // The caller's read-only key can.
    expect((await reader.getRun(runId)).body).toMatchObject({ id: runId, status: 'succeeded' });
  });

  it('refuses a read-only key and malformed or future periods, writing no run', async () => {
    const runsBefore = (await runsOf(world)).length;
    const readOnly = await reader.startRun('2026-10');
    expect(readOnly.status).toBe(403);
    expect(readOnly.body.code).toBe('FORBIDDEN');
    for (const period of ['2026-13', '26-10', '2026-12']) {
      const refused = await writer.startRun(period);
      expect(refused.status, period).toBe(400);
      expect(refused.body.code, period).toBe('VALIDATION_FAILED');
    }
    expect(await runsOf(world)).toHaveLength(runsBefore);
  });

  it('8 concurrent builds of one new statement: one row, one id and hash in every answer, each line once', async () => {
    const issuer = settlementApi(world, world.issuer.key);
    const answers = await Promise.all(Array.from({ length: 8 }, () => issuer.build(others.id, '2026-10')));
    expect(answers.map((res) => res.status)).toEqual(Array(8).fill(200));
    const first = answers[0]!.body;
    expect(first).toMatchObject({ agreementId: others.id, period: '2026-10', status: 'draft', entryCount: 7 });
    for (const res of answers) expect({ id: res.body.id, contentHash: res.body.contentHash, lines: res.body.lines }).toEqual({ id: first.id, contentHash: first.contentHash, lines: first.lines });

    const rows = await statementsOf(world, others.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ id: first.id, content_hash: first.contentHash, build_count: 1 });
    const lines = await linesOf(coalition(world), first.id);
    expect(first.lines.length).toBeGreaterThanOrEqual(3);
    expect(lines.map((line) => line.line_no)).toEqual(Array.from({ length: first.lines.length }, (_, i) => i + 1));
    expect(lines).toEqual(documentLines(first.id, rows[0]!.document!));
  });
});

// ---- 4. a worker killed mid-build -------------------------------------------------------

describe("a settlement worker killed between a statement's lines and its totals", () => {
  // The spawned workers read the real clock: these months are well in the past.
  let world: ExchangeWorld;
  const workers: RunningProcess[] = [];

  beforeAll(async () => {
    world = await startExchangeWorld({ start: '2025-01-15T10:00:00Z' });
  });
  afterAll(async () => {
    for (const worker of workers) if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGTERM');
    await Promise.all(workers.map((worker) => worker.exited));
    await world?.stop();
  }, 30_000);

  it('leaves the previous draft whole, and the retried run rebuilds it once and right', async () => {
    const db = coalition(world);
    const agreement = await agreementIn(world, 'Europe/Moscow', 2);
    const [offerA, offerB] = agreement.offerIds as [string, string];
    for (const day of ['03', '12', '28']) await charge(world, agreement.id, offerA, `2025-03-${day}T09:00:00Z`);
    world.clock.set('2025-04-10T09:00:00Z');
    const api = settlementApi(world, world.issuer.key);
    const built = await api.build(agreement.id, '2025-03');
    expect(built.status).toBe(200);
    const statementOf = () =>
      db.selectFrom('settlement_statements').select(['id', 'document', 'content_hash', 'entry_count', 'build_count', 'totals']).where('agreement_id', '=', agreement.id).where('period', '=', '2025-03-01').execute();
    const [d1, ...more] = await statementOf();
    expect(more).toEqual([]);
    expect(d1).toMatchObject({ id: built.body.id, content_hash: built.body.contentHash, entry_count: 3, build_count: 1 });
    const d1Lines = await linesOf(db, d1!.id);
    expect(d1Lines).toEqual(documentLines(d1!.id, d1!.document!));
    expect(d1Lines).toHaveLength(1);

    // Entries that change the next build: another charge on offer A, a first one on offer B.
    await charge(world, agreement.id, offerA, '2025-03-30T12:00:00Z');
    await charge(world, agreement.id, offerB, '2025-03-31T20:00:00Z'); // 23:00 in Moscow: still March

    // Hold the statement row against updates. FOR NO KEY UPDATE, not FOR UPDATE: inserting
    // lines takes FOR KEY SHARE on the row (the lines' foreign key), which FOR UPDATE would
    // block too; this way the build writes its lines and then waits on its UPDATE.
    const holder = new pg.Client({ connectionString: world.system.env.DATABASE_URL });
    await holder.connect();
    try {
      const holderPid = (await holder.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
      await holder.query('begin');
      await holder.query('select id from coalition.settlement_statements where id = $1 for no key update', [d1!.id]);

      const env = { ...process.env, ...world.system.env, WORKER_LOCK_MS: '2000' };
      const first = startCoalition(['worker'], env);
      workers.push(first);
      await first.waitFor(/worker host started/);
      const started = await api.startRun('2025-03');
      expect(started.status).toBe(200);
      const runId: string = started.body.id;

      const blocked = await waitUntil(
        async () => {
          const { rows } = await sql<{ pid: number; blockers: number[] }>`
            select pid, pg_blocking_pids(pid) as blockers from pg_stat_activity
            where datname = current_database() and wait_event_type = 'Lock' and query like 'update "coalition"."settlement_statements"%'`.execute(world.system.services.db);
          return rows[0];
        },
        30_000,
        "the worker's statement UPDATE to wait on the held row",
      );
      expect(blocked.blockers).toEqual([holderPid]);
      // The waiting transaction has written to the lines table (it holds its row-write lock)...
      const { rows: lineLocks } = await sql<{ n: number }>`
        select count(*)::int as n from pg_locks
        where pid = ${blocked.pid} and relation = 'coalition.settlement_statement_lines'::regclass and mode = 'RowExclusiveLock' and granted`.execute(world.system.services.db);
      expect(lineLocks[0]!.n).toBe(1);
      // ...and nobody else sees any of it.
      expect(await linesOf(db, d1!.id)).toEqual(d1Lines);
      expect(await statementOf()).toEqual([d1]);
      expect(await db.selectFrom('settlement_runs').select(['status', 'attempts']).where('id', '=', runId).executeTakeFirstOrThrow()).toEqual({ status: 'running', attempts: 1 });

      first.child.kill('SIGKILL');
      await first.exited;
      await holder.query('rollback');
      // The killed worker's backend finds its client gone once it gets the row, and rolls back.
      await waitUntil(
        async () => {
          const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity where pid = ${blocked.pid}`.execute(world.system.services.db);
          return rows[0]!.n === 0;
        },
        10_000,
        "the killed worker's database session to end",
      );

      // Nothing half-written: D1, its document, hash and lines, exactly.
      expect(await statementOf()).toEqual([d1]);
      expect(await linesOf(db, d1!.id)).toEqual(d1Lines);
      expect(await db.selectFrom('settlement_runs').select(['status', 'attempts', 'finished_at']).where('id', '=', runId).executeTakeFirstOrThrow()).toEqual({ status: 'running', attempts: 1, finished_at: null });

      // A new worker: the dead worker's job stalls (its 2 s lock lapses) and runs again.
      const second = startCoalition(['worker'], env);
      workers.push(second);
      await second.waitFor(/worker host started/);
      expect(await polledRun(api, runId, 30_000)).toMatchObject({ id: runId, status: 'succeeded', attempts: 2, statementsBuilt: 1, statementsUnchanged: 0, error: null });
    } finally {
      await holder.query('rollback').catch(() => {});
      await holder.end();
    }

    const rows = await statementOf();
    expect(rows).toHaveLength(1);
    const rebuilt = rows[0]!;
    expect(rebuilt).toMatchObject({ id: d1!.id, entry_count: 5, build_count: 2 });
    expect(rebuilt.content_hash).not.toBe(d1!.content_hash);
    expect(await api.verify(rebuilt.id)).toMatchObject({ status: 200, body: { statementId: rebuilt.id, identical: true, contentHash: rebuilt.content_hash, rebuiltContentHash: rebuilt.content_hash } });
    const expectedLines = [
      { offerId: offerA, count: 4, amountMinor: 20_000 },
      { offerId: offerB, count: 1, amountMinor: 5_000 },
    ]
      .sort((a, b) => (a.offerId < b.offerId ? -1 : 1))
      .map((line) => ({ section: 'period', relatesToPeriod: '2025-03', event: 'code_issued', statementRef: null, currency: 'RUB', ...line }));
    expect(parseDocument(rebuilt.document!).lines).toEqual(expectedLines);
    const lines = await linesOf(db, rebuilt.id);
    expect(lines).toEqual(documentLines(rebuilt.id, rebuilt.document!));
    expect(lines.map((line) => line.line_no)).toEqual([1, 2]);
    // A fresh build through the API agrees with it byte for byte and stores nothing new.
    const fresh = await api.build(agreement.id, '2025-03');
    expect(fresh.body).toMatchObject({ id: rebuilt.id, contentHash: rebuilt.content_hash, entryCount: 5 });
    expect(await statementOf()).toEqual([rebuilt]);
  }, 60_000);
});
