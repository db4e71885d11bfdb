import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { COALITION_SCHEMA, type TenantSchemaName } from './schema-names.ts';
import type { CoalitionTables, TenantTables } from './tables.ts';

/**
 * The root handle. It is deliberately untyped for tables: every query goes through
 * coalitionDb() or tenantDb(), which pin the schema with withSchema(). Nothing in this
 * codebase sets search_path, so a pooled connection never carries one tenant's
 * context into another tenant's request.
 */
export type Database = Kysely<unknown>;
export type CoalitionDb = Kysely<CoalitionTables>;
export type TenantDb = Kysely<TenantTables>;

// Postgres bigint (int8) arrives as a string by default; counts and ids we read stay
// strings, money columns (later) are read through explicit casts.
export function createDatabase(options: { url: string; poolMax: number; applicationName?: string }): Database {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolMax,
    application_name: options.applicationName ?? 'coalition-exchange',
    connectionTimeoutMillis: 10_000,
  });
  // An idle client that errors (server restart) must not crash the process; the pool
  // drops it and the next checkout reconnects.
  pool.on('error', () => {});
  // A connection dropped while checked out (server restart) errors its query; without
  // a listener the client's 'error' event would also crash the process.
  pool.on('connect', (client) => client.on('error', () => {}));
  return new Kysely<unknown>({ dialect: new PostgresDialect({ pool }) });
}

export function coalitionDb(db: Kysely<any>): CoalitionDb {
  return db.withSchema(COALITION_SCHEMA) as CoalitionDb;
}

export function tenantDb(db: Kysely<any>, schema: TenantSchemaName): TenantDb {
  return db.withSchema(schema) as TenantDb;
}
