import { base64url } from 'jose';

/**
 * The voucher QR text, as the server packs it:
 *
 *   `CXV1:` + Base45( deflateRaw( header JSON ‖ 0x00 ‖ payload JSON ‖ 0x00 ‖ signature ) )
 *
 * Decoded with Web APIs only (DecompressionStream), so it runs wherever the client does.
 */
export const VOUCHER_QR_PREFIX = 'CXV1:';

/** A scanned text comes from anyone, and a small deflate stream can expand enormously. */
const MAX_INFLATED_BYTES = 16_384;

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:';
const VALUE = new Map([...ALPHABET].map((char, index) => [char, index]));

/** Base45 (RFC 9285). */
export function base45Decode(text: string): Uint8Array {
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
  return Uint8Array.from(out);
}

async function inflateRaw(bytes: Uint8Array, limit: number): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream('deflate-raw'));
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    length += value.length;
    if (length > limit) {
      await reader.cancel();
      throw new Error(`not a voucher QR text: it inflates beyond ${limit} bytes`);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

export function isVoucherQrText(text: string): boolean {
  return text.startsWith(VOUCHER_QR_PREFIX);
}

/** The compact JWS inside a scanned voucher QR text; throws on anything else. */
export async function tokenFromQrText(text: string): Promise<string> {
  if (!isVoucherQrText(text)) throw new Error(`not a voucher QR text: it must start with ${VOUCHER_QR_PREFIX}`);
  const packed = await inflateRaw(base45Decode(text.slice(VOUCHER_QR_PREFIX.length)), MAX_INFLATED_BYTES);
  const first = packed.indexOf(0);
  const second = first < 0 ? -1 : packed.indexOf(0, first + 1);
  if (second < 0) throw new Error('not a voucher QR text: its parts are missing');
  return [packed.subarray(0, first), packed.subarray(first + 1, second), packed.subarray(second + 1)].map((part) => base64url.encode(part)).join('.');
}
