import { deflateRawSync, inflateRawSync } from 'node:zlib';

/**
 * The voucher in a form a QR code holds compactly:
 *
 *   `CXV1:` + Base45( deflateRaw( header JSON ‖ 0x00 ‖ payload JSON ‖ 0x00 ‖ signature ) )
 *
 * The JWS parts are taken out of base64url first, so deflate sees (and shrinks) the
 * JSON itself, and the signature travels as its 64 raw bytes. JSON never holds a raw
 * 0x00 byte, so the first two NULs split the parts; the token is rebuilt exactly by
 * base64url-encoding them again. Base45 (RFC 9285) uses only QR's alphanumeric
 * characters (0-9, A-Z, space, $%*+-./:), packed at 5.5 bits each instead of 8 (as the
 * EU digital COVID certificates do): about 30% fewer bits than the token in byte mode.
 */
export const VOUCHER_QR_PREFIX = 'CXV1:';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:';
const VALUE = new Map([...ALPHABET].map((char, index) => [char, index]));

export function base45Encode(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i + 1 < bytes.length; i += 2) {
    let n = bytes[i]! * 256 + bytes[i + 1]!;
    const c = n % 45;
    n = (n - c) / 45;
    out += ALPHABET[c]! + ALPHABET[n % 45]! + ALPHABET[(n - (n % 45)) / 45]!;
  }
  if (bytes.length % 2) {
    const n = bytes[bytes.length - 1]!;
    out += ALPHABET[n % 45]! + ALPHABET[(n - (n % 45)) / 45]!;
  }
  return out;
}

export function base45Decode(text: string): Buffer {
  if (text.length % 3 === 1) throw new Error('not Base45: wrong length');
  const out: number[] = [];
  for (let i = 0; i < text.length; i += 3) {
    const digits = [...text.slice(i, i + 3)].map((char) => {
      const value = VALUE.get(char);
      if (value === undefined) throw new Error(`not Base45: unexpected character ${JSON.stringify(char)}`);
      return value;
    });
    const n = digits[0]! + digits[1]! * 45 + (digits[2] ?? 0) * 45 * 45;
    if (digits.length === 3) {
      if (n > 0xffff) throw new Error('not Base45: value out of range');
      out.push(n >> 8, n & 0xff);
    } else {
      if (n > 0xff) throw new Error('not Base45: value out of range');
      out.push(n);
    }
  }
  return Buffer.from(out);
}

const SEPARATOR = Buffer.from([0]);

export function voucherQrText(token: string): string {
  const [header, payload, signature] = token.split('.');
  if (header === undefined || payload === undefined || signature === undefined) throw new Error('not a compact JWS');
  const packed = Buffer.concat([Buffer.from(header, 'base64url'), SEPARATOR, Buffer.from(payload, 'base64url'), SEPARATOR, Buffer.from(signature, 'base64url')]);
  return VOUCHER_QR_PREFIX + base45Encode(deflateRawSync(packed, { level: 9 }));
}

/** The compact JWS inside a scanned voucher QR text; throws on anything else. */
export function tokenFromQrText(text: string): string {
  if (!text.startsWith(VOUCHER_QR_PREFIX)) throw new Error(`not a voucher QR text: it must start with ${VOUCHER_QR_PREFIX}`);
  // Bounded: a scanned text comes from anyone, and a small deflate stream can expand enormously.
  const packed = inflateRawSync(base45Decode(text.slice(VOUCHER_QR_PREFIX.length)), { maxOutputLength: 16_384 });
  const first = packed.indexOf(0);
  const second = first < 0 ? -1 : packed.indexOf(0, first + 1);
  if (second < 0) throw new Error('not a voucher QR text: its parts are missing');
  return [packed.subarray(0, first), packed.subarray(first + 1, second), packed.subarray(second + 1)].map((part) => part.toString('base64url')).join('.');
}
