import { generateKeyPairSync, sign } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signingKeyFor } from '../server/src/vouchers/signing-keys.ts';
import { VoucherVerificationError, tokenFromQrText, verifyVoucher, voucherKeySet, type FetchLike } from '../client-sdk/src/index.ts';
import { codeList, rewardWithCodes, startExchangeWorld, type ExchangeWorld } from './support/exchange.ts';
import { base64urlJson, splitCompact, withHeader, withPayload } from './support/jws.ts';
import { issuedVoucher, tenantIdOf } from './support/redemption.ts';
import { rejectionOf, sdkClient } from './support/sdk.ts';

let world: ExchangeWorld;
let rewardId: string;

beforeAll(async () => {
  world = await startExchangeWorld();
  rewardId = (await rewardWithCodes(world, codeList('SIG-', 20))).reward.id;
});
afterAll(() => world.stop());

const jwksUrl = () => `${world.system.baseUrl}/api/v1/issuers/${world.issuer.tenant.slug}/jwks`;
const jwksRequests = () => world.system.logLines.filter((line) => line.includes(`"path":"/api/v1/issuers/${world.issuer.tenant.slug}/jwks"`)).length;
const partnerSlug = () => world.partner.tenant.slug;

/** A fetch that counts the key set fetches it makes. */
function countingFetch() {
  const counter = { fetches: 0, fetch: (async (url, init) => {
    counter.fetches += 1;
    return fetch(url, init);
  }) as FetchLike };
  return counter;
}

async function refusal(promise: Promise<unknown>): Promise<VoucherVerificationError> {
  const error = await rejectionOf(promise);
  expect(error).toBeInstanceOf(VoucherVerificationError);
  return error;
}

describe('verifyVoucher against the issuer JWKS', () => {
  it('verifies a real voucher, as its token and as its QR text, and returns the typed claims; the key set is fetched once per URL', async () => {
    const voucher = await issuedVoucher(world, rewardId);
    const options = { jwksUrl: jwksUrl(), audience: partnerSlug(), issuer: world.issuer.tenant.slug, now: world.clock.now() };
    const before = jwksRequests();

    const claims = await verifyVoucher(voucher.token, options);
    expect(claims).toMatchObject({
      iss: world.issuer.tenant.slug,
      aud: partnerSlug(),
      sub: voucher.id,
      jti: voucher.id,
      code: voucher.code,
      value: { type: 'fixed', amountMinor: 50_000 },
      currency: 'RUB',
      minOrderMinor: 300_000,
      exp: Math.floor(Date.parse(voucher.expiresAt) / 1000),
    });
    expect(await tokenFromQrText(voucher.qrText)).toBe(voucher.token);
    expect(await verifyVoucher(voucher.qrText, options)).toEqual(claims);
    // By the claimed issuer, for a shop that takes vouchers of every issuer.
    const byIssuer = (issuer: string) => `${world.system.baseUrl}/api/v1/issuers/${issuer}/jwks`;
    expect(await verifyVoucher(voucher.token, { jwksUrl: byIssuer, audience: partnerSlug(), now: world.clock.now() })).toEqual(claims);
    expect(jwksRequests() - before).toBe(1);

    // A key set the shop holds itself (the JWKS is an API call too).
    const jwks = await sdkClient(world, world.partner.key).jwks.query({ issuerSlug: world.issuer.tenant.slug });
    expect(await verifyVoucher(voucher.token, { jwks, audience: partnerSlug(), now: world.clock.now() })).toEqual(claims);
  });

  it('refuses a tampered voucher, one for another shop or issuer, an expired one, and things that are not vouchers', async () => {
    const voucher = await issuedVoucher(world, rewardId);
    const options = { jwksUrl: jwksUrl(), audience: partnerSlug(), now: world.clock.now() };

    const richer = withPayload(voucher.token, (payload) => ({ ...payload, value: { type: 'fixed', amountMinor: 5_000_000 } }));
    expect(await refusal(verifyVoucher(richer, options))).toMatchObject({ code: 'INVALID_VOUCHER', reason: 'BAD_SIGNATURE' });

    expect(await refusal(verifyVoucher(voucher.token, { ...options, audience: 'another-shop' }))).toMatchObject({ code: 'WRONG_PARTNER', reason: 'WRONG_AUDIENCE' });
    expect(await refusal(verifyVoucher(voucher.token, { ...options, issuer: ['another-grocer'] }))).toMatchObject({ code: 'INVALID_VOUCHER', reason: 'WRONG_ISSUER' });
    // A voucher naming an issuer you do not accept costs no key-set fetch: a flood of
    // forged QR texts cannot make the shop fetch (and use up its rate limit) for them.
    const asked: string[] = [];
    const perIssuer = (issuer: string) => {
      asked.push(issuer);
      return jwksUrl();
    };
    expect(await refusal(verifyVoucher(voucher.token, { audience: partnerSlug(), now: world.clock.now(), jwksUrl: perIssuer, issuer: 'another-grocer' }))).toMatchObject({ reason: 'WRONG_ISSUER' });
    expect(asked).toEqual([]);

    const afterExpiry = new Date(Date.parse(voucher.expiresAt) + 1_000);
    expect(await refusal(verifyVoucher(voucher.token, { ...options, now: afterExpiry }))).toMatchObject({ code: 'EXPIRED', reason: 'EXPIRED' });

    // Another kind of token, even one the issuer's own key signed, is not a voucher.
    const key = await signingKeyFor(world.system.services.db, world.system.services.secrets, await tenantIdOf(world, world.issuer.tenant.slug), world.clock.now());
    const { payload } = splitCompact(voucher.token);
    const plainJwt = await new SignJWT(payload).setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ: 'JWT' }).sign(key.privateKey);
    expect(await refusal(verifyVoucher(plainJwt, options))).toMatchObject({ code: 'INVALID_VOUCHER', reason: 'WRONG_TYPE' });
    // Changing the header by hand breaks the signature.
    const retyped = withHeader(voucher.token, (header) => ({ ...header, typ: 'JWT' }));
    expect(await refusal(verifyVoucher(retyped, options))).toMatchObject({ code: 'INVALID_VOUCHER', reason: 'BAD_SIGNATURE' });
    expect(await refusal(verifyVoucher('not-a-token', options))).toMatchObject({ code: 'INVALID_VOUCHER', reason: 'MALFORMED' });
    expect(await refusal(verifyVoucher('CXV1:%%%%', options))).toMatchObject({ code: 'INVALID_VOUCHER', reason: 'MALFORMED' });

    const unknownIssuer = (issuer: string) => `${world.system.baseUrl}/api/v1/issuers/${issuer}-gone/jwks`;
    expect(await refusal(verifyVoucher(voucher.token, { jwksUrl: unknownIssuer, audience: partnerSlug(), now: world.clock.now() }))).toMatchObject({ code: 'KEY_SET_UNAVAILABLE' });
  });

  it('after a key rotation, a voucher with the new kid makes the cached key set refetch once; unknown kids within the cooldown do not', async () => {
    const counter = countingFetch();
    const keySet = voucherKeySet(jwksUrl(), { fetch: counter.fetch, cooldownMs: 4_000 });
    const options = { keySet, audience: partnerSlug(), now: world.clock.now() };
    const before = await issuedVoucher(world, rewardId);
    await verifyVoucher(before.token, options);
    await verifyVoucher(before.token, options);
    expect(counter.fetches).toBe(1);

    const rotated = await sdkClient(world, world.issuer.key).signingKeys.rotate.mutate({ activateInHours: 0 });
    const after = await issuedVoucher(world, rewardId);
    expect(splitCompact(after.token).header.kid).not.toBe(splitCompact(before.token).header.kid);
    expect(splitCompact(after.token).header.kid).toBe(rotated.kid);

    await new Promise((resolve) => setTimeout(resolve, 4_100)); // past the cooldown of the first fetch
    expect((await verifyVoucher(after.token, options)).sub).toBe(after.id);
    expect(counter.fetches).toBe(2);
    // Vouchers signed before the rotation keep verifying from the same fetched set.
    expect((await verifyVoucher(before.token, options)).sub).toBe(before.id);
    expect(counter.fetches).toBe(2);

    // A kid nobody published, right after a fetch: refused without asking the server again.
    const forged = forgedVoucher('sk_NotPublished0', after.token);
    expect(await refusal(verifyVoucher(forged, options))).toMatchObject({ code: 'INVALID_VOUCHER', reason: 'UNKNOWN_KEY' });
    expect(await refusal(verifyVoucher(forged, options))).toMatchObject({ reason: 'UNKNOWN_KEY' });
    expect(counter.fetches).toBe(2);
    // Once the cooldown has passed, an unknown kid is worth one more look.
    await new Promise((resolve) => setTimeout(resolve, 4_100));
    expect(await refusal(verifyVoucher(forged, options))).toMatchObject({ reason: 'UNKNOWN_KEY' });
    expect(counter.fetches).toBe(3);
  });
});

/** The voucher's claims signed with a key of our own under the given kid: what a forger makes. */
function forgedVoucher(kid: string, like: string): string {
  const { payload } = splitCompact(like);
  const { privateKey } = generateKeyPairSync('ed25519');
  const signingInput = `${base64urlJson({ alg: 'EdDSA', kid, typ: 'cx-voucher+jwt' })}.${base64urlJson(payload)}`;
  return `${signingInput}.${sign(null, Buffer.from(signingInput), privateKey).toString('base64url')}`;
}
