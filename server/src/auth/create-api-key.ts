import { coalitionDb, tenantDb, type Database } from '../db/database.ts';
import { tenantSchemaName } from '../db/schema-names.ts';
import { insertAuditEvent } from '../tenants/audit.queries.ts';
import { generateApiKey } from './api-key-format.ts';
import { countActiveTenantApiKeys, insertApiKey } from './api-key.queries.ts';
import { apiKeyNameSchema } from './api-key-inputs.ts';
import { AppError } from '../errors/app-error.ts';
import { parseInput } from '../errors/validation.ts';
import { toApiKey, type ApiKey } from './api-key.ts';
import type { TenantScope } from './scopes.ts';

/** Active keys a tenant may hold: enough for every till system and app, bounded for listings. */
export const MAX_ACTIVE_KEYS_PER_TENANT = 50;

export interface CreatedApiKey {
  apiKey: ApiKey;
  /** The full key. Returned here once; only its hash is stored. */
  secret: string;
}

export async function createTenantApiKey(
  db: Database,
  input: { tenant: { id: string; slug: string }; name: string; scopes: TenantScope[]; actor: string },
): Promise<CreatedApiKey> {
  const name = parseInput(apiKeyNameSchema, input.name);
  const key = generateApiKey('tenant');
  const scopes = [...new Set(input.scopes)].sort();
  return db.transaction().execute(async (trx) => {
    // The tenant row lock serialises concurrent creations, so the cap holds exactly.
    await coalitionDb(trx).selectFrom('tenants').select('id').where('id', '=', input.tenant.id).forUpdate().executeTakeFirstOrThrow();
    const active = await countActiveTenantApiKeys(coalitionDb(trx), input.tenant.id);
    if (active >= MAX_ACTIVE_KEYS_PER_TENANT) {
      throw new AppError('API_KEY_LIMIT_REACHED', `Tenant ${input.tenant.slug} already has ${active} active API keys, the maximum. Revoke unused keys first.`, {
        activeKeys: active,
        maxActiveKeys: MAX_ACTIVE_KEYS_PER_TENANT,
      });
    }
    const row = await insertApiKey(coalitionDb(trx), {
      id: key.id,
      kind: 'tenant',
      tenant_id: input.tenant.id,
      name,
      scopes,
      secret_hash: key.secretHash,
      created_by: input.actor,
    });
    await insertAuditEvent(tenantDb(trx, tenantSchemaName(input.tenant.slug)), {
      actor: input.actor,
      action: 'api_key.created',
      subjectType: 'api_key',
      subjectId: row.id,
      details: { name, scopes },
    });
    return { apiKey: toApiKey(row), secret: key.plaintext };
  });
}

export async function createOperatorApiKey(db: Database, input: { name: string; actor: string }): Promise<CreatedApiKey> {
  const key = generateApiKey('operator');
  const row = await insertApiKey(coalitionDb(db), {
    id: key.id,
    kind: 'operator',
    tenant_id: null,
    name: parseInput(apiKeyNameSchema, input.name),
    scopes: ['operator'],
    secret_hash: key.secretHash,
    created_by: input.actor,
  });
  return { apiKey: toApiKey(row), secret: key.plaintext };
}

const START_ACTOR = 'coalition-start';

/**
 * `coalition start` prints a fresh operator key on every boot. The key of the previous
 * boot is revoked in the same transaction, so restarts do not pile up live
 * full-power keys in terminal scrollback or collected logs.
 */
export async function replaceStartOperatorKey(db: Database): Promise<CreatedApiKey> {
  return db.transaction().execute(async (trx) => {
    await coalitionDb(trx)
      .updateTable('api_keys')
      .set({ revoked_at: new Date() })
      .where('kind', '=', 'operator')
      .where('created_by', '=', START_ACTOR)
      .where('revoked_at', 'is', null)
      .execute();
    return createOperatorApiKey(trx, { name: `coalition start ${new Date().toISOString()}`, actor: START_ACTOR });
  });
}
