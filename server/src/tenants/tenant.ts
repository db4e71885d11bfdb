import { z } from 'zod';
import { humanText } from '../errors/text-schemas.ts';
import { SLUG_PATTERN } from '../db/schema-names.ts';
import type { TenantRole, TenantStatus, TenantsTable } from '../db/tables.ts';
import type { Selectable } from 'kysely';

const CURRENCIES = new Set(Intl.supportedValuesOf('currency'));

/** Any zone name the ICU database resolves, aliases such as Etc/UTC or Europe/Kiev included. */
function isTimeZone(value: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: value });
    return value.length <= 64;
  } catch {
    return false;
  }
}

export const slugSchema = z
  .string()
  .regex(SLUG_PATTERN, 'must be 3-32 characters of lowercase letters, digits and single hyphens, starting with a letter');

export const timezoneSchema = z
  .string()
  .refine(isTimeZone, 'must be an IANA time zone such as "Europe/Moscow" or "UTC"');

export const currencySchema = z
  .string()
  .refine((value) => CURRENCIES.has(value), 'must be an ISO 4217 currency code in capitals, such as "RUB" or "EUR"');

export const tenantRoleSchema = z.enum(['issuer', 'partner'], { message: 'must be "issuer" or "partner"' });
export const tenantStatusSchema = z.enum(['active', 'suspended'], { message: 'must be "active" or "suspended"' });

const displayNameSchema = humanText(200);
const rolesSchema = z.array(tenantRoleSchema).min(1, 'name at least one role: issuer and/or partner').max(2);
const rateLimitSchema = z.number().int().min(1).max(1_000_000).nullable();

export const createTenantInputSchema = z.strictObject({
  slug: slugSchema.describe('Permanent identifier, e.g. "green-grocer". Names the tenant schema.'),
  displayName: displayNameSchema,
  roles: rolesSchema,
  timezone: timezoneSchema.describe('IANA zone the tenant reports and settles in.'),
  currency: currencySchema.describe("ISO 4217 currency of the tenant's money amounts; fixed once created."),
  rateLimitPerMinute: rateLimitSchema.optional().describe('Requests per minute for each of its API keys; null = server default.'),
});

export type CreateTenantInput = z.input<typeof createTenantInputSchema>;

const updatableFields = {
  displayName: displayNameSchema.optional(),
  roles: rolesSchema.optional(),
  status: tenantStatusSchema.optional(),
  timezone: timezoneSchema.optional(),
  rateLimitPerMinute: rateLimitSchema.optional(),
};

function changesSomething(patch: Record<string, unknown>): boolean {
  return Object.keys(updatableFields).some((field) => patch[field] !== undefined);
}

const NOTHING_TO_CHANGE = `name at least one field to change: ${Object.keys(updatableFields).join(', ')}`;

export const updateTenantInputSchema = z.strictObject(updatableFields).refine(changesSomething, NOTHING_TO_CHANGE);

/** The same patch addressed by slug, as the REST path and tRPC input carry it. */
export const updateTenantBySlugInputSchema = z.strictObject({ slug: slugSchema, ...updatableFields }).refine(changesSomething, NOTHING_TO_CHANGE);

export type UpdateTenantInput = z.input<typeof updateTenantInputSchema>;

export const tenantOutputSchema = z.object({
  slug: z.string(),
  displayName: z.string(),
  roles: z.array(tenantRoleSchema),
  status: tenantStatusSchema,
  timezone: z.string(),
  currency: z.string(),
  rateLimitPerMinute: z.number().int().nullable(),
  schemaVersion: z.string().nullable(),
  createdAt: z.string(),
});

export type Tenant = z.infer<typeof tenantOutputSchema>;

export function toTenant(row: Selectable<TenantsTable>): Tenant {
  return {
    slug: row.slug,
    displayName: row.display_name,
    roles: row.roles as TenantRole[],
    status: row.status as TenantStatus,
    timezone: row.timezone,
    currency: row.currency,
    rateLimitPerMinute: row.rate_limit_per_minute,
    schemaVersion: row.schema_version,
    createdAt: row.created_at.toISOString(),
  };
}
