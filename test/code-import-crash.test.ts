import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tenantDb } from '../server/src/db/database.ts';
import { tenantSchemaName } from '../server/src/db/schema-names.ts';
import { tenantWithKey } from './support/factories.ts';
import { createOffer, exportCodes, startImportWorkers, uploadCsv, waitForBatch } from './support/partner.ts';
import { startCoalition } from './support/process.ts';
import { startTestSystem, type TestSystem } from './support/test-system.ts';

let system: TestSystem;

beforeAll(async () => {
  // Short job locks, so the job of a killed worker is picked up again within seconds.
  system = await startTestSystem({ WORKER_LOCK_MS: '2000' });
});
afterAll(() => system.stop());

describe('code import crash and resume', () => {
  it('shows no code of a batch whose worker is killed mid-import, and the retry imports it exactly once', async () => {
    const shop = await tenantWithKey(system.services, { roles: ['partner'] });
    const schema = tenantSchemaName(shop.tenant.slug);
    const db = tenantDb(system.services.db, schema);
    // An empty offer: the import's last step moves its stock state, which writes the offer row.
    const offer = await createOffer(system.baseUrl, shop.key, { lowStockThreshold: 0 });
    const codes = Array.from({ length: 20_000 }, (_, i) => `CRASH${String(i).padStart(6, '0')}`);

    // Hold the offer row: the import blocks at that last step, after its codes are
    // inserted and before it commits, so the kill below lands at a known point.
    const blocker = new pg.Client({ connectionString: system.env.DATABASE_URL });
    await blocker.connect();
    await blocker.query('begin');
    await blocker.query(`select 1 from "${schema}".offers where id = $1 for share`, [offer.id]);

    const upload = await uploadCsv(system.baseUrl, shop.key, offer.id, `code\n${codes.join('\n')}\n`);
    expect(upload.status).toBe(202);
    const worker = startCoalition(['worker'], { ...process.env, ...system.env });
    await expect
      .poll(
        async () => {
          const { rows } = await sql<{ n: number }>`
            select count(*)::integer as n from pg_stat_activity
            where datname = current_database() and wait_event_type = 'Lock' and query like ${`%"${schema}"."offers"%`}`.execute(system.services.db);
          return rows[0]!.n;
        },
        { timeout: 30_000, interval: 100 },
      )
      .toBe(1);
    // Mid-import: every code inserted, none visible.
    expect(await db.selectFrom('codes').select(sql<number>`count(*)::integer`.as('n')).where('batch_id', '=', upload.body.id).executeTakeFirstOrThrow()).toEqual({ n: 0 });

    worker.child.kill('SIGKILL');
    await worker.exited;
    await blocker.query('rollback');
    await blocker.end();

    const halfway = await db.selectFrom('code_batches').select(['status', 'accepted', 'import_attempts']).where('id', '=', upload.body.id).executeTakeFirstOrThrow();
    expect(halfway).toEqual({ status: 'importing', accepted: '0', import_attempts: 1 });
    expect(await db.selectFrom('codes').select(sql<number>`count(*)::integer`.as('n')).where('batch_id', '=', upload.body.id).executeTakeFirstOrThrow()).toEqual({ n: 0 });

    // Another worker finds the dead worker's job once its lock lapses and runs it again from the stored file.
    const workers = await startImportWorkers(system.services);
    try {
      const batch = await waitForBatch(system.baseUrl, shop.key, upload.body.id, 30_000);
      expect(batch).toMatchObject({ status: 'ready', progress: { rowsRead: 20_000, accepted: 20_000, rejected: 0 }, codes: { available: 20_000, total: 20_000 } });
    } finally {
      await workers.close();
    }
    const after = await db.selectFrom('code_batches').select('import_attempts').where('id', '=', upload.body.id).executeTakeFirstOrThrow();
    expect(after.import_attempts).toBe(2);
    const exported = await exportCodes(system.baseUrl, shop.key, offer.id);
    expect(exported.codes.sort()).toEqual(codes);
    // The stored file is gone once imported.
    expect(await db.selectFrom('code_batch_chunks').select('seq').where('batch_id', '=', upload.body.id).execute()).toEqual([]);
  }, 90_000);
});
