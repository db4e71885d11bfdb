import type { Insertable, Updateable } from 'kysely';
import type { CoalitionDb } from '../db/database.ts';
import type { AgreementsTable, AgreementStatus } from '../db/tables.ts';
import type { TenantSummary } from '../tenants/tenant.queries.ts';
import type { AgreementParties, AgreementRow } from './agreement.ts';

export async function insertAgreement(db: CoalitionDb, values: Insertable<AgreementsTable>): Promise<AgreementRow> {
  return db.insertInto('agreements').values(values).returningAll().executeTakeFirstOrThrow();
}

/**
 * An agreement the tenant is a party to (either side); another tenant's agreement is
 * simply not found. `forUpdate` waits for exchanges in flight under it (they hold it
 * FOR SHARE), so a suspension or end takes effect for every exchange after it.
 */
export async function findAgreementOfTenant(db: CoalitionDb, tenantId: string, id: string, options: { forUpdate?: boolean } = {}): Promise<AgreementRow | undefined> {
  const query = db
    .selectFrom('agreements')
    .selectAll()
    .where('id', '=', id)
    .where((eb) => eb.or([eb('issuer_tenant_id', '=', tenantId), eb('partner_tenant_id', '=', tenantId)]));
  return (options.forUpdate ? query.forUpdate() : query).executeTakeFirst();
}

export async function findAgreement(db: CoalitionDb, id: string, options: { forUpdate?: boolean } = {}): Promise<AgreementRow | undefined> {
  const query = db.selectFrom('agreements').selectAll().where('id', '=', id);
  return (options.forUpdate ? query.forUpdate() : query).executeTakeFirst();
}

export async function updateAgreementRow(db: CoalitionDb, id: string, patch: Updateable<AgreementsTable>): Promise<AgreementRow> {
  return db.updateTable('agreements').set(patch).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
}

export interface AgreementFilter {
  status?: AgreementStatus | undefined;
  /** Only agreements where this tenant is on this side. */
  side?: 'issuer' | 'partner' | undefined;
  /** Only agreements with this other party. */
  counterpartyId?: string | undefined;
}

export async function listAgreementRows(db: CoalitionDb, tenantId: string | null, filter: AgreementFilter): Promise<AgreementRow[]> {
  let query = db.selectFrom('agreements').selectAll().orderBy('created_at', 'desc').orderBy('id').limit(500);
  if (tenantId !== null) {
    if (filter.side === 'issuer') query = query.where('issuer_tenant_id', '=', tenantId);
    else if (filter.side === 'partner') query = query.where('partner_tenant_id', '=', tenantId);
    else query = query.where((eb) => eb.or([eb('issuer_tenant_id', '=', tenantId), eb('partner_tenant_id', '=', tenantId)]));
  }
  if (filter.counterpartyId) {
    const other = filter.counterpartyId;
    query = query.where((eb) => eb.or([eb('issuer_tenant_id', '=', other), eb('partner_tenant_id', '=', other)]));
  }
  if (filter.status) query = query.where('status', '=', filter.status);
  return query.execute();
}

export function partiesFrom(row: Pick<AgreementRow, 'issuer_tenant_id' | 'partner_tenant_id'>, tenants: Map<string, TenantSummary>): AgreementParties {
  const issuer = tenants.get(row.issuer_tenant_id)!;
  const partner = tenants.get(row.partner_tenant_id)!;
  return { issuer, partner };
}

export type AgreementWithPartiesRow = AgreementRow & { issuer_status: string; partner_status: string; partner_slug: string; issuer_slug: string };

/**
 * The issuer's agreements among `ids`, with both tenants' status and slugs. The exchange
 * reads its agreement here without a row lock: a suspension does not wait for exchanges
 * in flight (they finish), and every exchange that reads the agreement after the
 * suspension has committed is refused.
 */
export async function agreementsOfIssuer(db: CoalitionDb, issuerTenantId: string, ids: readonly string[]): Promise<AgreementWithPartiesRow[]> {
  if (ids.length === 0) return [];
  return db
    .selectFrom('agreements as a')
    .innerJoin('tenants as i', 'i.id', 'a.issuer_tenant_id')
    .innerJoin('tenants as p', 'p.id', 'a.partner_tenant_id')
    .selectAll('a')
    .select(['i.status as issuer_status', 'p.status as partner_status', 'i.slug as issuer_slug', 'p.slug as partner_slug'])
    .where('a.id', 'in', [...ids])
    .where('a.issuer_tenant_id', '=', issuerTenantId)
    .execute() as Promise<AgreementWithPartiesRow[]>;
}
