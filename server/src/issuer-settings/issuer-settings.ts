import { z } from 'zod';
import type { TenantDb } from '../db/database.ts';
import { getCountries } from 'libphonenumber-js/max';
import { parseInput } from '../errors/validation.ts';

const PHONE_REGIONS = new Set<string>(getCountries());


export const issuerSettingsSchema = z.object({
  autoEnrol: z.boolean().describe('Purchases with an unknown card or phone enrol a new customer (true) or are refused with CUSTOMER_NOT_FOUND (false).'),
  phoneRegion: z
    .string()
    .refine((value) => PHONE_REGIONS.has(value), 'must be an ISO 3166-1 alpha-2 region with a phone numbering plan, in capitals, such as "RU"')
    .nullable()
    .describe('Region for phone numbers written without a country code; null accepts international format (+…) only.'),
  expiringSoonDays: z.number().int().min(1).max(90).describe('Days before a campaign burns its stickers that stickers.expiring_soon is sent.'),
});

export type IssuerSettings = z.infer<typeof issuerSettingsSchema>;

export const updateIssuerSettingsSchema = issuerSettingsSchema
  .partial()
  .strict()
  .refine((patch) => Object.values(patch).some((value) => value !== undefined), 'name at least one setting to change');

export async function getIssuerSettings(db: TenantDb): Promise<IssuerSettings> {
  const row = await db.selectFrom('issuer_settings').selectAll().executeTakeFirstOrThrow();
  return { autoEnrol: row.auto_enrol, phoneRegion: row.phone_region, expiringSoonDays: row.expiring_soon_days };
}

export async function updateIssuerSettings(db: TenantDb, rawPatch: unknown): Promise<IssuerSettings> {
  const patch = parseInput(updateIssuerSettingsSchema, rawPatch);
  await db
    .updateTable('issuer_settings')
    .set({
      ...(patch.autoEnrol !== undefined && { auto_enrol: patch.autoEnrol }),
      ...(patch.phoneRegion !== undefined && { phone_region: patch.phoneRegion }),
      ...(patch.expiringSoonDays !== undefined && { expiring_soon_days: patch.expiringSoonDays }),
      updated_at: new Date(),
    })
    .execute();
  return getIssuerSettings(db);
}
