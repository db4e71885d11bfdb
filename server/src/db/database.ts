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
const DATE_OID = 1082;

export function createDatabase(options: { url: string; poolMax: number; applicationName?: string }): Database {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolMax,
    application_name: options.applicationName ?? 'coalition-exchange',
    connectionTimeoutMillis: 10_000,
    // A calendar date (settlement periods, cap months) stays the text "2026-11-01": as a
    // JS Date it would become midnight in the server's own time zone.
    types: { getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === DATE_OID ? (value: string) => value : pg.types.getTypeParser(oid, format))) as typeof pg.types.getTypeParser },
  });
  // An idle client that errors (server restart) must not crash the process; the pool
  // drops it and the next checkout reconnects.
  pool.on('error', () => {});
  // A connection dropped while checked out (server restart) errors its query; without
  // a listener the client's 'error' event would also crash the process.
  pool.on('connect', (client) => client.on('error', () => {}));
  const db = new Kysely<unknown>({ dialect: new PostgresDialect({ pool }) });
  pools.set(db, pool);
  return db;
}

const pools = new WeakMap<Database, pg.Pool>();

/**
 * The pg pool behind a Database, for the few things Kysely does not do: COPY streams
 * (code imports). Check a client out, and release it, in one place.
 */
export async function withPgClient<T>(db: Database, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const pool = pools.get(db);
  if (!pool) throw new Error('withPgClient needs a Database made by createDatabase');
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    return await work(client);
  } catch (error) {
    // A client whose COPY or transaction was cut short is not handed to anyone else.
    broken = error instanceof Error ? error : new Error(String(error));
    throw error;
  } finally {
    client.release(broken);
  }
}

export function coalitionDb(db: Kysely<any>): CoalitionDb {
  return db.withSchema(COALITION_SCHEMA) as CoalitionDb;
}

export function tenantDb(db: Kysely<any>, schema: TenantSchemaName): TenantDb {
  return db.withSchema(schema) as TenantDb;
}

/**
 * Kysely on one checked-out client, so typed queries share a transaction with raw
 * client work (COPY). Kysely releases a connection after each query; here that
 * release is a no-op: the client goes back once, through withPgClient.
 */
export function kyselyOnClient(client: pg.PoolClient): Kysely<unknown> {
  const pinned = new Proxy(client, {
    get(target, property) {
      if (property === 'release') return () => {};
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  return new Kysely<unknown>({ dialect: new PostgresDialect({ pool: { connect: async () => pinned, end: async () => {} } as unknown as pg.Pool }) });
}
