import { z } from 'zod';
import { storeCodeSchema, timestampSchema } from '../campaigns/campaign.ts';
import { customerRefSchema } from '../customers/customer.ts';

const posIdSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$/, 'must be 1-64 letters, digits or . _ : / -, starting with a letter or digit');
const MAX_MINOR = 1_000_000_000_000;

export const receiptLineSchema = z.strictObject({
  sku: z.string().trim().min(1).max(64),
  quantity: z
    .number()
    .positive('must be more than 0')
    .max(1_000_000)
    .refine((value) => Math.abs(value * 1000 - Math.round(value * 1000)) < 1e-6, 'at most 3 decimals (e.g. 0.755 kg)'),
  amountMinor: z.number().int('must be whole minor units (kopecks, cents)').min(0, 'must not be negative').max(MAX_MINOR),
});

export const purchaseInputSchema = z.strictObject({
  storeCode: storeCodeSchema,
  terminalId: posIdSchema,
  cashierId: posIdSchema.optional(),
  receiptId: posIdSchema.describe('Unique per store; the same receipt is never credited twice.'),
  occurredAt: timestampSchema.describe('When the till closed the receipt (up to 5 minutes ahead of server time, up to 90 days back).'),
  customer: customerRefSchema,
  totalMinor: z.number().int('must be whole minor units (kopecks, cents)').min(1, 'must be more than 0').max(MAX_MINOR),
  currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code').optional().describe("Optional check: must equal the issuer's currency."),
  lines: z.array(receiptLineSchema).min(1, 'a receipt has at least one line').max(1_000),
});
export type PurchaseInput = z.input<typeof purchaseInputSchema>;

export const returnInputSchema = z.strictObject({
  storeCode: storeCodeSchema.describe('Store of the original purchase.'),
  receiptId: posIdSchema.describe('Receipt id of the original purchase.'),
  returnId: posIdSchema.describe('Unique per receipt: the return document number.'),
  occurredAt: timestampSchema,
  lines: z
    .array(receiptLineSchema)
    .min(1)
    .max(1_000)
    .optional()
    .describe('The returned lines with their refunded amounts; leave out to return the whole (remaining) receipt.'),
});
export type ReturnInput = z.input<typeof returnInputSchema>;

export const creditedSchema = z.object({ campaignId: z.string(), campaignName: z.string(), stickers: z.number().int(), availableAt: z.string() });

export const purchaseOutputSchema = z.object({
  purchaseId: z.string(),
  customerId: z.string(),
  enrolled: z.boolean().describe('True when this purchase enrolled a new customer.'),
  review: z
    .object({
      caseId: z.string(),
      action: z.enum(['flag', 'hold']),
      held: z.boolean().describe('True when the stickers stay pending until a reviewer releases them (their availableAt is then the campaign burn date).'),
    })
    .nullable()
    .describe('Set when an anti-fraud rule flagged or held this purchase (docs/fraud.md); null otherwise.'),
  credited: z.array(creditedSchema),
  stickersCredited: z.number().int(),
  balance: z.object({ available: z.number().int(), pending: z.number().int() }),
  nextReward: z
    .object({ campaignId: z.string(), label: z.string(), stickersNeeded: z.number().int() })
    .nullable()
    .describe('The nearest goal, counting pending stickers: for the receipt printer ("12 more stickers to …").'),
});
export type PurchaseResult = z.infer<typeof purchaseOutputSchema>;

export const returnOutputSchema = z.object({
  returnId: z.string(),
  purchaseId: z.string(),
  customerId: z.string(),
  returnedMinor: z.number().int(),
  reversed: z.array(z.object({ campaignId: z.string(), stickers: z.number().int(), from: z.enum(['pending', 'available', 'burned']) })),
  balance: z.object({ available: z.number().int(), pending: z.number().int() }),
  owing: z.boolean().describe('The return took back stickers already spent: the available balance is negative and exchanges wait until it is positive again.'),
  review: z
    .object({ caseId: z.string(), action: z.enum(['flag']) })
    .nullable()
    .describe('Set when an anti-fraud return rule flagged this customer for review (docs/fraud.md); the return itself is recorded either way.'),
});
export type ReturnResult = z.infer<typeof returnOutputSchema>;

/** Lines must add up to the total, give or take one minor unit per line (rounding on the till). */
export function linesMatchTotal(lines: readonly { amountMinor: number }[], totalMinor: number): boolean {
  const sum = lines.reduce((acc, line) => acc + line.amountMinor, 0);
  return Math.abs(sum - totalMinor) <= lines.length;
}
