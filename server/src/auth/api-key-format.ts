import { createHash, timingSafeEqual } from 'node:crypto';
import { customAlphabet } from 'nanoid';
import type { ApiKeyKind } from '../db/tables.ts';

const ALPHANUMERIC = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const newKeyId = customAlphabet(ALPHANUMERIC, 16);
/** 32 characters of 62 symbols: about 190 bits, far beyond guessing. */
const newSecret = customAlphabet(ALPHANUMERIC, 32);

const PREFIX_BY_KIND: Record<ApiKeyKind, string> = { tenant: 'cx_live_', operator: 'cx_op_' };
const KEY_PATTERN = /^(cx_live_|cx_op_)([0-9A-Za-z]{16})_([0-9A-Za-z]{32})$/;

export interface ParsedApiKey {
  kind: ApiKeyKind;
  id: string;
  secret: string;
}

export interface NewApiKey extends ParsedApiKey {
  /** The full key, shown to its owner once. */
  plaintext: string;
  secretHash: string;
}

export function generateApiKey(kind: ApiKeyKind): NewApiKey {
  const id = newKeyId();
  const secret = newSecret();
  return { kind, id, secret, plaintext: `${PREFIX_BY_KIND[kind]}${id}_${secret}`, secretHash: hashSecret(secret) };
}

/** Returns null for anything that is not shaped like one of our keys. */
export function parseApiKey(value: string): ParsedApiKey | null {
  const match = KEY_PATTERN.exec(value);
  if (!match) return null;
  const [, prefix, id, secret] = match as unknown as [string, string, string, string];
  return { kind: prefix === PREFIX_BY_KIND.operator ? 'operator' : 'tenant', id, secret };
}

/**
 * A plain SHA-256 is the right hash here: the secret is 190 random bits, so there is
 * nothing for a slow password hash to protect against, and auth stays one fast lookup.
 */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function secretMatches(secret: string, storedHash: string): boolean {
  const actual = Buffer.from(hashSecret(secret), 'hex');
  const expected = Buffer.from(storedHash, 'hex');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** The non-secret part, safe for listings and logs: `cx_live_<id>`. */
export function displayPrefix(kind: ApiKeyKind, id: string): string {
  return `${PREFIX_BY_KIND[kind]}${id}`;
}
