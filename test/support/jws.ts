import { createHmac } from 'node:crypto';
import { inflateRawSync } from 'node:zlib';

/**
 * Hand-made compact JWS pieces, for building the tokens an attacker would send
 * (tampered, unsigned, algorithm-confused) without going through a JOSE library that
 * would refuse to make them.
 */

export function base64urlJson(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

export function parseBase64urlJson(segment: string): any {
  return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
}

export interface CompactParts {
  header: Record<string, unknown>;
  payload: Record<string, any>;
  signature: string;
  /** The three segments as they were. */
  segments: [string, string, string];
}

export function splitCompact(token: string): CompactParts {
  const segments = token.split('.');
  if (segments.length !== 3) throw new Error(`not a compact JWS: ${segments.length} segments`);
  const [header, payload, signature] = segments as [string, string, string];
  return { header: parseBase64urlJson(header), payload: parseBase64urlJson(payload), signature, segments: [header, payload, signature] };
}

/** The same header and signature over a changed payload: what someone editing a voucher by hand produces. */
export function withPayload(token: string, change: (payload: Record<string, any>) => Record<string, any>): string {
  const { segments, payload } = splitCompact(token);
  return [segments[0], base64urlJson(change(structuredClone(payload))), segments[2]].join('.');
}

/** The same payload and signature under a changed protected header. */
export function withHeader(token: string, change: (header: Record<string, unknown>) => Record<string, unknown>): string {
  const { segments, header } = splitCompact(token);
  return [base64urlJson(change({ ...header })), segments[1], segments[2]].join('.');
}

/** An unsecured JWS (RFC 7515 appendix A.5): `alg: none` and an empty signature. */
export function unsignedToken(header: Record<string, unknown>, payload: Record<string, unknown>): string {
  return `${base64urlJson({ ...header, alg: 'none' })}.${base64urlJson(payload)}.`;
}

/** An HS256 JWS over the given header and payload, with `secret` as the HMAC key. */
export function hs256Token(header: Record<string, unknown>, payload: Record<string, unknown>, secret: Uint8Array | string): string {
  const signingInput = `${base64urlJson({ ...header, alg: 'HS256' })}.${base64urlJson(payload)}`;
  return `${signingInput}.${createHmac('sha256', secret).update(signingInput).digest('base64url')}`;
}

const BASE45 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:';

/** RFC 9285 Base45, decoded independently of the server's implementation. */
export function base45ToBytes(text: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < text.length; i += 3) {
    const chunk = [...text.slice(i, i + 3)].map((char) => {
      const digit = BASE45.indexOf(char);
      if (digit < 0) throw new Error(`not Base45: ${JSON.stringify(char)}`);
      return digit;
    });
    const n = chunk.reduce((sum, digit, position) => sum + digit * 45 ** position, 0);
    if (chunk.length === 3) out.push(Math.floor(n / 256), n % 256);
    else if (chunk.length === 2) out.push(n);
    else throw new Error('not Base45: dangling character');
  }
  return Buffer.from(out);
}

/**
 * What a partner's scanner does with a voucher QR code, following the documented
 * layout: strip the prefix, Base45-decode, inflate, split header, payload and
 * signature at the first two NUL bytes, and base64url each part again.
 */
export function scanVoucherQr(text: string, prefix = 'CXV1:'): string {
  if (!text.startsWith(prefix)) throw new Error(`no ${prefix} prefix`);
  const bytes = inflateRawSync(base45ToBytes(text.slice(prefix.length)));
  const first = bytes.indexOf(0);
  const second = bytes.indexOf(0, first + 1);
  return [bytes.subarray(0, first), bytes.subarray(first + 1, second), bytes.subarray(second + 1)].map((part) => Buffer.from(part).toString('base64url')).join('.');
}

/** Every property name anywhere in a JSON value. */
export function propertyNames(value: unknown, names = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const item of value) propertyNames(item, names);
  else if (value && typeof value === 'object') {
    for (const [name, inner] of Object.entries(value)) {
      names.add(name);
      propertyNames(inner, names);
    }
  }
  return names;
}
