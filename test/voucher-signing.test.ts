import { createPublicKey } from 'node:crypto';
import { createLocalJWKSet, createRemoteJWKSet, decodeProtectedHeader, errors, jwtVerify, type JSONWebKeySet, type JWTVerifyResult } from 'jose';
import { customAlphabet } from 'nanoid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coalitionDb } from '../server/src/db/database.ts';
import { openPrivateKey } from '../server/src/vouchers/signing-keys.ts';
import { tokenFromQrText } from '../server/src/vouchers/qr-text.ts';
import { codeList, customersWithStickers, exchange, rewardWithCodes, startExchangeWorld, type ExchangeWorld } from './support/exchange.ts';
import { tenantWithKey } from './support/factories.ts';
import { request, type ApiResponse } from './support/http-client.ts';
import { hs256Token, propertyNames, scanVoucherQr, splitCompact, unsignedToken, withHeader, withPayload } from './support/jws.ts';

const VOUCHER_TYP = 'cx-voucher+jwt';
const HOUR_MS = 60 * 60 * 1000;
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const codePrefix = customAlphabet('ABCDEFGHJKLMNPQRSTUVWXYZ', 6);

// ---- the partner's side: fetch the issuer's JWKS and verify with jose -----------------

function jwksPath(slug: string): string {
  return `/api/v1/issuers/${slug}/jwks`;
}

async function fetchJwks(world: ExchangeWorld, slug = world.issuer.tenant.slug): Promise<JSONWebKeySet & { keys: Array<Record<string, string>> }> {
  const res = await request(world.system.baseUrl, 'GET', jwksPath(slug));
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

async function publishedKids(world: ExchangeWorld): Promise<string[]> {
  return (await fetchJwks(world)).keys.map((key) => key.kid!);
}

/** What a partner's till does with a scanned voucher: verify it against the issuer's current JWKS, at the moment of the scan. */
async function verifyVoucher(
  world: ExchangeWorld,
  token: string,
  options: { jwks?: JSONWebKeySet; audience?: string; issuer?: string; at?: Date } = {},
): Promise<JWTVerifyResult> {
  const jwks = options.jwks ?? (await fetchJwks(world));
  return jwtVerify(token, createLocalJWKSet(jwks), {
    issuer: options.issuer ?? world.issuer.tenant.slug,
    audience: options.audience ?? world.partner.tenant.slug,
    algorithms: ['EdDSA'],
    typ: VOUCHER_TYP,
    currentDate: options.at ?? world.clock.now(),
  });
}

/** The error a promise rejects with (fails the test if it resolves). */
async function rejectionOf(promise: Promise<unknown>): Promise<any> {
  return promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
    },
    (error: unknown) => error,
  );
}

function kidOf(token: string): string {
  return decodeProtectedHeader(token).kid!;
}

// ---- the issuer's side -----------------------------------------------------------------

interface VoucherShop {
  customerId: string;
  /** Exchanges 10 stickers for a voucher (status 200 asserted). */
  issue(): Promise<any>;
}

/** A reward of the world's partner with its own codes and a customer rich in stickers. */
async function voucherShop(world: ExchangeWorld, reward: Record<string, unknown> = {}, codes = 6): Promise<VoucherShop> {
  const { reward: created } = await rewardWithCodes(world, codeList(`${codePrefix()}-`, codes), { reward: { stickerCost: 10, ...reward } });
  const [customerId] = await customersWithStickers(world, 1, 10 * codes);
  return {
    customerId: customerId!,
    issue: async () => {
      const res = await exchange(world, { customer: { customerId }, rewardId: created.id });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return res.body;
    },
  };
}

async function getVoucher(world: ExchangeWorld, id: string): Promise<any> {
  const res = await request(world.system.baseUrl, 'GET', `/api/v1/vouchers/${id}`, { key: world.issuer.key });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

async function listKeys(world: ExchangeWorld, key = world.issuer.key): Promise<ApiResponse> {
  const res = await request(world.system.baseUrl, 'GET', '/api/v1/signing-keys', { key });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res;
}

async function keyStates(world: ExchangeWorld): Promise<Record<string, { state: string; published: boolean }>> {
  const res = await listKeys(world);
  return Object.fromEntries(res.body.keys.map((key: any) => [key.kid, { state: key.state, published: key.published }]));
}

function rotate(world: ExchangeWorld, body: Record<string, unknown> = {}, key = world.issuer.key): Promise<ApiResponse> {
  return request(world.system.baseUrl, 'POST', '/api/v1/signing-keys/rotate', { key, body });
}

function revoke(world: ExchangeWorld, kid: string, reason = 'Private key found in a leaked backup', key = world.issuer.key): Promise<ApiResponse> {
  return request(world.system.baseUrl, 'POST', `/api/v1/signing-keys/${kid}/revoke`, { key, body: { reason } });
}

/** Runs a scenario in a world of its own (its own database and clock), stopped afterwards. */
async function inOwnWorld(scenario: (world: ExchangeWorld) => Promise<void>): Promise<void> {
  const world = await startExchangeWorld();
  try {
    await scenario(world);
  } finally {
    await world.stop();
  }
}

// ---- specifications --------------------------------------------------------------------

describe('a signed voucher', () => {
  let world: ExchangeWorld;
  let shop: VoucherShop;

  beforeAll(async () => {
    world = await startExchangeWorld();
    shop = await voucherShop(world);
  });
  afterAll(() => world.stop());

  it('verifies against the issuer JWKS fetched from the server, and its claims are the voucher handed out', async () => {
    const voucher = await shop.issue();
    const keySet = createRemoteJWKSet(new URL(`${world.system.baseUrl}${jwksPath(world.issuer.tenant.slug)}`));
    const { payload, protectedHeader } = await jwtVerify(voucher.token, keySet, {
      issuer: world.issuer.tenant.slug,
      audience: world.partner.tenant.slug,
      algorithms: ['EdDSA'],
      typ: VOUCHER_TYP,
      currentDate: world.clock.now(),
    });

    expect(protectedHeader).toEqual({ alg: 'EdDSA', kid: expect.stringMatching(/^sk_[0-9A-Za-z]{12}$/), typ: VOUCHER_TYP });
    expect(await publishedKids(world)).toContain(protectedHeader.kid);
    expect(payload).toEqual({
      iss: world.issuer.tenant.slug,
      aud: world.partner.tenant.slug,
      sub: voucher.id,
      jti: voucher.id,
      iat: Date.parse(voucher.issuedAt) / 1000,
      exp: Date.parse(voucher.expiresAt) / 1000,
      offer: voucher.offerId,
      value: voucher.offer.value,
      currency: voucher.offer.currency,
      minOrderMinor: voucher.offer.minOrderMinor,
      code: voucher.code,
    });
    expect(voucher.offer.value).toEqual({ type: 'fixed', amountMinor: 50_000 });
    expect(payload.iat).toBe(world.clock.now().getTime() / 1000);
  });

  it('puts the very same token into the QR text, using only Base45 (QR alphanumeric) characters', async () => {
    const voucher = await shop.issue();
    expect(voucher.qrText.startsWith('CXV1:')).toBe(true);
    expect(voucher.qrText.slice('CXV1:'.length)).toMatch(/^[0-9A-Z $%*+\-./:]+$/);
    expect(scanVoucherQr(voucher.qrText)).toBe(voucher.token);
    expect(tokenFromQrText(voucher.qrText)).toBe(voucher.token);
    await expect(verifyVoucher(world, scanVoucherQr(voucher.qrText))).resolves.toMatchObject({ payload: { code: voucher.code } });
  });

  it('is signed again into the byte-identical token and QR text when the voucher is fetched later', async () => {
    const voucher = await shop.issue();
    world.clock.advance(HOUR_MS);
    const fetched = await getVoucher(world, voucher.id);
    expect(fetched.token).toBe(voucher.token);
    expect(fetched.qrText).toBe(voucher.qrText);
    expect(fetched.code).toBe(voucher.code);
  });
});

describe('vouchers a partner must refuse', () => {
  let world: ExchangeWorld;
  let voucher: any;
  let jwks: JSONWebKeySet & { keys: Array<Record<string, string>> };

  beforeAll(async () => {
    world = await startExchangeWorld();
    const shop = await voucherShop(world);
    voucher = await shop.issue();
    jwks = await fetchJwks(world);
    // the untouched voucher verifies: every refusal below is down to the one thing changed
    await verifyVoucher(world, voucher.token, { jwks });
  });
  afterAll(() => world.stop());

  it('refuses a voucher whose code was edited, signature kept', async () => {
    const forged = withPayload(voucher.token, (payload) => ({ ...payload, code: 'FREE-EVERYTHING' }));
    const error = await rejectionOf(verifyVoucher(world, forged, { jwks }));
    expect(error).toBeInstanceOf(errors.JWSSignatureVerificationFailed);
    expect(error.code).toBe('ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
  });

  it('refuses a voucher whose value was raised, signature kept', async () => {
    const forged = withPayload(voucher.token, (payload) => ({ ...payload, value: { ...payload.value, amountMinor: payload.value.amountMinor * 10 } }));
    const error = await rejectionOf(verifyVoucher(world, forged, { jwks }));
    expect(error).toBeInstanceOf(errors.JWSSignatureVerificationFailed);
  });

  it('refuses a voucher presented at another partner (audience mismatch)', async () => {
    const otherPartner = await tenantWithKey(world.system.services, { roles: ['partner'], scopes: ['admin'] });
    const error = await rejectionOf(verifyVoucher(world, voucher.token, { jwks, audience: otherPartner.tenant.slug }));
    expect(error).toBeInstanceOf(errors.JWTClaimValidationFailed);
    expect(error).toMatchObject({ code: 'ERR_JWT_CLAIM_VALIDATION_FAILED', claim: 'aud', reason: 'check_failed' });
  });

  it('refuses a voucher checked against another issuer (its keys do not match, its iss claim does not either)', async () => {
    const otherIssuer = await tenantWithKey(world.system.services, { roles: ['issuer'], scopes: ['admin'] });
    expect((await rotate(world, { activateInHours: 0 }, otherIssuer.key)).status).toBe(200);
    const otherJwks = await fetchJwks(world, otherIssuer.tenant.slug);
    expect(otherJwks.keys).toHaveLength(1);
    const noKey = await rejectionOf(verifyVoucher(world, voucher.token, { jwks: otherJwks, issuer: otherIssuer.tenant.slug }));
    expect(noKey).toBeInstanceOf(errors.JWKSNoMatchingKey);
    const wrongIss = await rejectionOf(verifyVoucher(world, voucher.token, { jwks, issuer: otherIssuer.tenant.slug }));
    expect(wrongIss).toMatchObject({ code: 'ERR_JWT_CLAIM_VALIDATION_FAILED', claim: 'iss' });
  });

  it('refuses a voucher naming a kid the key set does not hold', async () => {
    expect(jwks.keys.map((key) => key.kid)).not.toContain('sk_000000000000');
    const forged = withHeader(voucher.token, (header) => ({ ...header, kid: 'sk_000000000000' }));
    const error = await rejectionOf(verifyVoucher(world, forged, { jwks }));
    expect(error).toBeInstanceOf(errors.JWKSNoMatchingKey);
    expect(error.code).toBe('ERR_JWKS_NO_MATCHING_KEY');
  });

  it('refuses an unsigned voucher (alg "none")', async () => {
    const { header, payload } = splitCompact(voucher.token);
    const forged = unsignedToken(header, { ...payload, code: 'FREE-EVERYTHING' });
    expect(forged.endsWith('.')).toBe(true);
    const error = await rejectionOf(verifyVoucher(world, forged, { jwks }));
    expect(error).toBeInstanceOf(errors.JOSEAlgNotAllowed);
    expect(error.code).toBe('ERR_JOSE_ALG_NOT_ALLOWED');
    // a verifier that forgot to pin the algorithm is still safe: a key set never yields a key for "none"
    const lax = await rejectionOf(jwtVerify(forged, createLocalJWKSet(jwks), { currentDate: world.clock.now() }));
    expect(lax).toBeInstanceOf(errors.JOSENotSupported);
  });

  it('refuses an HS256 voucher whose HMAC secret is the public key (algorithm confusion)', async () => {
    const { header, payload } = splitCompact(voucher.token);
    const published = jwks.keys.find((key) => key.kid === header.kid)!;
    expect(published).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA' });
    const publicKey = createPublicKey({ key: published as any, format: 'jwk' });
    const secrets: Array<[string, Uint8Array | string]> = [
      ['raw public key bytes (x)', Buffer.from(published.x!, 'base64url')],
      ['x as text', published.x!],
      ['SPKI PEM', publicKey.export({ format: 'pem', type: 'spki' }) as string],
      ['JWK JSON', JSON.stringify(published)],
    ];
    const claims = { ...payload, value: { type: 'fixed', amountMinor: 5_000_000 } };
    for (const [name, secret] of secrets) {
      const forged = hs256Token(header, claims, secret);
      // the forgery is a well-formed HS256 token: it verifies with that secret as an HMAC key
      await expect(jwtVerify(forged, typeof secret === 'string' ? Buffer.from(secret) : secret, { currentDate: world.clock.now() }), name).resolves.toBeTruthy();
      const error = await rejectionOf(verifyVoucher(world, forged, { jwks }));
      expect(error, name).toBeInstanceOf(errors.JOSEAlgNotAllowed);
      const lax = await rejectionOf(jwtVerify(forged, createLocalJWKSet(jwks), { currentDate: world.clock.now() }));
      expect(lax, name).toBeInstanceOf(errors.JOSENotSupported);
    }
  });

  it('refuses a voucher once it has expired, though the same token verified before', async () => {
    await inOwnWorld(async (own) => {
      const shop = await voucherShop(own, { voucherValidDays: 1, minCodeValidityDays: 0 });
      const shortLived = await shop.issue();
      expect(Date.parse(shortLived.expiresAt)).toBe(own.clock.now().getTime() + 24 * HOUR_MS);
      await expect(verifyVoucher(own, shortLived.token, { at: new Date(Date.parse(shortLived.expiresAt) - 1_000) })).resolves.toBeTruthy();

      own.clock.set(new Date(Date.parse(shortLived.expiresAt) + 1_000));
      const error = await rejectionOf(verifyVoucher(own, shortLived.token, { at: own.clock.now() }));
      expect(error).toBeInstanceOf(errors.JWTExpired);
      expect(error).toMatchObject({ code: 'ERR_JWT_EXPIRED', claim: 'exp', reason: 'check_failed' });

      const fetched = await getVoucher(own, shortLived.id);
      expect(fetched.status).toBe('expired');
      expect(fetched.token).toBe(shortLived.token);
    });
  });
});

describe('rotating the signing key', () => {
  it('keeps vouchers signed before an immediate rotation verifiable and signs new ones with the new key', async () => {
    await inOwnWorld(async (world) => {
      const shop = await voucherShop(world, { voucherValidDays: 3, minCodeValidityDays: 0 });
      const before = await shop.issue();
      const oldKid = kidOf(before.token);
      expect(await keyStates(world)).toEqual({ [oldKid]: { state: 'signing', published: true } });

      // an hour later, as in real life: a rotation in the very millisecond the first key
      // activated ties on activates_at, and the server then picks the signer by kid order
      world.clock.advance(HOUR_MS);
      const rotated = await rotate(world, { activateInHours: 0 });
      expect(rotated.status, JSON.stringify(rotated.body)).toBe(200);
      const newKid = rotated.body.kid;
      expect(newKid).not.toBe(oldKid);
      expect(rotated.body).toMatchObject({ algorithm: 'EdDSA', state: 'signing', published: true, activatesAt: world.clock.now().toISOString(), revokedAt: null });

      expect(await keyStates(world)).toEqual({ [oldKid]: { state: 'verifying', published: true }, [newKid]: { state: 'signing', published: true } });
      expect((await publishedKids(world)).sort()).toEqual([oldKid, newKid].sort());
      await expect(verifyVoucher(world, before.token)).resolves.toMatchObject({ protectedHeader: { kid: oldKid } });
      // a voucher signed before the rotation is still signed with its own key when shown again
      expect((await getVoucher(world, before.id)).token).toBe(before.token);

      const after = await shop.issue();
      expect(kidOf(after.token)).toBe(newKid);
      await expect(verifyVoucher(world, after.token)).resolves.toMatchObject({ payload: { code: after.code } });

      world.clock.set(new Date(Date.parse(before.expiresAt) + 1_000));
      expect(await keyStates(world)).toEqual({ [oldKid]: { state: 'retired', published: false }, [newKid]: { state: 'signing', published: true } });
      expect(await publishedKids(world)).toEqual([newKid]);
      await expect(verifyVoucher(world, after.token)).resolves.toBeTruthy();
      expect(await rejectionOf(verifyVoucher(world, before.token))).toBeInstanceOf(errors.JWKSNoMatchingKey);
    });
  });

  it('publishes a key rotated with the default 24 hours first, and signs with it only once it activates', async () => {
    await inOwnWorld(async (world) => {
      const shop = await voucherShop(world, { voucherValidDays: 3, minCodeValidityDays: 0 });
      const first = await shop.issue();
      const oldKid = kidOf(first.token);

      world.clock.advance(HOUR_MS);
      const rotated = await rotate(world, {});
      expect(rotated.status, JSON.stringify(rotated.body)).toBe(200);
      const newKid = rotated.body.kid;
      const activatesAt = world.clock.now().getTime() + 24 * HOUR_MS;
      expect(rotated.body).toMatchObject({ state: 'pending', published: true, activatesAt: new Date(activatesAt).toISOString() });
      expect(await keyStates(world)).toEqual({ [oldKid]: { state: 'signing', published: true }, [newKid]: { state: 'pending', published: true } });
      expect((await publishedKids(world)).sort()).toEqual([oldKid, newKid].sort());

      const again = await rotate(world, { activateInHours: 0 });
      expect(again.status).toBe(409);
      expect(again.body).toMatchObject({ code: 'SIGNING_KEY_ROTATION_PENDING', details: { kid: newKid, activatesAt: new Date(activatesAt).toISOString() } });

      // before activation the old key still signs
      const second = await shop.issue();
      expect(kidOf(second.token)).toBe(oldKid);
      world.clock.set(new Date(activatesAt - 1_000));
      const lastBeforeActivation = await shop.issue();
      expect(kidOf(lastBeforeActivation.token)).toBe(oldKid);

      world.clock.set(new Date(activatesAt));
      const third = await shop.issue();
      expect(kidOf(third.token)).toBe(newKid);
      expect(await keyStates(world)).toEqual({ [oldKid]: { state: 'verifying', published: true }, [newKid]: { state: 'signing', published: true } });
      for (const voucher of [first, second, lastBeforeActivation, third]) await expect(verifyVoucher(world, voucher.token)).resolves.toMatchObject({ payload: { code: voucher.code } });

      // the old key stays published until the LAST voucher it signed has expired
      const lastOld = Math.max(...[first, second, lastBeforeActivation].map((voucher) => Date.parse(voucher.expiresAt)));
      world.clock.set(new Date(Date.parse(first.expiresAt) + 1_000));
      expect(Date.parse(first.expiresAt)).toBeLessThan(lastOld);
      expect((await keyStates(world))[oldKid]).toEqual({ state: 'verifying', published: true });
      expect(await publishedKids(world)).toContain(oldKid);

      world.clock.set(new Date(lastOld + 1_000));
      expect(await keyStates(world)).toEqual({ [oldKid]: { state: 'retired', published: false }, [newKid]: { state: 'signing', published: true } });
      expect(await publishedKids(world)).toEqual([newKid]);
    });
  });
});

describe('revoking a signing key', () => {
  it('withdraws the key from the JWKS at once, so its vouchers no longer verify, and signs the next voucher with a new key', async () => {
    await inOwnWorld(async (world) => {
      const shop = await voucherShop(world);
      const before = await shop.issue();
      const oldKid = kidOf(before.token);
      await expect(verifyVoucher(world, before.token)).resolves.toBeTruthy();

      const revoked = await revoke(world, oldKid, 'Private key found in a leaked backup');
      expect(revoked.status, JSON.stringify(revoked.body)).toBe(200);
      expect(revoked.body).toMatchObject({ kid: oldKid, state: 'revoked', published: false, revokedAt: world.clock.now().toISOString(), revokeReason: 'Private key found in a leaked backup' });
      expect(await publishedKids(world)).not.toContain(oldKid);
      const error = await rejectionOf(verifyVoucher(world, before.token));
      expect(error).toBeInstanceOf(errors.JWKSNoMatchingKey);

      const after = await shop.issue();
      const newKid = kidOf(after.token);
      expect(newKid).not.toBe(oldKid);
      await expect(verifyVoucher(world, after.token)).resolves.toMatchObject({ payload: { code: after.code }, protectedHeader: { kid: newKid } });
      expect(await keyStates(world)).toEqual({ [oldKid]: { state: 'revoked', published: false }, [newKid]: { state: 'signing', published: true } });
      expect(await publishedKids(world)).toEqual([newKid]);

      const twice = await revoke(world, oldKid);
      expect(twice.status).toBe(409);
      expect(twice.body).toMatchObject({ code: 'SIGNING_KEY_ALREADY_REVOKED', details: { kid: oldKid } });
    });
  });

  it("refuses to revoke another issuer's key (404) and leaves that key published", async () => {
    await inOwnWorld(async (world) => {
      const other = await tenantWithKey(world.system.services, { roles: ['issuer'], scopes: ['admin'] });
      const created = await rotate(world, { activateInHours: 0 }, other.key);
      expect(created.status, JSON.stringify(created.body)).toBe(200);
      const otherKid = created.body.kid;

      const res = await revoke(world, otherKid);
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({ code: 'SIGNING_KEY_NOT_FOUND', details: { kid: otherKid } });
      expect((await fetchJwks(world, other.tenant.slug)).keys.map((key) => key.kid)).toEqual([otherKid]);
      expect((await listKeys(world, other.key)).body.keys).toMatchObject([{ kid: otherKid, state: 'signing', revokedAt: null }]);

      const unknown = await revoke(world, 'sk_000000000000');
      expect(unknown.status).toBe(404);
      expect(unknown.body.code).toBe('SIGNING_KEY_NOT_FOUND');
    });
  });

  it('hands signing over to the pending key at once when the signing key is revoked during a rotation', async () => {
    await inOwnWorld(async (world) => {
      const shop = await voucherShop(world);
      const oldKid = kidOf((await shop.issue()).token);
      world.clock.advance(HOUR_MS);
      const pending = await rotate(world, { activateInHours: 48 });
      expect(pending.body.state).toBe('pending');

      expect((await revoke(world, oldKid)).status).toBe(200);
      const next = await shop.issue();
      expect(kidOf(next.token)).toBe(pending.body.kid);
      await expect(verifyVoucher(world, next.token)).resolves.toBeTruthy();
      expect(await keyStates(world)).toEqual({ [oldKid]: { state: 'revoked', published: false }, [pending.body.kid]: { state: 'signing', published: true } });
    });
  });

  it('does not bring a superseded key back into signing when the current signing key is revoked', async () => {
    await inOwnWorld(async (world) => {
      const shop = await voucherShop(world);
      const firstKid = kidOf((await shop.issue()).token);
      world.clock.advance(HOUR_MS);
      const secondKid = (await rotate(world, { activateInHours: 0 })).body.kid;
      expect(kidOf((await shop.issue()).token)).toBe(secondKid);
      expect((await keyStates(world))[firstKid]!.state).toBe('verifying');

      world.clock.advance(HOUR_MS);
      expect((await revoke(world, secondKid)).status).toBe(200);
      const next = await shop.issue();
      const nextKid = kidOf(next.token);
      // "the next exchange signs with a pending key or a new one" (signing-keys.ts): not the key rotated out before
      expect(nextKid).not.toBe(secondKid);
      expect(nextKid).not.toBe(firstKid);
      await expect(verifyVoucher(world, next.token)).resolves.toBeTruthy();
    });
  });
});

describe('the private signing key', () => {
  it('never appears in the key routes, the JWKS, the logs, nor in plain in the database', async () => {
    await inOwnWorld(async (world) => {
      const shop = await voucherShop(world);
      const voucher = await shop.issue();
      const fetched = await getVoucher(world, voucher.id);
      world.clock.advance(HOUR_MS);
      const rotated = await rotate(world, { activateInHours: 0 });
      const pending = await rotate(world, { activateInHours: 24 });
      const revoked = await revoke(world, rotated.body.kid);
      const listed = await listKeys(world);
      const jwks = await request(world.system.baseUrl, 'GET', jwksPath(world.issuer.tenant.slug));
      const answers = [rotated, pending, revoked, listed, jwks];
      for (const answer of answers) expect(answer.status, JSON.stringify(answer.body)).toBe(200);

      for (const answer of answers) expect(propertyNames(answer.body), JSON.stringify(answer.body)).not.toContain('d');
      for (const key of listed.body.keys) expect(Object.keys(key.publicJwk).sort()).toEqual(['crv', 'kty', 'x']);

      const rows = await coalitionDb(world.system.services.db)
        .selectFrom('signing_keys')
        .innerJoin('tenants', 'tenants.id', 'signing_keys.tenant_id')
        .selectAll('signing_keys')
        .where('tenants.slug', '=', world.issuer.tenant.slug)
        .execute();
      expect(rows).toHaveLength(3);
      const answerText = answers.map((answer) => JSON.stringify(answer.body)).join('\n');
      const logText = world.system.logLines.join('\n');
      expect(world.system.logLines.length).toBeGreaterThan(0);
      for (const row of rows) {
        const cipher = Buffer.from(row.private_key_cipher);
        expect(cipher.subarray(0, PKCS8_ED25519_PREFIX.length).equals(PKCS8_ED25519_PREFIX), row.kid).toBe(false);
        expect(cipher.includes(PKCS8_ED25519_PREFIX), row.kid).toBe(false);
        // the stored bytes really are the key, sealed: opening them yields the published public key
        const privateKey = openPrivateKey(world.system.services.secrets, row);
        const privateJwk = privateKey.export({ format: 'jwk' });
        expect(privateJwk.x).toBe((row.public_jwk as unknown as { x: string }).x);
        const seed = Buffer.from(privateJwk.d!, 'base64url');
        expect(cipher.includes(seed), row.kid).toBe(false);
        expect(answerText).not.toContain(privateJwk.d);
        expect(logText).not.toContain(privateJwk.d);
        expect(logText).not.toContain(seed.toString('hex'));
        expect(logText).not.toContain(seed.toString('base64'));
      }

      for (const secret of [voucher.token, voucher.code, voucher.qrText, fetched.token, splitCompact(voucher.token).signature]) expect(logText).not.toContain(secret);
    });
  });
});

describe('the JWKS endpoint', () => {
  let world: ExchangeWorld;

  beforeAll(async () => {
    world = await startExchangeWorld();
    await voucherShop(world);
  });
  afterAll(() => world.stop());

  it('serves the issuer key set without authentication, cacheable for five minutes', async () => {
    const res = await request(world.system.baseUrl, 'GET', jwksPath(world.issuer.tenant.slug));
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('public, max-age=300');
    expect(res.body.keys).toHaveLength(1);
    expect(res.body.keys[0]).toEqual({ kty: 'OKP', crv: 'Ed25519', x: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), kid: expect.stringMatching(/^sk_/), alg: 'EdDSA', use: 'sig' });
  });

  it('answers 404 TENANT_NOT_FOUND for a slug no tenant has', async () => {
    const res = await request(world.system.baseUrl, 'GET', jwksPath('no-such-issuer'));
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('TENANT_NOT_FOUND');
  });

  it('answers 404 TENANT_NOT_FOUND for a partner, which issues no vouchers', async () => {
    const res = await request(world.system.baseUrl, 'GET', jwksPath(world.partner.tenant.slug));
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('TENANT_NOT_FOUND');
  });
});
