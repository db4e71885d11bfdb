import type { Selectable } from 'kysely';
import { z } from 'zod';
import type { CustomersTable } from '../db/tables.ts';

export const customerIdSchema = z.string().regex(/^cus_[0-9A-Za-z]{16}$/, 'must be a customer id (cus_ followed by 16 letters and digits)');

export const cardNumberSchema = z
  .string()
  .trim()
  .regex(/^[0-9A-Za-z-]{4,32}$/, 'must be 4-32 letters, digits or hyphens, as printed on the loyalty card');

/** Any way a phone number is written; normalised to E.164 with the issuer's phone region. */
export const phoneInputSchema = z.string().trim().min(3).max(32);

/** How a till or an app names a customer: by card or by phone, exactly one. */
export const customerRefSchema = z
  .strictObject({ cardNumber: cardNumberSchema.optional(), phone: phoneInputSchema.optional() })
  .refine((ref) => (ref.cardNumber === undefined) !== (ref.phone === undefined), 'give exactly one of cardNumber or phone');

export type CustomerRef = z.infer<typeof customerRefSchema>;

export const customerOutputSchema = z.object({
  id: z.string(),
  cardNumber: z.string().nullable(),
  phoneHint: z.string().nullable().describe('Last four digits of the phone number; the number itself is not stored.'),
  blocked: z.boolean(),
  blockedReason: z.string().nullable(),
  enrolledVia: z.string(),
  createdAt: z.string(),
});

export type Customer = z.infer<typeof customerOutputSchema>;

export function toCustomer(row: Selectable<CustomersTable>): Customer {
  return {
    id: row.id,
    cardNumber: row.card_number,
    phoneHint: row.phone_hint ? `…${row.phone_hint}` : null,
    blocked: row.blocked_at !== null,
    blockedReason: row.blocked_reason,
    enrolledVia: row.enrolled_via,
    createdAt: row.created_at.toISOString(),
  };
}
