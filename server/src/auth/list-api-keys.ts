import { coalitionDb, type Database } from '../db/database.ts';
import { findTenantApiKey, listOperatorApiKeys, listTenantApiKeys } from './api-key.queries.ts';
import { toApiKey, type ApiKey } from './api-key.ts';
import { apiKeyNotFound } from './revoke-api-key.ts';

export async function listApiKeys(db: Database, tenantId: string): Promise<ApiKey[]> {
  return (await listTenantApiKeys(coalitionDb(db), tenantId)).map(toApiKey);
}

export async function getApiKey(db: Database, tenantId: string, keyId: string): Promise<ApiKey> {
  const row = await findTenantApiKey(coalitionDb(db), tenantId, keyId);
  if (!row) throw apiKeyNotFound(keyId);
  return toApiKey(row);
}

export async function listOperatorKeys(db: Database): Promise<ApiKey[]> {
  return (await listOperatorApiKeys(coalitionDb(db))).map(toApiKey);
}
