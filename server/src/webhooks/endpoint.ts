import { isIP } from 'node:net';
import type { Selectable } from 'kysely';
import { z } from 'zod';
import type { WebhookEndpointsTable } from '../db/tables.ts';
import { isPrintableText, PRINTABLE_TEXT } from '../errors/text-schemas.ts';
import { OUTBOX_EVENT_TYPES } from '../outbox/events.ts';
import { addressRefusal, type AddressPolicy } from './address-guard.ts';

export const endpointIdSchema = z.string().regex(/^we_[0-9A-Za-z]{12}$/, 'must be a webhook endpoint id (we_ followed by 12 letters and digits)');

/** Event types an endpoint can subscribe to: the catalog plus the test event. */
export const WEBHOOK_EVENT_TYPES = [...OUTBOX_EVENT_TYPES, 'webhook.test'] as const;

export const eventTypeSchema = z.enum(WEBHOOK_EVENT_TYPES, {
  error: (issue) => `unknown event type ${JSON.stringify(issue.input)}; see docs/webhooks.md for the catalog`,
});

const urlText = z
  .string()
  .trim()
  .min(1)
  .max(2_000)
  .refine((value) => isPrintableText(value) && !/\s/.test(value), 'must not contain spaces, control characters or broken Unicode');

const endpointFields = {
  url: urlText.describe('Where events are POSTed: https, or http only to loopback/private addresses where the operator allows them.'),
  description: z.string().trim().max(500).refine(isPrintableText, PRINTABLE_TEXT).default(''),
  eventTypes: z
    .array(eventTypeSchema)
    .min(1)
    .max(WEBHOOK_EVENT_TYPES.length)
    .refine((types) => new Set(types).size === types.length, 'must not repeat a type')
    .nullable()
    .default(null)
    .describe('The event types to send; null = every type.'),
};

export const createEndpointInputSchema = z.strictObject(endpointFields);
export type CreateEndpointInput = z.input<typeof createEndpointInputSchema>;

export const updateEndpointInputSchema = z.strictObject({
  url: endpointFields.url.optional(),
  description: z.string().trim().max(500).refine(isPrintableText, PRINTABLE_TEXT).optional(),
  eventTypes: endpointFields.eventTypes.unwrap().unwrap().nullable().optional(),
});

export const endpointOutputSchema = z.object({
  id: z.string(),
  url: z.string(),
  description: z.string(),
  eventTypes: z.array(z.string()).nullable(),
  status: z.enum(['enabled', 'disabled']),
  disabled: z
    .object({ reason: z.enum(['manual', 'gone', 'failing']).describe('manual: by you; gone: the receiver answered 410; failing: every attempt failed for 5 days'), at: z.string() })
    .nullable(),
  failingSince: z.string().nullable().describe('Start of the current run of failed attempts; null after a success.'),
  secretRotation: z.object({ previousValidUntil: z.string() }).nullable().describe('While set, deliveries carry a signature by the previous secret too.'),
  lastSequence: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Endpoint = z.infer<typeof endpointOutputSchema>;

export type EndpointRow = Selectable<WebhookEndpointsTable>;

export function toEndpoint(row: EndpointRow, now: Date): Endpoint {
  const rotating = row.previous_secret_expires_at !== null && row.previous_secret_expires_at > now;
  return {
    id: row.id,
    url: row.url,
    description: row.description,
    eventTypes: row.event_types,
    status: row.status,
    disabled: row.status === 'disabled' && row.disabled_reason && row.disabled_at ? { reason: row.disabled_reason, at: row.disabled_at.toISOString() } : null,
    failingSince: row.failing_since?.toISOString() ?? null,
    secretRotation: rotating ? { previousValidUntil: row.previous_secret_expires_at!.toISOString() } : null,
    lastSequence: Number(row.last_sequence),
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

/**
 * Why a URL cannot be an endpoint (null: it can). The host is checked again after DNS
 * resolution at every attempt; here only what the URL itself shows: scheme, embedded
 * credentials, and an IP literal or "localhost" the policy refuses.
 */
export function endpointUrlProblem(raw: string, policy: AddressPolicy): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'must be an absolute URL, e.g. https://example.com/webhooks';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must be an https URL';
  if (url.username || url.password) return 'must not carry a user name or password; authenticate deliveries by their signature';
  if (url.hash || raw.includes('#')) return 'must not have a #fragment';
  // A trailing dot is the fully qualified spelling of the same name ("localhost.").
  const host = url.hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '');
  const literal = isIP(host) ? host : host === 'localhost' || host.endsWith('.localhost') ? '127.0.0.1' : null;
  if (literal) {
    const refusal = addressRefusal(literal, policy);
    if (refusal) return `must not point at ${refusal} (set WEBHOOK_ALLOW_LOOPBACK / WEBHOOK_ALLOW_PRIVATE for development)`;
  }
  // Plain http only inside the operator's own machine or network.
  if (url.protocol === 'http:' && !(literal && addressRefusal(literal, { allowLoopback: false, allowPrivate: false }) !== null)) return 'must be an https URL';
  return null;
}
