import { compactVerify, createLocalJWKSet, decodeJwt, decodeProtectedHeader } from 'jose';
import type { Kysely } from 'kysely';
import type { TenantHandle } from '../auth/principal.ts';
import { coalitionDb, tenantDb, type Database } from '../db/database.ts';
import type { CodeStatus } from '../db/tables.ts';
import { CodeVault } from '../pools/code-vault.ts';
import type { AppServices } from '../system/services.ts';
import { findTenantBySlug } from '../tenants/tenant.queries.ts';
import { tokenFromQrText, VOUCHER_QR_PREFIX } from '../vouchers/qr-text.ts';
import { publishedKeySet } from '../vouchers/signing-keys.ts';
import type { VoucherWithSlugs } from '../vouchers/voucher.ts';
import { vouchersWithSlugs } from '../vouchers/voucher.queries.ts';
import { VOUCHER_TOKEN_TYPE } from '../vouchers/voucher-token.ts';
import { mistypedCode } from './code-formats.ts';
import type { CodeRefusal } from './redemption.ts';

export interface CodeRow {
  id: string;
  status: CodeStatus;
  holder_ref: string | null;
  expires_at: Date | null;
  mask: string;
}

/** A code of this partner that went to a voucher, or why the presented code is not one. */
export type Resolution = { found: true; code: CodeRow; voucher: VoucherWithSlugs } | { found: false; reason: CodeRefusal; voucher?: VoucherWithSlugs };

const REFUSAL_TEXT: Record<CodeRefusal, string> = {
  INVALID_CHECK_CHARACTER: 'The code was mistyped: its last character does not match. Ask the shopper to check it.',
  INVALID_VOUCHER: 'The voucher is not one this system signed (malformed, altered, or signed with a withdrawn key).',
  WRONG_PARTNER: 'The voucher is for another shop.',
  UNKNOWN_CODE: 'No code of this shop matches.',
  NOT_ISSUED: 'The code exists but was never handed to a customer.',
  VOUCHER_CANCELLED: 'The issuer cancelled this voucher.',
  ALREADY_REDEEMED: 'The code has already been used.',
  EXPIRED: 'The code has expired.',
  CURRENCY_MISMATCH: 'The order is in another currency than the offer.',
  MIN_ORDER_NOT_MET: 'The order is below the minimum the offer needs.',
};

export function refusalText(reason: CodeRefusal): string {
  return REFUSAL_TEXT[reason];
}

/** Vouchers whose code belongs to this partner: another partner's voucher is never found. */
function vouchersOfPartner(db: Database, partnerTenantId: string) {
  return vouchersWithSlugs(coalitionDb(db)).where('v.partner_tenant_id', '=', partnerTenantId);
}

async function codeByValue(db: Kysely<any>, services: AppServices, tenant: TenantHandle, code: string): Promise<CodeRow | undefined> {
  const hash = new CodeVault(services.secrets, tenant.id).lookupHash(code);
  return tenantDb(db, tenant.schema).selectFrom('codes').select(['id', 'status', 'holder_ref', 'expires_at', 'mask']).where('lookup_hash', '=', hash).executeTakeFirst();
}

/** The code and voucher id a signed voucher carries, once its signature checks out against the issuer's published keys. */
async function openVoucherToken(db: Database, tenant: TenantHandle, text: string, now: Date): Promise<{ code: string; voucherId: string } | { reason: CodeRefusal }> {
  let token: string;
  let claims: ReturnType<typeof decodeJwt>;
  try {
    token = text.startsWith(VOUCHER_QR_PREFIX) ? tokenFromQrText(text) : text;
    const header = decodeProtectedHeader(token);
    if (header.typ !== VOUCHER_TOKEN_TYPE || header.alg !== 'EdDSA') return { reason: 'INVALID_VOUCHER' };
    claims = decodeJwt(token);
  } catch {
    return { reason: 'INVALID_VOUCHER' };
  }
  if (typeof claims.iss !== 'string' || typeof claims.sub !== 'string' || typeof claims['code'] !== 'string') return { reason: 'INVALID_VOUCHER' };
  const issuer = await findTenantBySlug(coalitionDb(db), claims.iss);
  if (!issuer) return { reason: 'INVALID_VOUCHER' };
  try {
    await compactVerify(token, createLocalJWKSet(await publishedKeySet(db, issuer.id, now)), { algorithms: ['EdDSA'] });
  } catch {
    return { reason: 'INVALID_VOUCHER' };
  }
  if (claims.aud !== tenant.slug) return { reason: 'WRONG_PARTNER' };
  return { code: claims['code'], voucherId: claims.sub };
}

/**
 * Finds what a shop presents: a typed code (refused before any lookup when it fails
 * the check character of one of the partner's generated formats) or a signed voucher
 * (verified against the issuer's published keys, and only for the partner it names).
 * Reads only; `db` may be a transaction.
 */
export async function resolveCode(db: Database, services: AppServices, tenant: TenantHandle, presented: { code?: string | undefined; voucher?: string | undefined }, now: Date): Promise<Resolution> {
  let typed: string;
  let voucherId: string | undefined;
  if (presented.voucher !== undefined) {
    const opened = await openVoucherToken(db, tenant, presented.voucher, now);
    if ('reason' in opened) return { found: false, reason: opened.reason };
    typed = opened.code;
    voucherId = opened.voucherId;
  } else {
    typed = presented.code!;
    if (mistypedCode(await services.codeFormats.formatsOf(tenant, db), typed)) return { found: false, reason: 'INVALID_CHECK_CHARACTER' };
  }
  const code = await codeByValue(db, services, tenant, typed);
  if (voucherId !== undefined) {
    // The voucher decides: its code may have gone back to the pool (and to another
    // customer) when it was cancelled.
    const voucher = await vouchersOfPartner(db, tenant.id).where('v.id', '=', voucherId).executeTakeFirst();
    if (!voucher) return { found: false, reason: 'INVALID_VOUCHER' };
    if (voucher.status === 'cancelled') return { found: false, reason: 'VOUCHER_CANCELLED', voucher };
    if (!code || code.id !== voucher.code_id) return { found: false, reason: 'INVALID_VOUCHER' };
    return { found: true, code, voucher };
  }
  if (!code) return { found: false, reason: 'UNKNOWN_CODE' };
  if (code.holder_ref === null) return { found: false, reason: 'NOT_ISSUED' };
  const voucher = await vouchersOfPartner(db, tenant.id).where('v.id', '=', code.holder_ref).where('v.code_id', '=', code.id).executeTakeFirst();
  if (!voucher) return { found: false, reason: 'NOT_ISSUED' };
  if (voucher.status === 'cancelled') return { found: false, reason: 'VOUCHER_CANCELLED', voucher };
  return { found: true, code, voucher };
}
