import { coalitionDb, tenantDb, type Database } from '../db/database.ts';
import { latestMigrationName } from '../db/migrate.ts';
import { tenantSchemaName } from '../db/schema-names.ts';
import type { TenantRole, TenantStatus } from '../db/tables.ts';
import { AppError } from '../errors/app-error.ts';
import { parseApiKey, secretMatches } from './api-key-format.ts';
import { findApiKeyWithTenant, touchApiKeyLastUsed } from './api-key.queries.ts';
import type { Principal, TenantHandle } from './principal.ts';

const LAST_USED_RESOLUTION_MS = 60_000;
const HOW_TO_AUTHENTICATE = 'Send the API key as "Authorization: Bearer cx_live_<id>_<secret>".';

/**
 * Turns an Authorization header into a principal. Every failure is the same
 * UNAUTHENTICATED answer with a reason in details, so a caller can fix its setup
 * without learning whether a given key id exists.
 */
export async function authenticateApiKey(db: Database, authorization: string | undefined): Promise<Principal> {
  if (!authorization) throw unauthenticated('missing', `No API key was sent. ${HOW_TO_AUTHENTICATE}`);
  const token = /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1];
  if (!token) throw unauthenticated('malformed_header', `The Authorization header is not a Bearer token. ${HOW_TO_AUTHENTICATE}`);
  const parsed = parseApiKey(token);
  if (!parsed) throw unauthenticated('malformed_key', `The API key is not in the cx_live_<id>_<secret> format. ${HOW_TO_AUTHENTICATE}`);

  const coalition = coalitionDb(db);
  const row = await findApiKeyWithTenant(coalition, parsed.id);
  if (!row || row.kind !== parsed.kind || !secretMatches(parsed.secret, row.secret_hash)) {
    throw unauthenticated('invalid_key', 'The API key is not valid.');
  }
  if (row.revoked_at) throw unauthenticated('revoked_key', 'The API key has been revoked. Ask your administrator for a new one.');

  // At most one write a minute per key, decided from the row just read; fire and
  // forget, so bookkeeping neither adds latency nor fails the request.
  if (!row.last_used_at || Date.now() - row.last_used_at.getTime() > LAST_USED_RESOLUTION_MS) {
    touchApiKeyLastUsed(coalition, row.id).catch(() => {});
  }

  if (row.kind === 'operator') return { kind: 'operator', keyId: row.id };
  if (!row.tenant_id || !row.tenant_slug) throw unauthenticated('invalid_key', 'The API key is not valid.');
  return { kind: 'tenant', keyId: row.id, scopes: row.scopes, tenant: await tenantHandleOf(db, { ...row, tenant_id: row.tenant_id, tenant_slug: row.tenant_slug }) };
}

/** The tenant columns an authentication lookup joins in. */
export interface TenantColumns {
  tenant_id: string;
  tenant_slug: string;
  tenant_status: TenantStatus | null;
  tenant_roles: string[] | null;
  tenant_rate_limit_per_minute: number | null;
  tenant_schema_version: string | null;
  tenant_currency: string | null;
  tenant_timezone: string | null;
}

/** The handle request code reaches a tenant through, for an API key or a portal session. */
export async function tenantHandleOf(db: Database, row: TenantColumns): Promise<TenantHandle> {
  // During a rolling deploy the new code may run before `migrate` reached this tenant:
  // answer "retry shortly" instead of failing on tables that are not there yet.
  if ((row.tenant_schema_version ?? '') < (await latestMigrationName('tenant'))) {
    throw new AppError('SERVICE_UNAVAILABLE', `Tenant ${row.tenant_slug} is being migrated to the current schema version. Retry shortly.`, {
      tenant: row.tenant_slug,
    });
  }
  const schema = tenantSchemaName(row.tenant_slug);
  return {
    id: row.tenant_id,
    slug: row.tenant_slug,
    roles: (row.tenant_roles ?? []) as TenantRole[],
    schema,
    db: tenantDb(db, schema),
    rateLimitPerMinute: row.tenant_rate_limit_per_minute,
    status: row.tenant_status ?? 'active',
    currency: row.tenant_currency ?? '',
    timezone: row.tenant_timezone ?? 'UTC',
  };
}

export function unauthenticated(reason: string, message: string): AppError {
  return new AppError('UNAUTHENTICATED', message, { reason });
}
