import type { Selectable } from 'kysely';
import { z } from 'zod';
import type { ApiKeysTable } from '../db/tables.ts';
import { displayPrefix } from './api-key-format.ts';

export const apiKeyIdSchema = z.string().regex(/^[0-9A-Za-z]{16}$/, 'must be the 16-character id of an API key (the part after cx_live_)');

export const apiKeyOutputSchema = z.object({
  id: z.string(),
  prefix: z.string().describe('The non-secret start of the key, for recognising it in listings.'),
  name: z.string(),
  scopes: z.array(z.string()),
  createdAt: z.string(),
  createdBy: z.string().nullable(),
  lastUsedAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
});

export type ApiKey = z.infer<typeof apiKeyOutputSchema>;

export function toApiKey(row: Selectable<ApiKeysTable>): ApiKey {
  return {
    id: row.id,
    prefix: displayPrefix(row.kind, row.id),
    name: row.name,
    scopes: row.scopes,
    createdAt: row.created_at.toISOString(),
    createdBy: row.created_by,
    lastUsedAt: row.last_used_at?.toISOString() ?? null,
    revokedAt: row.revoked_at?.toISOString() ?? null,
  };
}
