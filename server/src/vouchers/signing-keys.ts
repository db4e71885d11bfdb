import { createCipheriv, createDecipheriv, createPrivateKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { sql, type Selectable } from 'kysely';
import { z } from 'zod';
import type { TenantHandle } from '../auth/principal.ts';
import { coalitionDb, tenantDb, type CoalitionDb, type Database } from '../db/database.ts';
import { prefixedIds } from '../db/ids.ts';
import type { SigningKeysTable } from '../db/tables.ts';
import { AppError } from '../errors/app-error.ts';
import { humanText } from '../errors/text-schemas.ts';
import { parseInput } from '../errors/validation.ts';
import type { Secrets } from '../secrets/secrets.ts';
import { insertAuditEvent } from '../tenants/audit.queries.ts';

const HOUR_MS = 60 * 60 * 1000;
const NONCE = 12;
const TAG = 16;
/** Advisory lock namespace for creating an issuer's first key (or a replacement): one at a time per issuer. */
const KEY_CREATION_LOCK = 73_038_581;

const newKid = prefixedIds('sk');

type SigningKeyRow = Selectable<SigningKeysTable>;

export interface ActiveSigningKey {
  kid: string;
  privateKey: KeyObject;
}

export const kidSchema = z.string().regex(/^sk_[0-9A-Za-z]{12}$/, 'must be a signing key id (sk_ followed by 12 letters and digits)');

export const rotateSigningKeyInputSchema = z.strictObject({
  activateInHours: z
    .number()
    .int()
    .min(0)
    .max(720)
    .default(24)
    .describe('Hours the new key is published in the JWKS before it signs, so partners caching the key set pick it up first. 0 = sign with it at once.'),
});

export const revokeSigningKeyInputSchema = z.strictObject({ reason: humanText(500) });

export const signingKeyStateSchema = z
  .enum(['pending', 'signing', 'verifying', 'retired', 'revoked'])
  .describe(
    'pending: published, signs from activatesAt on; signing: signs new vouchers; verifying: superseded, published until the last voucher it signed expires; retired: superseded and no longer published; revoked: withdrawn from the key set at once.',
  );

export const signingKeyOutputSchema = z.object({
  kid: z.string(),
  algorithm: z.literal('EdDSA'),
  publicJwk: z.record(z.string(), z.string()),
  state: signingKeyStateSchema,
  published: z.boolean().describe('Whether the public JWKS lists it.'),
  createdAt: z.string(),
  activatesAt: z.string(),
  revokedAt: z.string().nullable(),
  revokeReason: z.string().nullable(),
});
export type SigningKeyView = z.infer<typeof signingKeyOutputSchema>;

export const jwksOutputSchema = z.object({
  keys: z.array(z.object({ kty: z.literal('OKP'), crv: z.literal('Ed25519'), x: z.string(), kid: z.string(), alg: z.literal('EdDSA'), use: z.literal('sig') })),
});
export type Jwks = z.infer<typeof jwksOutputSchema>;

function keyCipher(secrets: Secrets, tenantId: string): Buffer {
  return secrets.subkey(`signing:${tenantId}`);
}

/** AES-256-GCM of the PKCS#8 private key, bound to its kid: a row copied to another kid does not open. */
function sealPrivateKey(secrets: Secrets, tenantId: string, kid: string, pkcs8: Buffer): Buffer {
  const nonce = randomBytes(NONCE);
  const cipher = createCipheriv('aes-256-gcm', keyCipher(secrets, tenantId), nonce);
  cipher.setAAD(Buffer.from(kid));
  const body = Buffer.concat([cipher.update(pkcs8), cipher.final()]);
  return Buffer.concat([nonce, cipher.getAuthTag(), body]);
}

/** Opened private keys by kid: a key never changes, so it is decrypted once per process. */
const opened = new Map<string, KeyObject>();

export function openPrivateKey(secrets: Secrets, row: Pick<SigningKeyRow, 'kid' | 'tenant_id' | 'private_key_cipher'>): KeyObject {
  let key = opened.get(row.kid);
  if (!key) {
    const sealed = row.private_key_cipher;
    const decipher = createDecipheriv('aes-256-gcm', keyCipher(secrets, row.tenant_id), sealed.subarray(0, NONCE));
    decipher.setAAD(Buffer.from(row.kid));
    decipher.setAuthTag(sealed.subarray(NONCE, NONCE + TAG));
    const pkcs8 = Buffer.concat([decipher.update(sealed.subarray(NONCE + TAG)), decipher.final()]);
    key = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
    opened.set(row.kid, key);
  }
  return key;
}

async function insertSigningKey(db: CoalitionDb, secrets: Secrets, tenantId: string, options: { activatesAt: Date; actor: string; now: Date }): Promise<SigningKeyRow> {
  const kid = newKid();
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const jwk = publicKey.export({ format: 'jwk' });
  return db
    .insertInto('signing_keys')
    .values({
      kid,
      tenant_id: tenantId,
      algorithm: 'EdDSA',
      public_jwk: JSON.stringify({ kty: jwk.kty!, crv: jwk.crv!, x: jwk.x! }),
      private_key_cipher: sealPrivateKey(secrets, tenantId, kid, privateKey.export({ format: 'der', type: 'pkcs8' })),
      created_at: options.now,
      created_by: options.actor,
      activates_at: options.activatesAt,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Every key of the issuer, newest activation first (creation order breaks a tie). */
async function keysOf(db: CoalitionDb, tenantId: string): Promise<SigningKeyRow[]> {
  return db.selectFrom('signing_keys').selectAll().where('tenant_id', '=', tenantId).orderBy('activates_at', 'desc').orderBy('seq', 'desc').execute();
}

/**
 * The key that signs at `now`: the latest key to have activated, unless it is revoked.
 * A key superseded by a later one never signs again, even if that later key is
 * revoked (then there is no signing key until a pending key takes over or a new one
 * is made).
 */
function currentOf(rows: readonly SigningKeyRow[], now: Date): SigningKeyRow | undefined {
  const latest = rows.find((row) => row.activates_at <= now);
  return latest && !latest.revoked_at ? latest : undefined;
}

/**
 * The signing key at `now`, or, when there is none (no key yet, or the signing key was
 * revoked), the earliest published pending key taking over at once, or a new key.
 * Call it holding the issuer's key creation lock.
 */
async function currentOrNewKey(trx: Database, secrets: Secrets, tenantId: string, now: Date): Promise<SigningKeyRow> {
  const coalition = coalitionDb(trx);
  const rows = await keysOf(coalition, tenantId);
  const current = currentOf(rows, now);
  if (current) return current;
  // Its seq is newer than any revoked key's, so it wins a tie on activates_at.
  const pending = rows.filter((row) => !row.revoked_at && row.activates_at > now).at(-1);
  if (pending) return coalition.updateTable('signing_keys').set({ activates_at: now }).where('kid', '=', pending.kid).returningAll().executeTakeFirstOrThrow();
  return insertSigningKey(coalition, secrets, tenantId, { activatesAt: now, actor: 'system', now });
}

async function lockKeyCreation(trx: Database, tenantId: string): Promise<void> {
  await sql`select pg_advisory_xact_lock(${KEY_CREATION_LOCK}, hashtext(${tenantId}))`.execute(trx);
}

/**
 * The issuer's signing key at `now`. The first exchange (or reward) of an issuer
 * creates one; if the signing key was revoked, a published pending key takes over at
 * once, or a new key is made. Creation is serialised per issuer by an advisory lock.
 */
export async function signingKeyFor(db: Database, secrets: Secrets, tenantId: string, now: Date): Promise<ActiveSigningKey> {
  const current = currentOf(await keysOf(coalitionDb(db), tenantId), now);
  if (current) return { kid: current.kid, privateKey: openPrivateKey(secrets, current) };
  const row = await db.transaction().execute(async (trx) => {
    await lockKeyCreation(trx, tenantId);
    return currentOrNewKey(trx, secrets, tenantId, now);
  });
  return { kid: row.kid, privateKey: openPrivateKey(secrets, row) };
}

/**
 * The key a voucher is signed with: its own, so that signing it again gives the same
 * token (Ed25519 is deterministic), unless that key has been revoked. Then the
 * voucher moves to the issuer's signing key (and is signed anew with it): a customer
 * is never handed a token no published key verifies, also when an exchange in flight
 * read the key just before it was revoked.
 */
export async function keyOfVoucher(db: Database, secrets: Secrets, voucher: { id: string; kid: string; issuer_tenant_id: string }, now: Date): Promise<ActiveSigningKey> {
  const coalition = coalitionDb(db);
  const row = await coalition.selectFrom('signing_keys').select(['kid', 'tenant_id', 'private_key_cipher', 'revoked_at']).where('kid', '=', voucher.kid).executeTakeFirstOrThrow();
  if (!row.revoked_at) return { kid: row.kid, privateKey: openPrivateKey(secrets, row) };
  const replacement = await signingKeyFor(db, secrets, voucher.issuer_tenant_id, now);
  await coalition.updateTable('vouchers').set({ kid: replacement.kid }).where('id', '=', voucher.id).where('kid', '=', voucher.kid).execute();
  return replacement;
}

async function hasUnexpiredVouchers(db: CoalitionDb, kid: string, now: Date): Promise<boolean> {
  const row = await db.selectFrom('vouchers').select('id').where('kid', '=', kid).where('expires_at', '>', now).limit(1).executeTakeFirst();
  return row !== undefined;
}

/** `rows`: every key of one issuer, as keysOf returns them (the states depend on each other). */
async function viewsOf(db: CoalitionDb, rows: readonly SigningKeyRow[], now: Date): Promise<SigningKeyView[]> {
  const current = currentOf(rows, now);
  const views: SigningKeyView[] = [];
  for (const row of rows) {
    let state: SigningKeyView['state'];
    if (row.revoked_at) state = 'revoked';
    else if (row.activates_at > now) state = 'pending';
    else if (row.kid === current?.kid) state = 'signing';
    else state = (await hasUnexpiredVouchers(db, row.kid, now)) ? 'verifying' : 'retired';
    views.push({
      kid: row.kid,
      algorithm: 'EdDSA',
      publicJwk: row.public_jwk as unknown as Record<string, string>,
      state,
      published: state === 'pending' || state === 'signing' || state === 'verifying',
      createdAt: row.created_at.toISOString(),
      activatesAt: row.activates_at.toISOString(),
      revokedAt: row.revoked_at?.toISOString() ?? null,
      revokeReason: row.revoke_reason,
    });
  }
  return views;
}

export async function listSigningKeys(db: Database, tenantId: string, now: Date): Promise<SigningKeyView[]> {
  const coalition = coalitionDb(db);
  return viewsOf(coalition, await keysOf(coalition, tenantId), now);
}

/**
 * The issuer's verifying keys as a JWKS: the signing key, a pending key (published
 * before it signs, so partners' caches hold it in time) and every superseded key
 * while a voucher it signed has not expired. Revoked keys are gone at once.
 */
export async function publishedKeySet(db: Database, tenantId: string, now: Date): Promise<Jwks> {
  const views = await listSigningKeys(db, tenantId, now);
  return {
    keys: views
      .filter((view) => view.published)
      .map((view) => ({ kty: 'OKP', crv: 'Ed25519', x: view.publicJwk.x!, kid: view.kid, alg: 'EdDSA', use: 'sig' }) as const),
  };
}

export interface SigningKeyContext {
  db: Database;
  secrets: Secrets;
  tenant: TenantHandle;
  actor: string;
  now: Date;
}

/** Publishes a new key now; it starts signing `activateInHours` later, and the current key keeps verifying its vouchers. */
export async function rotateSigningKey(context: SigningKeyContext, rawInput: z.input<typeof rotateSigningKeyInputSchema>): Promise<SigningKeyView> {
  const input = parseInput(rotateSigningKeyInputSchema, rawInput);
  return context.db.transaction().execute(async (trx) => {
    await lockKeyCreation(trx, context.tenant.id);
    const coalition = coalitionDb(trx);
    const pending = (await keysOf(coalition, context.tenant.id)).find((row) => !row.revoked_at && row.activates_at > context.now);
    if (pending) {
      throw new AppError('SIGNING_KEY_ROTATION_PENDING', `Key ${pending.kid} is already published and takes over at ${pending.activates_at.toISOString()}.`, {
        kid: pending.kid,
        activatesAt: pending.activates_at.toISOString(),
      });
    }
    const row = await insertSigningKey(coalition, context.secrets, context.tenant.id, {
      activatesAt: new Date(context.now.getTime() + input.activateInHours * HOUR_MS),
      actor: context.actor,
      now: context.now,
    });
    await insertAuditEvent(tenantDb(trx, context.tenant.schema), {
      actor: context.actor,
      action: 'signing_key.created',
      subjectType: 'signing_key',
      subjectId: row.kid,
      details: { activatesAt: row.activates_at.toISOString() },
    });
    return viewOfKey(coalition, context.tenant.id, row.kid, context.now);
  });
}

async function viewOfKey(db: CoalitionDb, tenantId: string, kid: string, now: Date): Promise<SigningKeyView> {
  return (await viewsOf(db, await keysOf(db, tenantId), now)).find((view) => view.kid === kid)!;
}

/**
 * Withdraws a key from the JWKS at once (a leaked private key). It never signs again:
 * if it was the signing key, a published pending key takes over, or a new key is made,
 * and every unexpired voucher it signed moves to that key, so the app shows customers
 * tokens that verify (the tokens handed out before no longer verify offline; their
 * codes still redeem online).
 */
export async function revokeSigningKey(context: SigningKeyContext, kid: string, rawInput: z.input<typeof revokeSigningKeyInputSchema>): Promise<SigningKeyView> {
  const input = parseInput(revokeSigningKeyInputSchema, rawInput);
  return context.db.transaction().execute(async (trx) => {
    await lockKeyCreation(trx, context.tenant.id);
    const coalition = coalitionDb(trx);
    const row = await coalition.selectFrom('signing_keys').selectAll().where('kid', '=', kid).where('tenant_id', '=', context.tenant.id).forNoKeyUpdate().executeTakeFirst();
    if (!row) throw new AppError('SIGNING_KEY_NOT_FOUND', `No signing key ${kid} belongs to ${context.tenant.slug}.`, { kid });
    if (row.revoked_at) throw new AppError('SIGNING_KEY_ALREADY_REVOKED', `Key ${kid} was revoked at ${row.revoked_at.toISOString()}.`, { kid, revokedAt: row.revoked_at.toISOString() });
    await coalition.updateTable('signing_keys').set({ revoked_at: context.now, revoked_by: context.actor, revoke_reason: input.reason }).where('kid', '=', kid).execute();
    const replacement = await currentOrNewKey(trx, context.secrets, context.tenant.id, context.now);
    const moved = await coalition
      .updateTable('vouchers')
      .set({ kid: replacement.kid })
      .where('kid', '=', kid)
      .where('status', '<>', 'cancelled')
      .where('expires_at', '>', context.now)
      .executeTakeFirst();
    await insertAuditEvent(tenantDb(trx, context.tenant.schema), {
      actor: context.actor,
      action: 'signing_key.revoked',
      subjectType: 'signing_key',
      subjectId: kid,
      details: { reason: input.reason, replacedBy: replacement.kid, vouchersMoved: Number(moved.numUpdatedRows) },
    });
    return viewOfKey(coalition, context.tenant.id, kid, context.now);
  });
}
