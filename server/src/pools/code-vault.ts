import { createCipheriv, createDecipheriv, createHmac, createSecretKey, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';
import type { Secrets } from '../secrets/secrets.ts';

const BLOCK = 16;
const NONCE = 12;
const GCM_TAG = 16;
/** Codes encrypted under one nonce: far below the 2^32 blocks a 32-bit counter allows. */
const MAX_CODES_PER_NONCE = 65_536;
const LOOKUP_HASH_BYTES = 16;

/**
 * A partner's promo codes at rest (docs/adr/0006). Codes are bearer secrets, so the
 * database never holds them in plain text:
 *
 * - `lookupHash(code)`: HMAC-SHA256 of the code in upper case, truncated to 128 bits,
 *   under a key derived for this tenant. The unique key of the partner's codes and
 *   the way a typed code is found.
 * - `encryptMany(codes)`: AES-256-CTR. One cipher call covers many codes: each code
 *   gets its own whole counter blocks under a fresh 96-bit random nonce, and is stored
 *   as its 16-byte counter block followed by its ciphertext, so it decrypts alone.
 *   Per-code cipher objects cost ~9 µs each in Node, a bulk call well under 1 µs.
 *   Integrity: `decrypt` recomputes the lookup hash when given one and refuses a
 *   mismatch, so a ciphertext altered in the database is caught.
 * - `sealChunk`/`openChunk`: AES-256-GCM for uploaded file chunks, bound to their
 *   batch and position.
 */
export class CodeVault {
  private readonly hashKey: KeyObject;
  private readonly codeKey: Buffer;
  private readonly chunkKey: Buffer;

  constructor(secrets: Secrets, tenantId: string) {
    // A KeyObject: the key is imported once, not once per code (a quarter of the hashing cost).
    this.hashKey = createSecretKey(secrets.subkey(`codes:lookup:${tenantId}`));
    this.codeKey = secrets.subkey(`codes:cipher:${tenantId}`);
    this.chunkKey = secrets.subkey(`codes:upload:${tenantId}`);
  }

  lookupHash(code: string): Buffer {
    return createHmac('sha256', this.hashKey).update(code.toUpperCase()).digest().subarray(0, LOOKUP_HASH_BYTES);
  }

  encryptMany(codes: readonly string[]): Buffer[] {
    const out: Buffer[] = [];
    for (let start = 0; start < codes.length; start += MAX_CODES_PER_NONCE) out.push(...this.encryptGroup(codes.slice(start, start + MAX_CODES_PER_NONCE)));
    return out;
  }

  encrypt(code: string): Buffer {
    return this.encryptGroup([code])[0]!;
  }

  decrypt(cipher: Buffer, expectedLookupHash?: Buffer): string {
    const decipher = createDecipheriv('aes-256-ctr', this.codeKey, cipher.subarray(0, BLOCK));
    const code = Buffer.concat([decipher.update(cipher.subarray(BLOCK)), decipher.final()]).toString('utf8');
    if (expectedLookupHash && !timingSafeEqual(this.lookupHash(code), expectedLookupHash)) {
      throw new Error('A stored code does not match its lookup hash: the row was altered outside the application');
    }
    return code;
  }

  sealChunk(data: Buffer, binding: string): Buffer {
    const nonce = randomBytes(NONCE);
    const cipher = createCipheriv('aes-256-gcm', this.chunkKey, nonce);
    cipher.setAAD(Buffer.from(binding));
    const body = Buffer.concat([cipher.update(data), cipher.final()]);
    return Buffer.concat([nonce, cipher.getAuthTag(), body]);
  }

  openChunk(sealed: Buffer, binding: string): Buffer {
    const decipher = createDecipheriv('aes-256-gcm', this.chunkKey, sealed.subarray(0, NONCE));
    decipher.setAAD(Buffer.from(binding));
    decipher.setAuthTag(sealed.subarray(NONCE, NONCE + GCM_TAG));
    return Buffer.concat([decipher.update(sealed.subarray(NONCE + GCM_TAG)), decipher.final()]);
  }

  private encryptGroup(codes: readonly string[]): Buffer[] {
    const plain = codes.map((code) => Buffer.from(code, 'utf8'));
    const firstBlock: number[] = [];
    let blocks = 0;
    for (const bytes of plain) {
      firstBlock.push(blocks);
      blocks += Math.max(1, Math.ceil(bytes.length / BLOCK));
    }
    const layout = Buffer.alloc(blocks * BLOCK);
    plain.forEach((bytes, index) => bytes.copy(layout, firstBlock[index]! * BLOCK));
    const nonce = randomBytes(NONCE);
    const counter = Buffer.alloc(BLOCK);
    nonce.copy(counter);
    const keystreamed = createCipheriv('aes-256-ctr', this.codeKey, counter).update(layout);
    return plain.map((bytes, index) => {
      const offset = firstBlock[index]! * BLOCK;
      const sealed = Buffer.alloc(BLOCK + bytes.length);
      nonce.copy(sealed);
      sealed.writeUInt32BE(firstBlock[index]!, NONCE);
      keystreamed.copy(sealed, BLOCK, offset, offset + bytes.length);
      return sealed;
    });
  }
}

/**
 * What a pool manager sees instead of a code: the last few characters (a quarter of
 * the code, at most four) and, for generated codes, their public prefix.
 */
export function maskCode(code: string, publicPrefix = ''): string {
  const prefix = publicPrefix && code.startsWith(publicPrefix) ? publicPrefix : '';
  const secret = [...code.slice(prefix.length)];
  const visible = Math.min(4, Math.floor(secret.length / 4));
  return prefix + '•'.repeat(secret.length - visible) + secret.slice(secret.length - visible).join('');
}
