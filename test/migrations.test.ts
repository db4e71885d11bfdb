import { spawn } from 'node:child_process';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coalitionDb } from '../server/src/db/database.ts';
import { migrateAll, provisionTenantSchema } from '../server/src/db/migrate.ts';
import { tenantSchemaName } from '../server/src/db/schema-names.ts';
import { createLogger } from '../server/src/logging/logger.ts';
import { tenantWithKey, uniqueSlug } from './support/factories.ts';
import { request } from './support/http-client.ts';
import { LATEST_TENANT_MIGRATION, TENANT_MIGRATIONS } from './support/migrations.ts';
import { createTenant } from '../server/src/tenants/create-tenant.ts';
import { runCli } from './support/cli.ts';
import { startTestSystem, type TestSystem } from './support/test-system.ts';

let system: TestSystem;
const silent = createLogger({ level: 'silent' });

beforeAll(async () => {
  system = await startTestSystem();
});
afterAll(() => system.stop());

async function tablesIn(schema: string): Promise<string[]> {
  const { rows } = await sql<{ table_name: string }>`
    select table_name from information_schema.tables where table_schema = ${schema} order by table_name`.execute(system.services.db);
  return rows.map((row) => row.table_name);
}

async function appliedMigrations(schema: string): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`select name from ${sql.id(schema, 'kysely_migration')} order by name`.execute(system.services.db);
  return rows.map((row) => row.name);
}

/** Registers tenants without provisioning them: the state a restore or a crashed deploy leaves. */
async function registerUnprovisioned(count: number): Promise<string[]> {
  const slugs = Array.from({ length: count }, (_, i) => `${uniqueSlug('m')}-${String(i).padStart(2, '0')}`);
  await coalitionDb(system.services.db)
    .insertInto('tenants')
    .values(slugs.map((slug) => ({ slug, display_name: slug, roles: ['issuer' as const], timezone: 'UTC', currency: 'EUR' })))
    .execute();
  return slugs;
}

describe('migrations', () => {
  it('provisions a tenant schema idempotently, also when provisioned concurrently', async () => {
    const [slug] = await registerUnprovisioned(1);
    const schema = tenantSchemaName(slug!);
    const results = await Promise.all([1, 2, 3].map(() => provisionTenantSchema(system.services.db, slug!)));
    // Exactly one of the concurrent runs applied the migrations; the others found nothing to do.
    expect(results.flat()).toEqual(TENANT_MIGRATIONS);
    expect(await tablesIn(schema)).toEqual(expect.arrayContaining(['audit_events', 'kysely_migration', 'kysely_migration_lock', 'sticker_ledger']));
    expect(await provisionTenantSchema(system.services.db, slug!)).toEqual([]);
    expect(await appliedMigrations(schema)).toEqual(TENANT_MIGRATIONS);
  });

  it('brings every tenant up to date and changes nothing when re-run', async () => {
    const slugs = await registerUnprovisioned(3);
    const first = await migrateAll(system.services.db, silent);
    for (const slug of slugs) expect(first.tenants.find((t) => t.slug === slug)?.applied).toEqual(TENANT_MIGRATIONS);
    const second = await migrateAll(system.services.db, silent);
    expect(second.coalition).toEqual([]);
    expect(second.tenants.every((tenant) => tenant.applied.length === 0)).toBe(true);
    const versions = await coalitionDb(system.services.db).selectFrom('tenants').select(['slug', 'schema_version']).where('slug', 'in', slugs).execute();
    expect(versions.map((row) => row.schema_version)).toEqual(slugs.map(() => LATEST_TENANT_MIGRATION));
  });

  it('serialises concurrent migrate runs and tenant creation: each migration applied once, no tenant left behind', async () => {
    const slugs = await registerUnprovisioned(4);
    const created = uniqueSlug('c');
    const [first, second] = await Promise.all([
      migrateAll(system.services.db, silent),
      migrateAll(system.services.db, silent),
      createTenant(system.services.db, { slug: created, displayName: 'Concurrent', roles: ['partner'], timezone: 'UTC', currency: 'EUR' }, 'test'),
    ]);
    for (const slug of slugs) {
      const appliedBy = [first, second].map((run) => run.tenants.find((t) => t.slug === slug)?.applied ?? []);
      expect(appliedBy.flat(), slug).toEqual(TENANT_MIGRATIONS);
      expect(await appliedMigrations(tenantSchemaName(slug))).toEqual(TENANT_MIGRATIONS);
    }
    expect(await appliedMigrations(tenantSchemaName(created))).toEqual(TENANT_MIGRATIONS);
  });

  it('answers 503 for a tenant whose schema is behind the code, until migrate catches it up', async () => {
    const shop = await tenantWithKey(system.services);
    await coalitionDb(system.services.db).updateTable('tenants').set({ schema_version: '0000_before' }).where('slug', '=', shop.tenant.slug).execute();
    const behind = await request(system.baseUrl, 'GET', '/api/v1/me', { key: shop.key });
    expect(behind.status).toBe(503);
    expect(behind.body).toMatchObject({ code: 'SERVICE_UNAVAILABLE', details: { tenant: shop.tenant.slug } });
    await migrateAll(system.services.db, silent);
    expect((await request(system.baseUrl, 'GET', '/api/v1/me', { key: shop.key })).status).toBe(200);
  });

  it('resumes after the migrate process is killed halfway', async () => {
    const slugs = (await registerUnprovisioned(6)).sort();
    // Hold the registry row of the 3rd tenant: migrate blocks right after migrating that
    // tenant's schema, so the kill below lands at a known point in the middle of the run.
    const blocker = new pg.Client({ connectionString: system.env.DATABASE_URL });
    await blocker.connect();
    await blocker.query('begin');
    await blocker.query('select 1 from coalition.tenants where slug = $1 for update', [slugs[2]]);

    const child = spawn(process.execPath, ['bin/coalition.js', 'migrate'], { env: { ...process.env, ...system.env }, stdio: 'pipe' });
    await expect.poll(async () => (await appliedMigrationsOrNone(tenantSchemaName(slugs[2]!))).length, { timeout: 20_000 }).toBe(TENANT_MIGRATIONS.length);
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    await blocker.query('rollback');
    await blocker.end();

    // Halfway: the first three schemas migrated, the rest untouched.
    for (const slug of slugs.slice(0, 3)) expect(await appliedMigrationsOrNone(tenantSchemaName(slug))).toEqual(TENANT_MIGRATIONS);
    for (const slug of slugs.slice(3)) expect(await appliedMigrationsOrNone(tenantSchemaName(slug))).toEqual([]);

    const rerun = await runCli(['migrate'], system.env);
    expect(rerun.code).toBe(0);
    for (const slug of slugs) expect(await appliedMigrationsOrNone(tenantSchemaName(slug))).toEqual(TENANT_MIGRATIONS);
    const versions = await coalitionDb(system.services.db).selectFrom('tenants').select('schema_version').where('slug', 'in', slugs).execute();
    expect(versions.every((row) => row.schema_version === LATEST_TENANT_MIGRATION)).toBe(true);
  });
});

async function appliedMigrationsOrNone(schema: string): Promise<string[]> {
  const { rows } = await sql<{ exists: boolean }>`select to_regclass(${`${schema}.kysely_migration`}) is not null as exists`.execute(system.services.db);
  return rows[0]?.exists ? appliedMigrations(schema) : [];
}
