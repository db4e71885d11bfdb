import { coalitionDb, tenantDb, type Database } from '../db/database.ts';
import { tenantSchemaName } from '../db/schema-names.ts';
import { AppError } from '../errors/app-error.ts';
import { insertAuditEvent } from '../tenants/audit.queries.ts';
import { findTenantApiKey, markApiKeyRevoked } from './api-key.queries.ts';
import { toApiKey, type ApiKey } from './api-key.ts';

/**
 * Revokes a tenant's key. A key id of another tenant is reported as not found, never
 * as forbidden: a tenant must not learn which ids exist elsewhere.
 */
export async function revokeTenantApiKey(
  db: Database,
  input: { tenant: { id: string; slug: string }; keyId: string; actor: string },
): Promise<ApiKey> {
  return db.transaction().execute(async (trx) => {
    const coalition = coalitionDb(trx);
    // Locked, so of two concurrent revocations the second sees the first one's revokedAt.
    const existing = await findTenantApiKey(coalition, input.tenant.id, input.keyId, { forUpdate: true });
    if (!existing) throw apiKeyNotFound(input.keyId);
    if (existing.revoked_at) {
      throw new AppError('API_KEY_ALREADY_REVOKED', `API key ${input.keyId} was already revoked.`, {
        keyId: input.keyId,
        revokedAt: existing.revoked_at.toISOString(),
      });
    }
    const revoked = await markApiKeyRevoked(coalition, existing.id);
    if (!revoked) throw apiKeyNotFound(input.keyId);
    await insertAuditEvent(tenantDb(trx, tenantSchemaName(input.tenant.slug)), {
      actor: input.actor,
      action: 'api_key.revoked',
      subjectType: 'api_key',
      subjectId: revoked.id,
    });
    return toApiKey(revoked);
  });
}

/** Revokes any key, tenant or operator, by id: the operator's and the CLI's path. */
export async function revokeAnyApiKey(db: Database, input: { keyId: string; actor: string }): Promise<ApiKey> {
  const coalition = coalitionDb(db);
  const existing = await coalition.selectFrom('api_keys').select(['tenant_id', 'revoked_at']).where('id', '=', input.keyId).executeTakeFirst();
  if (!existing) throw apiKeyNotFound(input.keyId);
  if (existing.tenant_id) {
    const tenant = await coalition.selectFrom('tenants').select(['id', 'slug']).where('id', '=', existing.tenant_id).executeTakeFirstOrThrow();
    return revokeTenantApiKey(db, { tenant, keyId: input.keyId, actor: input.actor });
  }
  const revoked = await markApiKeyRevoked(coalition, input.keyId);
  if (!revoked) throw new AppError('API_KEY_ALREADY_REVOKED', `API key ${input.keyId} was already revoked.`, { keyId: input.keyId });
  return toApiKey(revoked);
}

export function apiKeyNotFound(keyId: string): AppError {
  return new AppError('API_KEY_NOT_FOUND', `No API key ${keyId} exists for this tenant.`, { keyId });
}
