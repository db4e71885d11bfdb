import type { KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import type { OfferTerms } from '../offers/offer.ts';

/** The JWS `typ` header of a voucher: verifiers pass it to jose's jwtVerify (`typ` option). */
export const VOUCHER_TOKEN_TYPE = 'cx-voucher+jwt';

export interface VoucherToSign {
  id: string;
  issuerSlug: string;
  partnerSlug: string;
  offerId: string;
  terms: OfferTerms;
  code: string;
  issuedAt: Date;
  expiresAt: Date;
}

/**
 * The claims, always built in this order from the same stored facts: Ed25519 signatures
 * are deterministic, so signing a voucher again (a replayed exchange, a customer's
 * voucher list) yields the very same token without storing it (it holds the code).
 */
export function voucherClaims(voucher: VoucherToSign) {
  const value = voucher.terms.value.type === 'fixed' ? { type: 'fixed' as const, amountMinor: voucher.terms.value.amountMinor } : { type: 'percent' as const, percent: voucher.terms.value.percent };
  return {
    iss: voucher.issuerSlug,
    aud: voucher.partnerSlug,
    sub: voucher.id,
    jti: voucher.id,
    iat: Math.floor(voucher.issuedAt.getTime() / 1000),
    exp: Math.floor(voucher.expiresAt.getTime() / 1000),
    offer: voucher.offerId,
    value,
    currency: voucher.terms.currency,
    minOrderMinor: voucher.terms.minOrderMinor,
    code: voucher.code,
  };
}

/** The compact JWS (EdDSA over Ed25519) a partner verifies offline against the issuer's JWKS. */
export async function signVoucher(voucher: VoucherToSign, key: { kid: string; privateKey: KeyObject }): Promise<string> {
  return new SignJWT(voucherClaims(voucher)).setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ: VOUCHER_TOKEN_TYPE }).sign(key.privateKey);
}
