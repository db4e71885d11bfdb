import { createHmac } from 'node:crypto';
import { z } from 'zod';
import type { TenantDb } from '../db/database.ts';
import { AppError } from '../errors/app-error.ts';
import type { Secrets } from '../secrets/secrets.ts';

export const idempotencyKeySchema = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[\x21-\x7e]+$/, 'must be 1-255 visible ASCII characters');

export interface IdempotentRequest {
  /** The raw Idempotency-Key header. */
  key: string | undefined;
  /** Names the operation, so one key cannot be replayed against another endpoint. */
  operation: string;
  input: unknown;
  /** From the clock, like every other timestamp: retention is measured from it. */
  now: Date;
  /**
   * The fingerprint is keyed (HMAC under a per-tenant subkey): bodies carry phone
   * numbers and card numbers, and a plain hash of a body is reversed by trying every
   * phone number, which would undo the keyed phone hashes.
   */
  fingerprintKey: { secrets: Secrets; tenantId: string };
}

export function requireIdempotencyKey(key: string | undefined): string {
  if (key === undefined || key === '') {
    throw new AppError('IDEMPOTENCY_KEY_REQUIRED', 'Send an Idempotency-Key header: a unique value per intended operation (e.g. a UUID), reused on retries.');
  }
  const parsed = idempotencyKeySchema.safeParse(key);
  if (!parsed.success) throw new AppError('IDEMPOTENCY_KEY_REQUIRED', 'The Idempotency-Key header must be 1-255 visible ASCII characters.', {});
  return parsed.data;
}

/** JSON with sorted keys, so equal bodies fingerprint equally whatever their key order. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * Exactly one effect per Idempotency-Key. Must run inside the business transaction
 * (`trx`): the key row is inserted first, so a concurrent request with the same key
 * waits on the unique index until this transaction ends; it then finds the stored
 * answer (commit) or takes over (rollback). The answer is stored in the same
 * transaction as the effect, so the two can never disagree.
 */
export async function runIdempotent<T>(trx: TenantDb, request: IdempotentRequest, work: () => Promise<T>): Promise<{ result: T; replayed: boolean }> {
  const key = requireIdempotencyKey(request.key);
  const fingerprint = createHmac('sha256', request.fingerprintKey.secrets.subkey(`idempotency:${request.fingerprintKey.tenantId}`))
    .update(`${request.operation}\n${canonicalJson(request.input)}`)
    .digest('hex');
  const claimed = await trx
    .insertInto('idempotency_keys')
    .values({ key, operation: request.operation, fingerprint, response: 'null', created_at: request.now })
    .onConflict((oc) => oc.column('key').doNothing())
    .returning('key')
    .executeTakeFirst();
  if (!claimed) {
    const stored = await trx.selectFrom('idempotency_keys').selectAll().where('key', '=', key).executeTakeFirstOrThrow();
    if (stored.operation !== request.operation || stored.fingerprint !== fingerprint) {
      throw new AppError(
        'IDEMPOTENCY_KEY_REUSED',
        `Idempotency-Key "${key}" was already used for a different request${stored.operation !== request.operation ? ` (${stored.operation})` : ''}. Use a new key for a new request.`,
        { idempotencyKey: key, firstUsedAt: stored.created_at.toISOString() },
      );
    }
    return { result: stored.response as T, replayed: true };
  }
  const result = await work();
  await trx.updateTable('idempotency_keys').set({ response: JSON.stringify(result) }).where('key', '=', key).execute();
  return { result, replayed: false };
}
