import { coalitionDb, tenantDb, type Database } from '../db/database.ts';
import { tenantSchemaName } from '../db/schema-names.ts';
import { insertAuditEvent } from '../tenants/audit.queries.ts';
import { generateApiKey } from './api-key-format.ts';
import { insertApiKey } from './api-key.queries.ts';
import { toApiKey, type ApiKey } from './api-key.ts';
import type { TenantScope } from './scopes.ts';

export interface CreatedApiKey {
  apiKey: ApiKey;
  /** The full key. Returned here once; only its hash is stored. */
  secret: string;
}

export async function createTenantApiKey(
  db: Database,
  input: { tenant: { id: string; slug: string }; name: string; scopes: TenantScope[]; actor: string },
): Promise<CreatedApiKey> {
  const key = generateApiKey('tenant');
  const scopes = [...new Set(input.scopes)].sort();
  return db.transaction().execute(async (trx) => {
    const row = await insertApiKey(coalitionDb(trx), {
      id: key.id,
      kind: 'tenant',
      tenant_id: input.tenant.id,
      name: input.name,
      scopes,
      secret_hash: key.secretHash,
      created_by: input.actor,
    });
    await insertAuditEvent(tenantDb(trx, tenantSchemaName(input.tenant.slug)), {
      actor: input.actor,
      action: 'api_key.created',
      subjectType: 'api_key',
      subjectId: row.id,
      details: { name: input.name, scopes },
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
    name: input.name,
    scopes: ['operator'],
    secret_hash: key.secretHash,
    created_by: input.actor,
  });
  return { apiKey: toApiKey(row), secret: key.plaintext };
}
