import { createLocalJWKSet, createRemoteJWKSet, customFetch, decodeJwt, jwtVerify, type JSONWebKeySet, type JWTVerifyGetKey, type RemoteJWKSet } from 'jose';
import type { FetchLike } from './coalition-link.ts';
import { isVoucherQrText, tokenFromQrText } from './voucher-qr.ts';

/** The JWS `typ` header of a voucher: other tokens, even ones the issuer signed, are not vouchers. */
export const VOUCHER_TOKEN_TYPE = 'cx-voucher+jwt';

/** What a signed voucher says (docs/exchange-guide.md, "Signed vouchers"). */
export interface VoucherClaims {
  /** The issuer's slug: whose customer holds the voucher. */
  iss: string;
  /** The partner's slug: the one shop that may redeem it. */
  aud: string;
  /** The voucher id (also `jti`). */
  sub: string;
  jti: string;
  /** Issued and expires at, Unix seconds. */
  iat: number;
  exp: number;
  /** The offer id. */
  offer: string;
  value: { type: 'fixed'; amountMinor: number } | { type: 'percent'; percent: number };
  currency: string;
  /** The minimum order in minor units; null = none. */
  minOrderMinor: number | null;
  /** The promo code itself: a bearer secret, never log it. */
  code: string;
}

/**
 * Why a voucher is refused. `code` matches the reason the redemption API gives for the
 * same voucher (INVALID_VOUCHER, EXPIRED, WRONG_PARTNER), or KEY_SET_UNAVAILABLE when
 * the issuer's keys could not be fetched (nothing is known about the voucher then:
 * try again, or ask the API). `reason` says exactly what failed.
 */
export type VoucherErrorCode = 'INVALID_VOUCHER' | 'EXPIRED' | 'WRONG_PARTNER' | 'KEY_SET_UNAVAILABLE';
export type VoucherErrorReason =
  | 'MALFORMED'
  | 'WRONG_TYPE'
  | 'BAD_SIGNATURE'
  | 'UNKNOWN_KEY'
  | 'WRONG_ISSUER'
  | 'NOT_YET_VALID'
  | 'EXPIRED'
  | 'WRONG_AUDIENCE'
  | 'KEY_SET_UNAVAILABLE';

const CODE_OF: Record<VoucherErrorReason, VoucherErrorCode> = {
  MALFORMED: 'INVALID_VOUCHER',
  WRONG_TYPE: 'INVALID_VOUCHER',
  BAD_SIGNATURE: 'INVALID_VOUCHER',
  UNKNOWN_KEY: 'INVALID_VOUCHER',
  WRONG_ISSUER: 'INVALID_VOUCHER',
  NOT_YET_VALID: 'INVALID_VOUCHER',
  EXPIRED: 'EXPIRED',
  WRONG_AUDIENCE: 'WRONG_PARTNER',
  KEY_SET_UNAVAILABLE: 'KEY_SET_UNAVAILABLE',
};

export class VoucherVerificationError extends Error {
  override readonly name = 'VoucherVerificationError';
  readonly code: VoucherErrorCode;

  constructor(
    readonly reason: VoucherErrorReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.code = CODE_OF[reason];
  }
}

export interface VoucherKeySetOptions {
  /** Used to fetch the key set; defaults to the global `fetch`. */
  fetch?: FetchLike;
  /** After a fetch, a voucher naming an unknown `kid` fetches again only once this has passed. Default 30 s. */
  cooldownMs?: number;
  /** Keys older than this are fetched again before use. Default 10 min. */
  cacheMaxAgeMs?: number;
  /** Default 5 s. */
  timeoutMs?: number;
}

/** An issuer's verifying keys fetched from its JWKS URL and cached: refetched when stale, or when a voucher names a `kid` it does not hold (at most once per cooldown). */
export interface VoucherKeySet {
  readonly url: string;
  readonly resolveKey: RemoteJWKSet;
}

export function voucherKeySet(jwksUrl: string | URL, options: VoucherKeySetOptions = {}): VoucherKeySet {
  const url = new URL(jwksUrl);
  const fetch = options.fetch;
  const resolveKey = createRemoteJWKSet(url, {
    cooldownDuration: options.cooldownMs ?? 30_000,
    cacheMaxAge: options.cacheMaxAgeMs ?? 600_000,
    timeoutDuration: options.timeoutMs ?? 5_000,
    ...(fetch ? { [customFetch]: (href: string, init: RequestInit) => fetch(href, init) } : {}),
  });
  return { url: url.href, resolveKey };
}

/**
 * Key sets made for `jwksUrl`, one per URL, the most recently used kept (a coalition has
 * a handful of issuers; a flood of vouchers naming made-up issuers cannot grow it).
 */
const sharedKeySets = new Map<string, VoucherKeySet>();
const SHARED_KEY_SETS_MAX = 64;

function sharedKeySet(jwksUrl: string | URL): VoucherKeySet {
  const href = new URL(jwksUrl).href;
  let keySet = sharedKeySets.get(href);
  if (keySet) {
    sharedKeySets.delete(href);
  } else {
    keySet = voucherKeySet(href);
    if (sharedKeySets.size >= SHARED_KEY_SETS_MAX) sharedKeySets.delete(sharedKeySets.keys().next().value!);
  }
  sharedKeySets.set(href, keySet);
  return keySet;
}

const SLUG = /^[a-z][a-z0-9-]{2,31}$/;

export interface VerifyVoucherOptions {
  /** Your partner slug: a voucher for another shop is refused (WRONG_PARTNER). */
  audience: string;
  /** The issuer slug(s) you accept; default any issuer whose keys verify it. */
  issuer?: string | readonly string[];
  /** The issuer's key set as you hold it. */
  jwks?: JSONWebKeySet;
  /**
   * The issuer's JWKS URL, fetched and cached per URL: a string or URL, or a function of
   * the issuer slug the voucher claims, e.g.
   * `(issuer) => `${BASE}/api/v1/issuers/${issuer}/jwks`` for vouchers of every issuer.
   */
  jwksUrl?: string | URL | ((issuer: string) => string | URL);
  /** A key set from voucherKeySet(), for your own cache settings or fetch. */
  keySet?: VoucherKeySet;
  /** The time to check expiry against; default now. */
  now?: Date;
  /** Leeway for clock skew in expiry checks. Default 0. */
  clockToleranceSeconds?: number;
}

function keyResolver(token: string, options: VerifyVoucherOptions): JWTVerifyGetKey {
  const sources = [options.jwks, options.jwksUrl, options.keySet].filter((source) => source !== undefined).length;
  if (sources !== 1) throw new TypeError('verifyVoucher needs exactly one of jwks, jwksUrl and keySet');
  if (options.jwks) return createLocalJWKSet(options.jwks);
  if (options.keySet) return options.keySet.resolveKey;
  const jwksUrl = options.jwksUrl!;
  if (typeof jwksUrl !== 'function') return sharedKeySet(jwksUrl).resolveKey;
  // The claimed issuer only picks the key set; the signature then proves it.
  let issuer: unknown;
  try {
    issuer = decodeJwt(token).iss;
  } catch (error) {
    throw new VoucherVerificationError('MALFORMED', 'Not a voucher: the token cannot be decoded.', { cause: error });
  }
  if (typeof issuer !== 'string' || !SLUG.test(issuer)) throw new VoucherVerificationError('MALFORMED', 'Not a voucher: it names no issuer.');
  // An issuer you do not accept is refused before anything is fetched for it.
  const accepted = options.issuer === undefined ? undefined : typeof options.issuer === 'string' ? [options.issuer] : options.issuer;
  if (accepted && !accepted.includes(issuer)) throw new VoucherVerificationError('WRONG_ISSUER', 'The voucher comes from an issuer you do not accept.');
  return sharedKeySet(jwksUrl(issuer)).resolveKey;
}

/**
 * Verifies a signed voucher offline: the issuer's Ed25519 signature, the type, that it
 * is meant for you (`audience`) and has not expired. Takes the compact JWS or the
 * `CXV1:` text of its QR code. A valid voucher may still be cancelled or redeemed since
 * it was signed: the redemption API has the last word.
 */
export async function verifyVoucher(tokenOrQrText: string, options: VerifyVoucherOptions): Promise<VoucherClaims> {
  const text = tokenOrQrText.trim();
  let token = text;
  if (isVoucherQrText(text)) {
    try {
      token = await tokenFromQrText(text);
    } catch (error) {
      throw new VoucherVerificationError('MALFORMED', error instanceof Error ? error.message : 'Not a voucher QR text.', { cause: error });
    }
  }
  const getKey = keyResolver(token, options);
  try {
    const { payload } = await jwtVerify(token, getKey, {
      algorithms: ['EdDSA'],
      typ: VOUCHER_TOKEN_TYPE,
      audience: options.audience,
      ...(options.issuer === undefined ? {} : { issuer: typeof options.issuer === 'string' ? options.issuer : [...options.issuer] }),
      requiredClaims: ['iss', 'aud', 'sub', 'iat', 'exp'],
      ...(options.now ? { currentDate: options.now } : {}),
      clockTolerance: options.clockToleranceSeconds ?? 0,
    });
    return payload as unknown as VoucherClaims;
  } catch (error) {
    throw voucherError(error);
  }
}

function voucherError(error: unknown): VoucherVerificationError {
  if (error instanceof VoucherVerificationError) return error;
  const { code, claim } = (error ?? {}) as { code?: string; claim?: string };
  const fail = (reason: VoucherErrorReason, message: string) => new VoucherVerificationError(reason, message, { cause: error });
  switch (code) {
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return fail('BAD_SIGNATURE', 'The signature does not verify: the voucher was altered or not signed by the issuer.');
    case 'ERR_JWT_EXPIRED':
      return fail('EXPIRED', 'The voucher has expired.');
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return fail('UNKNOWN_KEY', "The voucher names a signing key the issuer's key set does not hold.");
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (claim === 'aud') return fail('WRONG_AUDIENCE', 'The voucher is meant for another partner.');
      if (claim === 'iss') return fail('WRONG_ISSUER', 'The voucher comes from an issuer you do not accept.');
      if (claim === 'typ') return fail('WRONG_TYPE', `The token is not a voucher (typ is not ${VOUCHER_TOKEN_TYPE}).`);
      if (claim === 'nbf' || claim === 'iat') return fail('NOT_YET_VALID', 'The voucher is dated in the future.');
      return fail('MALFORMED', `The voucher's ${claim ?? 'claims'} claim is missing or invalid.`);
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
    case 'ERR_JOSE_NOT_SUPPORTED':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return fail('MALFORMED', 'Not a voucher: the token is malformed.');
    default:
      // A fetch that failed, timed out (ERR_JWKS_TIMEOUT), answered non-200 or not a key set.
      return fail('KEY_SET_UNAVAILABLE', `The issuer's key set could not be fetched: ${error instanceof Error ? error.message : String(error)}`);
  }
}
