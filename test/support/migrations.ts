import { readdirSync } from 'node:fs';

/** The tenant migrations in the repository, in order: what every tenant schema must have applied. */
export const TENANT_MIGRATIONS: string[] = readdirSync(new URL('../../migrations/tenant/', import.meta.url))
  .filter((file) => /^\d{4}_[a-z0-9_]+\.ts$/.test(file))
  .map((file) => file.replace(/\.ts$/, ''))
  .sort();

export const LATEST_TENANT_MIGRATION = TENANT_MIGRATIONS.at(-1)!;
