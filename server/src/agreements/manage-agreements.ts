import type { TenantHandle } from '../auth/principal.ts';
import { coalitionDb, tenantDb, type CoalitionDb, type Database } from '../db/database.ts';
import { prefixedIds } from '../db/ids.ts';
import { tenantSchemaName } from '../db/schema-names.ts';
import type { AgreementStatus } from '../db/tables.ts';
import { AppError } from '../errors/app-error.ts';
import { parseInput, validationError } from '../errors/validation.ts';
import { describeOffers } from '../offers/manage-offers.ts';
import type { OfferSummary } from '../offers/offer.ts';
import { appendOutboxEvent, type OutboxEventType } from '../outbox/events.ts';
import { insertAuditEvent } from '../tenants/audit.queries.ts';
import { findTenantBySlug, tenantSummaries, toTenantSummary, type TenantSummary } from '../tenants/tenant.queries.ts';
import type { z } from 'zod';
import {
  AGREEMENT_STEPS,
  agreementStatusChangeSchema,
  createAgreementInputSchema,
  modelColumns,
  modelOf,
  proposeAgreementInputSchema,
  sideOf,
  toAgreement,
  type Agreement,
  type AgreementParties,
  type AgreementRow,
  type AgreementSide,
  type CreateAgreementInput,
  type ProposeAgreementInput,
} from './agreement.ts';
import {
  findAgreement,
  findAgreementOfTenant,
  insertAgreement,
  listAgreementRows,
  partiesFrom,
  updateAgreementRow,
  type AgreementFilter,
} from './agreement.queries.ts';

const newAgreementId = prefixedIds('agr');

/** Who acts on an agreement: a tenant's key, or the coalition operator (tenant null). */
export interface AgreementActor {
  db: Database;
  tenant: TenantHandle | null;
  actor: string;
  now: Date;
}

type Terms = Omit<z.output<typeof createAgreementInputSchema>, 'issuer' | 'partner'>;

async function requireParty(db: CoalitionDb, slug: string, role: 'issuer' | 'partner'): Promise<TenantSummary> {
  const row = await findTenantBySlug(db, slug);
  if (!row || !row.roles.includes(role) || row.status !== 'active') {
    throw new AppError('COUNTERPARTY_NOT_FOUND', `No active ${role} tenant has slug "${slug}".`, { slug, requiredRole: role });
  }
  return toTenantSummary(row);
}

/**
 * The partner's offers named by the agreement must exist and not be closed; a
 * percentage of the order value is paid in the orders' currency, so that model needs
 * offers in the agreement's currency. `opaque`: the caller is not the partner and has
 * seen none of these offers yet (an issuer's proposal): every refusal is the same
 * OFFER_NOT_FOUND, telling nothing of an offer's status or currency; the partner's
 * acceptance checks the rest.
 */
async function checkOffers(db: Database, partner: Pick<TenantSummary, 'slug'>, terms: Pick<Terms, 'offerIds' | 'model' | 'currency'>, options: { opaque: boolean }): Promise<void> {
  const { offerIds } = terms;
  const offers = await describeOffers(tenantDb(db, tenantSchemaName(partner.slug)), offerIds);
  const unusable = offerIds.filter((id) => !offers.has(id) || (options.opaque && offers.get(id)!.status === 'closed'));
  if (unusable.length) throw new AppError('OFFER_NOT_FOUND', `Partner ${partner.slug} has no open offer ${unusable.join(', ')}.`, { offerIds: unusable });
  if (options.opaque) return;
  const closed = offerIds.filter((id) => offers.get(id)!.status === 'closed');
  if (closed.length) throw new AppError('OFFER_CLOSED', `Offer ${closed.join(', ')} of partner ${partner.slug} is closed.`, { offerIds: closed });
  const otherCurrency = offerIds.filter((id) => offers.get(id)!.currency !== terms.currency);
  if (terms.model.type === 'partner_pays_percent_of_order' && otherCurrency.length) {
    throw validationError([{ path: ['currency'], message: `must be the currency of the offers (${offers.get(otherCurrency[0]!)!.currency}) when the partner pays a percentage of the order value` }]);
  }
}

/** Whether the issuer may see the offers: the partner named them itself, or accepted them. */
function offersDisclosedTo(row: AgreementRow, tenant: TenantHandle | null): boolean {
  return tenant === null || tenant.id === row.partner_tenant_id || row.proposed_by_tenant_id === row.partner_tenant_id || row.accepted_at !== null;
}

/**
 * Writes a step of the agreement's life to both tenants: an audit event in each
 * tenant's trail and an event in each tenant's outbox (for their webhooks).
 */
async function announce(trx: Database, row: AgreementRow, parties: AgreementParties, type: OutboxEventType, by: { side: AgreementSide; actor: string; reason?: string | null }, now: Date): Promise<void> {
  const payload = {
    agreementId: row.id,
    name: row.name,
    issuer: parties.issuer.slug,
    partner: parties.partner.slug,
    status: row.status,
    by: by.side,
    reason: by.reason ?? null,
  };
  for (const party of [parties.issuer, parties.partner]) {
    const db = tenantDb(trx, tenantSchemaName(party.slug));
    await insertAuditEvent(db, { actor: by.actor, action: type, subjectType: 'agreement', subjectId: row.id, details: { ...payload, side: by.side } });
    await appendOutboxEvent(db, { type, occurredAt: now, payload });
  }
}

function termsColumns(input: Terms, parties: { issuer: TenantSummary; partner: TenantSummary }, now: Date) {
  return {
    name: input.name,
    issuer_tenant_id: parties.issuer.id,
    partner_tenant_id: parties.partner.id,
    offer_ids: input.offerIds,
    ...modelColumns(input.model),
    currency: input.currency,
    timezone: input.timezone ?? parties.issuer.timezone,
    valid_from: input.validFrom ? new Date(input.validFrom) : now,
    valid_until: input.validUntil ? new Date(input.validUntil) : null,
    monthly_cap: input.monthlyCap,
  };
}

function assertValidUntilAhead(validUntil: string | null | undefined, now: Date): void {
  if (validUntil && new Date(validUntil) <= now) throw validationError([{ path: ['validUntil'], message: 'must be in the future' }]);
}

/** A tenant proposes terms to another; nothing is in force until the other side accepts. */
export async function proposeAgreement(context: AgreementActor & { tenant: TenantHandle }, rawInput: ProposeAgreementInput): Promise<Agreement> {
  const input = parseInput(proposeAgreementInputSchema, rawInput);
  assertValidUntilAhead(input.validUntil, context.now);
  const mySide = input.partner !== undefined ? 'issuer' : 'partner';
  if (!context.tenant.roles.includes(mySide)) {
    throw new AppError('ROLE_REQUIRED', `Proposing as the ${mySide} needs the ${mySide} role; ${context.tenant.slug} does not have it.`, { requiredRole: mySide });
  }
  const otherSlug = (input.partner ?? input.issuer)!;
  if (otherSlug === context.tenant.slug) throw validationError([{ path: [mySide === 'issuer' ? 'partner' : 'issuer'], message: 'must be another tenant' }]);
  const coalition = coalitionDb(context.db);
  const me = (await tenantSummaries(coalition, [context.tenant.id])).get(context.tenant.id)!;
  const other = await requireParty(coalition, otherSlug, mySide === 'issuer' ? 'partner' : 'issuer');
  const parties = mySide === 'issuer' ? { issuer: me, partner: other } : { issuer: other, partner: me };
  await checkOffers(context.db, parties.partner, input, { opaque: mySide === 'issuer' });
  return context.db.transaction().execute(async (trx) => {
    const row = await insertAgreement(coalitionDb(trx), {
      id: newAgreementId(),
      ...termsColumns(input, parties, context.now),
      status: 'proposed',
      proposed_by_tenant_id: context.tenant.id,
      proposed_by: context.actor,
      proposed_at: context.now,
      created_at: context.now,
      updated_at: context.now,
    });
    await announce(trx, row, parties, 'agreement.proposed', { side: mySide, actor: context.actor }, context.now);
    return toAgreement(row, parties, context.now);
  });
}

/** The operator sets an agreement up for both tenants: in force at once, recorded as proposed and accepted by the operator. */
export async function createAgreement(context: Omit<AgreementActor, 'tenant'>, rawInput: CreateAgreementInput): Promise<Agreement> {
  const input = parseInput(createAgreementInputSchema, rawInput);
  assertValidUntilAhead(input.validUntil, context.now);
  if (input.issuer === input.partner) throw validationError([{ path: ['partner'], message: 'must be another tenant than the issuer' }]);
  const coalition = coalitionDb(context.db);
  const parties = { issuer: await requireParty(coalition, input.issuer, 'issuer'), partner: await requireParty(coalition, input.partner, 'partner') };
  await checkOffers(context.db, parties.partner, input, { opaque: false });
  return context.db.transaction().execute(async (trx) => {
    const row = await insertAgreement(coalitionDb(trx), {
      id: newAgreementId(),
      ...termsColumns(input, parties, context.now),
      status: 'active',
      proposed_by_tenant_id: null,
      proposed_by: context.actor,
      proposed_at: context.now,
      accepted_by: context.actor,
      accepted_at: context.now,
      created_at: context.now,
      updated_at: context.now,
    });
    await announce(trx, row, parties, 'agreement.accepted', { side: 'operator', actor: context.actor }, context.now);
    return toAgreement(row, parties, context.now);
  });
}

async function withParties(db: CoalitionDb, rows: AgreementRow[], now: Date): Promise<Agreement[]> {
  const tenants = await tenantSummaries(db, rows.flatMap((row) => [row.issuer_tenant_id, row.partner_tenant_id]));
  return rows.map((row) => toAgreement(row, partiesFrom(row, tenants), now));
}

export async function listAgreements(context: Omit<AgreementActor, 'actor'>, filter: AgreementFilter & { counterparty?: string | undefined }): Promise<Agreement[]> {
  const coalition = coalitionDb(context.db);
  let counterpartyId: string | undefined;
  if (filter.counterparty) {
    counterpartyId = (await findTenantBySlug(coalition, filter.counterparty))?.id;
    if (!counterpartyId) return [];
  }
  const rows = await listAgreementRows(coalition, context.tenant?.id ?? null, { ...filter, counterpartyId });
  return withParties(coalition, rows, context.now);
}

export type AgreementWithOffers = Agreement & { offers: OfferSummary[] };

async function requireAgreement(db: CoalitionDb, tenant: TenantHandle | null, id: string, options: { forUpdate?: boolean } = {}): Promise<AgreementRow> {
  const row = tenant ? await findAgreementOfTenant(db, tenant.id, id, options) : await findAgreement(db, id, options);
  if (!row) throw new AppError('AGREEMENT_NOT_FOUND', `No agreement ${id} exists${tenant ? ` for ${tenant.slug}` : ''}.`, { agreementId: id });
  return row;
}

/** One agreement with the partner offers it covers, as the issuer needs them to build rewards. */
export async function getAgreement(context: Omit<AgreementActor, 'actor'>, id: string): Promise<AgreementWithOffers> {
  const coalition = coalitionDb(context.db);
  const row = await requireAgreement(coalition, context.tenant, id);
  const [agreement] = await withParties(coalition, [row], context.now);
  if (!offersDisclosedTo(row, context.tenant)) return { ...agreement!, offers: [] };
  const offers = await describeOffers(tenantDb(context.db, tenantSchemaName(agreement!.partner.slug)), row.offer_ids);
  return { ...agreement!, offers: row.offer_ids.flatMap((offerId) => offers.get(offerId) ?? []) };
}

function stepRefused(row: AgreementRow, step: string): AppError {
  const allowed = AGREEMENT_STEPS[row.status];
  return new AppError('AGREEMENT_STATUS_TRANSITION', `Agreement ${row.id} is ${row.status}; it can ${allowed.length ? `only ${allowed.join(', ')}` : 'no longer change'}, not ${step}.`, {
    agreementId: row.id,
    status: row.status,
    requested: step,
    allowed,
  });
}

const DECISION_EVENTS = { accept: 'agreement.accepted', decline: 'agreement.declined', withdraw: 'agreement.withdrawn' } as const;
const DECISION_STATUS: Record<keyof typeof DECISION_EVENTS, AgreementStatus> = { accept: 'active', decline: 'declined', withdraw: 'withdrawn' };

/** The other side accepts or declines a proposal; the proposer may withdraw it. */
export async function decideProposal(context: AgreementActor & { tenant: TenantHandle }, id: string, decision: keyof typeof DECISION_EVENTS, reason?: string): Promise<Agreement> {
  return context.db.transaction().execute(async (trx) => {
    const coalition = coalitionDb(trx);
    const row = await requireAgreement(coalition, context.tenant, id, { forUpdate: true });
    if (row.status !== 'proposed') throw stepRefused(row, decision);
    const proposer = row.proposed_by_tenant_id === context.tenant.id;
    if (decision === 'withdraw' ? !proposer : proposer) {
      throw new AppError(
        'AGREEMENT_ACTION_FORBIDDEN',
        decision === 'withdraw' ? 'Only the side that proposed an agreement can withdraw it.' : `The side that proposed an agreement cannot ${decision} it; the other side does.`,
        { agreementId: id, step: decision },
      );
    }
    const side = sideOf(row, context.tenant.id);
    const tenants = await tenantSummaries(coalition, [row.issuer_tenant_id, row.partner_tenant_id]);
    const parties = partiesFrom(row, tenants);
    // The offers may have closed since the proposal, and an issuer's proposal was
    // checked only for what the issuer may learn: the acceptance checks everything.
    if (decision === 'accept') await checkOffers(trx, parties.partner, { offerIds: row.offer_ids, model: modelOf(row), currency: row.currency }, { opaque: false });
    const updated = await updateAgreementRow(coalition, id, {
      status: DECISION_STATUS[decision],
      ...(decision === 'accept' ? { accepted_by: context.actor, accepted_at: context.now } : { status_changed_by_tenant_id: context.tenant.id, status_changed_by: context.actor, status_changed_at: context.now, status_reason: reason ?? null }),
      updated_at: context.now,
    });
    await announce(trx, updated, parties, DECISION_EVENTS[decision], { side, actor: context.actor, reason: reason ?? null }, context.now);
    return toAgreement(updated, parties, context.now);
  });
}

const STATUS_EVENTS = { suspended: 'agreement.suspended', active: 'agreement.resumed', ended: 'agreement.ended' } as const;

/**
 * Suspend, resume or end an agreement in force. Either side (or the operator) may
 * suspend or end; only the side that suspended (or the operator) resumes. Issued
 * vouchers stay valid whatever happens here.
 */
export async function changeAgreementStatus(context: AgreementActor, id: string, rawChange: z.input<typeof agreementStatusChangeSchema>): Promise<Agreement> {
  const change = parseInput(agreementStatusChangeSchema, rawChange);
  return context.db.transaction().execute(async (trx) => {
    const coalition = coalitionDb(trx);
    const row = await requireAgreement(coalition, context.tenant, id, { forUpdate: true });
    const tenants = await tenantSummaries(coalition, [row.issuer_tenant_id, row.partner_tenant_id]);
    const parties = partiesFrom(row, tenants);
    if (row.status === change.status) return toAgreement(row, parties, context.now);
    if (!AGREEMENT_STEPS[row.status].includes(change.status)) throw stepRefused(row, change.status);
    const actingTenantId = context.tenant?.id ?? null;
    if (change.status === 'active' && actingTenantId !== null && row.status_changed_by_tenant_id !== actingTenantId) {
      throw new AppError('AGREEMENT_ACTION_FORBIDDEN', `Agreement ${id} was suspended by the ${sideOf(row, row.status_changed_by_tenant_id)}; only that side (or the coalition operator) can resume it.`, {
        agreementId: id,
        step: 'active',
        suspendedBy: sideOf(row, row.status_changed_by_tenant_id),
      });
    }
    const updated = await updateAgreementRow(coalition, id, {
      status: change.status,
      status_changed_by_tenant_id: actingTenantId,
      status_changed_by: context.actor,
      status_changed_at: context.now,
      status_reason: change.reason ?? null,
      updated_at: context.now,
    });
    await announce(trx, updated, parties, STATUS_EVENTS[change.status], { side: sideOf(row, actingTenantId), actor: context.actor, reason: change.reason ?? null }, context.now);
    return toAgreement(updated, parties, context.now);
  });
}
