import { readdir } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Migrator, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import type { Logger } from '../logging/logger.ts';
import { coalitionDb, type Database } from './database.ts';
import { COALITION_SCHEMA, tenantSchemaName } from './schema-names.ts';

const MIGRATIONS_ROOT = new URL('../../../migrations/', import.meta.url);
const MIGRATION_FILE = /^\d{4}_[a-z0-9_]+\.ts$/;
/** Session-level lock that serialises whole `migrate` runs across processes. */
const MIGRATE_ALL_LOCK = 7_303_858_001n;

type MigrationSet = 'coalition' | 'tenant';

export class MigrationError extends Error {
  override readonly name = 'MigrationError';
}

/** What a migration learns besides its db handle: raw SQL (functions, triggers) needs the schema. */
export interface MigrationContext {
  schema: string;
}

interface MigrationModule {
  up(db: Kysely<any>, context: MigrationContext): Promise<void>;
  down?(db: Kysely<any>, context: MigrationContext): Promise<void>;
}

class DirectoryMigrationProvider implements MigrationProvider {
  constructor(
    private readonly set: MigrationSet,
    private readonly schema: string,
  ) {}

  async getMigrations(): Promise<Record<string, Migration>> {
    const modules = await loadMigrations(this.set);
    const context: MigrationContext = { schema: this.schema };
    return Object.fromEntries(
      Object.entries(modules).map(([name, module]) => [
        name,
        { up: (db: Kysely<any>) => module.up(db, context), ...(module.down && { down: (db: Kysely<any>) => module.down!(db, context) }) },
      ]),
    );
  }
}

const loaded = new Map<MigrationSet, Promise<Record<string, MigrationModule>>>();

function loadMigrations(set: MigrationSet): Promise<Record<string, MigrationModule>> {
  let migrations = loaded.get(set);
  if (!migrations) {
    migrations = (async () => {
      const dir = new URL(`${set}/`, MIGRATIONS_ROOT);
      const files = (await readdir(fileURLToPath(dir))).filter((file) => MIGRATION_FILE.test(file)).sort();
      const entries = await Promise.all(
        files.map(async (file) => [file.replace(/\.ts$/, ''), (await import(pathToFileURL(fileURLToPath(new URL(file, dir))).href)) as MigrationModule] as const),
      );
      return Object.fromEntries(entries);
    })();
    loaded.set(set, migrations);
  }
  return migrations;
}

export async function latestMigrationName(set: MigrationSet): Promise<string> {
  const names = Object.keys(await loadMigrations(set)).sort();
  const last = names.at(-1);
  if (!last) throw new MigrationError(`No ${set} migrations found`);
  return last;
}

async function createSchemaIfMissing(db: Database, schema: string): Promise<void> {
  try {
    await sql`create schema if not exists ${sql.id(schema)}`.execute(db);
  } catch (error) {
    // Two processes creating the same schema at once: "if not exists" is not atomic in
    // Postgres and the loser gets a unique violation on pg_namespace. The schema exists.
    if ((error as { code?: string }).code !== '23505') throw error;
  }
}

/**
 * Brings one schema up to date. Kysely runs all pending migrations of the schema in a
 * single transaction, so a process killed halfway leaves the schema exactly at its
 * previous version, and the next run starts over from there.
 */
async function migrateSchema(db: Database, schema: string, set: MigrationSet): Promise<string[]> {
  await createSchemaIfMissing(db, schema);
  const migrator = new Migrator({
    db: (db as Kysely<any>).withSchema(schema),
    provider: new DirectoryMigrationProvider(set, schema),
    migrationTableSchema: schema,
  });
  const { error, results = [] } = await migrator.migrateToLatest();
  if (error) {
    const failed = results.find((result) => result.status === 'Error');
    throw new MigrationError(`Migration ${failed?.migrationName ?? '(unknown)'} failed in schema ${schema}: ${String((error as Error).message ?? error)}`, {
      cause: error,
    });
  }
  return results.filter((result) => result.status === 'Success').map((result) => result.migrationName);
}

export async function migrateCoalition(db: Database): Promise<string[]> {
  return migrateSchema(db, COALITION_SCHEMA, 'coalition');
}

/** Creates the tenant's schema if needed and applies pending tenant migrations; idempotent. */
export async function migrateTenantSchema(db: Database, slug: string): Promise<string[]> {
  return migrateSchema(db, tenantSchemaName(slug), 'tenant');
}

/** migrateTenantSchema for a registered tenant, recording the version it reached. */
export async function provisionTenantSchema(db: Database, slug: string): Promise<string[]> {
  const applied = await migrateTenantSchema(db, slug);
  await coalitionDb(db)
    .updateTable('tenants')
    .set({ schema_version: await latestMigrationName('tenant') })
    .where('slug', '=', slug)
    .execute();
  return applied;
}

export interface MigrateAllResult {
  coalition: string[];
  tenants: { slug: string; applied: string[] }[];
}

/**
 * `coalition migrate`: the coalition schema, then every registered tenant's schema,
 * one transaction per schema, under a lock so concurrent runs queue instead of racing.
 * Each tenant's schema_version is recorded as it completes: a killed run resumes.
 */
export async function migrateAll(db: Database, logger: Logger): Promise<MigrateAllResult> {
  return db.connection().execute(async (lockConnection) => {
    const { rows } = await sql<{ locked: boolean }>`select pg_try_advisory_lock(${sql.lit(MIGRATE_ALL_LOCK)}) as locked`.execute(lockConnection);
    if (!rows[0]?.locked) {
      logger.info('another migrate run (or a tenant being provisioned) holds the migration lock: waiting for it');
      await sql`select pg_advisory_lock(${sql.lit(MIGRATE_ALL_LOCK)})`.execute(lockConnection);
    }
    try {
      const coalition = await migrateCoalition(db);
      logger.info({ schema: COALITION_SCHEMA, applied: coalition }, 'coalition schema up to date');
      // Tenant creation holds this lock in shared mode, so the list cannot gain a
      // tenant that misses the migrations applied below.
      const tenants = await coalitionDb(db).selectFrom('tenants').select('slug').orderBy('slug').execute();
      const results: MigrateAllResult['tenants'] = [];
      for (const { slug } of tenants) {
        const applied = await provisionTenantSchema(db, slug);
        logger.info({ tenant: slug, applied }, 'tenant schema up to date');
        results.push({ slug, applied });
      }
      return { coalition, tenants: results };
    } finally {
      await sql`select pg_advisory_unlock(${sql.lit(MIGRATE_ALL_LOCK)})`.execute(lockConnection);
    }
  });
}

/** `serve` and `worker` do not migrate: they refuse to run against an older schema. */
export async function assertCoalitionMigrated(db: Database): Promise<void> {
  const migrator = new Migrator({
    db: (db as Kysely<any>).withSchema(COALITION_SCHEMA),
    provider: new DirectoryMigrationProvider('coalition', COALITION_SCHEMA),
    migrationTableSchema: COALITION_SCHEMA,
  });
  const pending = (await migrator.getMigrations()).filter((migration) => !migration.executedAt);
  if (pending.length) {
    throw new MigrationError(
      `The database is missing ${pending.length} coalition migration(s) (${pending.map((m) => m.name).join(', ')}). Run "coalition migrate" first.`,
    );
  }
}

/**
 * Runs `work` while holding the migration lock in shared mode: tenants can be created
 * concurrently with each other, but not while `migrate` runs, which would otherwise
 * list tenants, miss the new one, and leave it behind the latest schema version.
 */
export async function withMigrationsSettled<T>(db: Database, work: () => Promise<T>): Promise<T> {
  return db.connection().execute(async (lockConnection) => {
    await sql`select pg_advisory_lock_shared(${sql.lit(MIGRATE_ALL_LOCK)})`.execute(lockConnection);
    try {
      return await work();
    } finally {
      await sql`select pg_advisory_unlock_shared(${sql.lit(MIGRATE_ALL_LOCK)})`.execute(lockConnection);
    }
  });
}
