import { createHmac, hkdfSync } from 'node:crypto';

/**
 * Keyed hashing derived from one master key (SECRET_KEY). Each use gets its own
 * subkey (HKDF with a scope such as "phone:<tenant id>"), so a hash from one tenant
 * cannot be matched against another tenant's, and leaking one subkey leaks no other.
 */
export class Secrets {
  private readonly subkeys = new Map<string, Buffer>();

  constructor(private readonly masterKey: Buffer) {
    if (masterKey.length < 32) throw new Error('The secret key must be at least 32 bytes');
  }

  keyedHash(scope: string, value: string): string {
    return createHmac('sha256', this.subkey(scope)).update(value).digest('base64url');
  }

  /** A 32-byte key for one purpose, derived from the master key (HKDF-SHA256). */
  subkey(scope: string): Buffer {
    let key = this.subkeys.get(scope);
    if (!key) {
      key = Buffer.from(hkdfSync('sha256', this.masterKey, Buffer.alloc(0), `coalition-exchange:${scope}`, 32));
      this.subkeys.set(scope, key);
    }
    return key;
  }
}

/** SECRET_KEY as given: base64 or hex of at least 32 random bytes. */
export function decodeSecretKey(value: string): Buffer | null {
  const trimmed = value.trim();
  const bytes = /^[0-9a-fA-F]+$/.test(trimmed) && trimmed.length % 2 === 0 ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64');
  return bytes.length >= 32 ? bytes : null;
}
