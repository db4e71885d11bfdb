import { z } from 'zod';
import { coalitionDb, type Database } from '../db/database.ts';
import { parseInput } from '../errors/validation.ts';
import { netObligations, type Obligation } from './netting.ts';
import { parseDocument } from './statement-document.ts';
import { nettingInputSchema, periodDate } from './statement.ts';

export const nettingOutputSchema = z.object({
  period: z.string(),
  statements: z.number().int().describe('Your statements of the period (the operator: all of them); every statement of the period is netted.'),
  draftStatements: z.number().int().describe('Of those, still drafts: their amounts can change until finalized.'),
  positions: z.array(
    z.object({
      tenant: z.string(),
      currency: z.string(),
      owesMinor: z.number().int(),
      owedMinor: z.number().int(),
      netMinor: z.number().int().describe('owedMinor − owesMinor: positive = receives, negative = pays.'),
    }),
  ),
  transfers: z.array(z.object({ currency: z.string(), from: z.string(), to: z.string(), amountMinor: z.number().int() })),
  optimal: z.record(z.string(), z.boolean()).describe('Per currency: whether the number of transfers is proven minimal (exact for up to 16 tenants with a balance).'),
});
export type NettingView = z.infer<typeof nettingOutputSchema>;

/**
 * The coalition's position for a month: every statement of the period (each agreement's
 * net per currency, in the agreement's own calendar month) turned into obligations,
 * netted per currency into balances and the fewest transfers that settle them all.
 * A tenant sees its own balances and the transfers it makes or receives; the operator
 * sees everything.
 */
export async function netting(db: Database, rawInput: z.input<typeof nettingInputSchema>, viewerTenantId: string | null): Promise<NettingView> {
  const input = parseInput(nettingInputSchema, rawInput);
  const rows = await coalitionDb(db)
    .selectFrom('settlement_statements')
    .select(['status', 'document', 'issuer_tenant_id', 'partner_tenant_id'])
    .where('period', '=', periodDate(input.period))
    .where('document', 'is not', null)
    .execute();
  const slugs = new Map<string, string>();
  const obligations: Obligation[] = [];
  for (const row of rows) {
    const document = parseDocument(row.document!);
    slugs.set(document.issuer.id, document.issuer.slug);
    slugs.set(document.partner.id, document.partner.slug);
    const idOf = (slug: string) => (slug === document.issuer.slug ? document.issuer.id : document.partner.id);
    for (const total of document.totals) {
      if (total.amountMinor === 0) continue;
      obligations.push({ payer: idOf(total.owedBy!), payee: idOf(total.owedTo!), currency: total.currency, amountMinor: total.amountMinor });
    }
  }
  const result = netObligations(obligations);
  const mine = (tenantId: string) => viewerTenantId === null || tenantId === viewerTenantId;
  // A tenant sees its own statements counted, and only its currencies.
  const own = rows.filter((row) => mine(row.issuer_tenant_id) || mine(row.partner_tenant_id));
  const currencies = new Set(result.positions.filter((position) => mine(position.tenantId)).map((position) => position.currency));
  return {
    period: input.period,
    statements: own.length,
    draftStatements: own.filter((row) => row.status === 'draft').length,
    positions: result.positions
      .filter((position) => mine(position.tenantId))
      .map((position) => ({ tenant: slugs.get(position.tenantId)!, currency: position.currency, owesMinor: position.owesMinor, owedMinor: position.owedMinor, netMinor: position.netMinor })),
    transfers: result.transfers
      .filter((transfer) => mine(transfer.from) || mine(transfer.to))
      .map((transfer) => ({ currency: transfer.currency, from: slugs.get(transfer.from)!, to: slugs.get(transfer.to)!, amountMinor: transfer.amountMinor })),
    optimal: Object.fromEntries(Object.entries(result.optimal).filter(([currency]) => currencies.has(currency))),
  };
}
