import type { WebhookEvent } from './webhook-events.ts';

export type WebhookErrorCode = 'MISSING_HEADERS' | 'INVALID_TIMESTAMP' | 'TIMESTAMP_TOO_OLD' | 'TIMESTAMP_TOO_NEW' | 'BAD_SIGNATURE' | 'MALFORMED_PAYLOAD';

/** A delivery that must not be trusted: answer it with 400 and do nothing. */
export class WebhookVerificationError extends Error {
  override readonly name = 'WebhookVerificationError';

  constructor(
    readonly code: WebhookErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Request headers as Node's `req.headers` (lower-case names) or a fetch `Headers`. */
export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;

export interface VerifyWebhookOptions {
  /** How far `webhook-timestamp` may be from `now`, either way. Default 300 (the Standard Webhooks libraries' 5 minutes). */
  toleranceSeconds?: number;
  now?: Date;
}

type HmacKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>;

const SECRET_PREFIX = 'whsec_';
const encoder = new TextEncoder();

function header(headers: WebhookHeaders, name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const value = headers[name] ?? Object.entries(headers).find(([key]) => key.toLowerCase() === name)?.[1];
  return Array.isArray(value) ? value.join(' ') : value;
}

function decodeBase64(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) return null;
  return Uint8Array.from(atob(text), (char) => char.charCodeAt(0));
}

/** The HMAC key of a `whsec_…` secret (its base64 part, decoded). */
async function hmacKey(secret: string): Promise<HmacKey> {
  const bytes = decodeBase64(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret);
  if (!bytes || bytes.length === 0) throw new TypeError('A webhook secret is "whsec_" followed by base64, as the API showed it when the endpoint was created or its secret rotated.');
  return crypto.subtle.importKey('raw', bytes as Uint8Array<ArrayBuffer>, { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
}

function signedContent(id: string, timestamp: string, body: string | Uint8Array): Uint8Array<ArrayBuffer> {
  // The bytes as received: decoding and re-encoding could change what was signed.
  const prefix = encoder.encode(`${id}.${timestamp}.`);
  const rest = typeof body === 'string' ? encoder.encode(body) : body;
  const out = new Uint8Array(prefix.length + rest.length);
  out.set(prefix);
  out.set(rest, prefix.length);
  return out;
}

/**
 * Verifies a delivery as the Standard Webhooks specification says, and returns its
 * event: the signature (`webhook-signature` may hold several, e.g. during a secret
 * rotation; one valid under any of `secret` is enough) over `id.timestamp.body`, and
 * `webhook-timestamp` within the tolerance. Pass the body exactly as received, before
 * any JSON parsing. Signatures are compared by WebCrypto's HMAC verify, in constant time.
 */
export async function verifyWebhook(headers: WebhookHeaders, rawBody: string | Uint8Array, secret: string | readonly string[], options: VerifyWebhookOptions = {}): Promise<WebhookEvent> {
  const id = header(headers, 'webhook-id');
  const timestamp = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  if (!id || !timestamp || !signatures) throw new WebhookVerificationError('MISSING_HEADERS', 'The webhook-id, webhook-timestamp and webhook-signature headers are required.');
  if (!/^\d{1,15}$/.test(timestamp)) throw new WebhookVerificationError('INVALID_TIMESTAMP', 'webhook-timestamp is not Unix seconds.');
  const tolerance = options.toleranceSeconds ?? 300;
  const now = Math.floor((options.now ?? new Date()).getTime() / 1000);
  const skew = now - Number(timestamp);
  if (skew > tolerance) throw new WebhookVerificationError('TIMESTAMP_TOO_OLD', `The delivery was signed ${skew} s ago, more than the ${tolerance} s allowed.`);
  if (-skew > tolerance) throw new WebhookVerificationError('TIMESTAMP_TOO_NEW', `The delivery is dated ${-skew} s in the future, more than the ${tolerance} s allowed.`);

  const secrets = typeof secret === 'string' ? [secret] : secret;
  if (secrets.length === 0) throw new TypeError('verifyWebhook needs at least one secret.');
  const keys = await Promise.all(secrets.map(hmacKey));
  const candidates = signatures
    .split(' ')
    .filter((entry) => entry.startsWith('v1,'))
    .map((entry) => decodeBase64(entry.slice(3)))
    .filter((bytes): bytes is Uint8Array => bytes !== null && bytes.length === 32);
  const content = signedContent(id, timestamp, rawBody);
  let verified = false;
  for (const key of keys) {
    for (const signature of candidates) {
      if (await crypto.subtle.verify('HMAC', key, signature as Uint8Array<ArrayBuffer>, content)) verified = true;
    }
  }
  if (!verified) throw new WebhookVerificationError('BAD_SIGNATURE', 'No v1 signature matches the body under the given secret(s).');

  let event: unknown;
  try {
    event = JSON.parse(typeof rawBody === 'string' ? rawBody : new TextDecoder().decode(rawBody));
  } catch {
    throw new WebhookVerificationError('MALFORMED_PAYLOAD', 'The body is not JSON.');
  }
  const shape = event as Partial<WebhookEvent> | null;
  if (!shape || typeof shape !== 'object' || typeof shape.type !== 'string' || typeof shape.data !== 'object' || shape.data === null) {
    throw new WebhookVerificationError('MALFORMED_PAYLOAD', 'The body is not a webhook event (type, timestamp, data).');
  }
  return event as WebhookEvent;
}
