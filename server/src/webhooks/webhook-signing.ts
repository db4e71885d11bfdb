import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import type { Secrets } from '../secrets/secrets.ts';

const SECRET_PREFIX = 'whsec_';
const NONCE = 12;
const TAG = 16;

/** A new endpoint secret in the Standard Webhooks form: "whsec_" + base64 of 32 random bytes. */
export function newWebhookSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64');
}

/**
 * Endpoint secrets at rest: AES-256-GCM under a per-tenant subkey of SECRET_KEY, bound
 * to the endpoint (a ciphertext copied to another endpoint does not open). Signing
 * needs the secret itself, so it is encrypted, not hashed.
 */
export class WebhookSecretBox {
  private readonly key: Buffer;

  constructor(secrets: Secrets, tenantId: string) {
    this.key = secrets.subkey(`webhooks:secret:${tenantId}`);
  }

  seal(secret: string, endpointId: string): Buffer {
    const nonce = randomBytes(NONCE);
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce);
    cipher.setAAD(Buffer.from(endpointId));
    const body = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    return Buffer.concat([nonce, cipher.getAuthTag(), body]);
  }

  open(sealed: Buffer, endpointId: string): string {
    const decipher = createDecipheriv('aes-256-gcm', this.key, sealed.subarray(0, NONCE));
    decipher.setAAD(Buffer.from(endpointId));
    decipher.setAuthTag(sealed.subarray(NONCE, NONCE + TAG));
    return Buffer.concat([decipher.update(sealed.subarray(NONCE + TAG)), decipher.final()]).toString('utf8');
  }
}

/**
 * The Standard Webhooks `webhook-signature` header: "v1," + base64 HMAC-SHA256 of
 * "{id}.{timestamp}.{body}" under each secret (base64-decoded after "whsec_"),
 * space-separated. During a rotation both secrets sign, so a receiver holding either
 * one verifies.
 */
export function signatureHeader(secrets: readonly string[], id: string, timestampSeconds: number, body: string): string {
  const signed = `${id}.${timestampSeconds}.${body}`;
  return secrets
    .map((secret) => {
      const key = Buffer.from(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret, 'base64');
      return `v1,${createHmac('sha256', key).update(signed).digest('base64')}`;
    })
    .join(' ');
}
