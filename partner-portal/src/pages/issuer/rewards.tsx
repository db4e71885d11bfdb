import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router';
import { api, problemOf, type RouterInputs, type RouterOutputs } from '../../api.ts';
import { useCan, useSession } from '../../session.tsx';
import { Alert, Badge, Button, Card, CheckboxGroup, EmptyState, ErrorState, fieldError, FormError, Loading, PageHeader, QueryView, SelectField, StatusBadge, Tabs, TextAreaField, TextField, type Tone } from '../../ui/components.tsx';
import { ConfirmDialog, Dialog } from '../../ui/dialog.tsx';
import { DataTable, type Column } from '../../ui/table.tsx';
import { formatDateTime, formatNumber } from '../../ui/format.ts';
import { useToast } from '../../ui/toast.tsx';
import { formatOfferValue, parseWhole, plural, type CatalogEntry, type Reward } from './issuer-shared.tsx';

const WRITE = { scopes: ['campaigns:write' as const], tenantRole: 'issuer' as const };
/** How often the stock column is read again: codes go out with every exchange. */
const STOCK_REFRESH_MS = 15_000;
/** At or below this many codes the stock shows as low: a busy day could empty it. */
const LOW_STOCK = 10;

type Agreement = RouterOutputs['agreements']['list']['agreements'][number];
type Filter = 'all' | Reward['status'];

/** Why nobody can exchange a reward right now, in words, from the catalog's reason and detail. */
function unavailableText(entry: CatalogEntry): { text: string; tone: Tone } | null {
  const { reason, detail } = entry.availability;
  switch (reason) {
    case null:
      return null;
    case 'POOL_EXHAUSTED':
      return { text: 'Out of codes', tone: 'bad' };
    case 'AGREEMENT_CAP_REACHED':
      return { text: 'Monthly cap reached', tone: 'warn' };
    case 'AGREEMENT_INACTIVE':
      return { text: `Agreement not in force${detail ? ` (${detail.replace(/_/g, ' ')})` : ''}`, tone: 'bad' };
    case 'REWARD_UNAVAILABLE':
      return {
        text: detail === 'campaign_burned' ? 'Campaign burned' : detail === 'offer_not_active' ? 'Partner offer not active' : detail === 'offer_ends_soon' ? 'Partner offer ends soon' : 'Unavailable',
        tone: 'warn',
      };
  }
}

function StockCell({ reward, entry }: { reward: Reward; entry: CatalogEntry | undefined }) {
  if (reward.status !== 'active') return <span className="muted small">Not offered</span>;
  if (!entry) return <span className="muted">—</span>;
  const { codesLeft, codesLeftAtLeast, capLeftThisMonth } = entry.availability;
  const problem = unavailableText(entry);
  const level = codesLeft === 0 ? 'stock-none' : codesLeft <= LOW_STOCK ? 'stock-low' : '';
  return (
    <div className="stock">
      <span className={`stock-count ${level}`} aria-label={`${codesLeft}${codesLeftAtLeast ? ' or more' : ''} codes left`}>
        {formatNumber(codesLeft)}
        {codesLeftAtLeast ? '+' : ''} {codesLeft === 1 ? 'code' : 'codes'}
      </span>
      {problem ? <Badge tone={problem.tone}>{problem.text}</Badge> : codesLeft > 0 && codesLeft <= LOW_STOCK ? <Badge tone="warn">Low</Badge> : <Badge tone="good">Available</Badge>}
      {capLeftThisMonth !== null && <span className="muted small">cap: {formatNumber(capLeftThisMonth)} left this month</span>}
    </div>
  );
}

function describeLimits(limits: Reward['limits']): string {
  const parts: string[] = [];
  if (limits.perCustomer !== null) parts.push(`${limits.perCustomer} per customer`);
  if (limits.perPeriod) parts.push(`${limits.perPeriod.count} per ${limits.perPeriod.period}`);
  return parts.length ? parts.join(', ') : 'No limit';
}

/**
 * The reward catalog: every reward with its live stock (read again every 15 s), created
 * from a partner's offer under an active agreement, edited, paused, resumed or archived.
 */
export function RewardsPage() {
  const can = useCan();
  const toast = useToast();
  const queryClient = useQueryClient();
  const [filter, setFilter] = useState<Filter>('active');
  const [editing, setEditing] = useState<Reward | 'new' | null>(null);
  const [archiving, setArchiving] = useState<Reward | null>(null);
  const rewards = useQuery({ queryKey: ['rewards.list'], queryFn: () => api.rewards.list.query(), refetchInterval: STOCK_REFRESH_MS });
  const catalog = useQuery({ queryKey: ['catalog', null], queryFn: () => api.catalog.query(), refetchInterval: STOCK_REFRESH_MS, refetchIntervalInBackground: false });
  const campaigns = useQuery({ queryKey: ['campaigns.list'], queryFn: () => api.campaigns.list.query() });
  const agreements = useQuery({ queryKey: ['agreements.list', { side: 'issuer' }], queryFn: () => api.agreements.list.query({ side: 'issuer' }) });

  const entries = new Map((catalog.data?.rewards ?? []).map((entry) => [entry.id, entry]));
  const campaignNames = new Map((campaigns.data?.campaigns ?? []).map((c) => [c.id, c.name]));
  const agreementById = new Map((agreements.data?.agreements ?? []).map((a) => [a.id, a]));

  const invalidate = () => {
    void queryClient.invalidateQueries({ queryKey: ['rewards.list'] });
    void queryClient.invalidateQueries({ queryKey: ['catalog'] });
  };
  const setStatus = useMutation({
    mutationFn: (input: RouterInputs['rewards']['setStatus']) => api.rewards.setStatus.mutate(input),
    onSuccess: (reward) => {
      invalidate();
      setArchiving(null);
      toast(reward.status === 'active' ? `“${reward.title}” is back in the catalog` : reward.status === 'paused' ? `“${reward.title}” paused` : `“${reward.title}” archived`);
    },
    onError: (error) => toast(problemOf(error).message, 'bad'),
  });

  const columns: Column<Reward>[] = [
    {
      key: 'title',
      header: 'Reward',
      render: (r) => {
        const entry = entries.get(r.id);
        return (
          <div>
            <strong>{r.title}</strong>
            {entry ? (
              <div className="muted small">
                {entry.offer.title} · {formatOfferValue(entry.offer)}
              </div>
            ) : (
              <div className="muted small">
                Offer <code>{r.offerId}</code>
              </div>
            )}
          </div>
        );
      },
    },
    { key: 'partner', header: 'Partner', render: (r) => entries.get(r.id)?.partner.displayName ?? agreementById.get(r.agreementId)?.partner.displayName ?? '—' },
    { key: 'cost', header: 'Price', align: 'right', render: (r) => plural(r.stickerCost, 'sticker') },
    { key: 'stock', header: 'Stock now', align: 'right', render: (r) => <StockCell reward={r} entry={entries.get(r.id)} /> },
    { key: 'campaign', header: 'Paid from', wide: true, render: (r) => campaignNames.get(r.campaignId) ?? <code>{r.campaignId}</code> },
    { key: 'limits', header: 'Limits', wide: true, render: (r) => describeLimits(r.limits) },
    { key: 'validity', header: 'Voucher valid', wide: true, align: 'right', render: (r) => plural(r.voucherValidDays, 'day') },
    { key: 'status', header: 'Status', render: (r) => <StatusBadge status={r.status} /> },
    {
      key: 'actions',
      header: <span className="visually-hidden">Actions</span>,
      align: 'right',
      render: (r) =>
        can(WRITE) && r.status !== 'archived' ? (
          <div className="actions-cell">
            <Button size="sm" onClick={() => setEditing(r)} aria-label={`Edit ${r.title}`}>
              Edit
            </Button>
            <Button
              size="sm"
              busy={setStatus.isPending && setStatus.variables?.rewardId === r.id && setStatus.variables.status !== 'archived'}
              onClick={() => setStatus.mutate({ rewardId: r.id, status: r.status === 'active' ? 'paused' : 'active' })}
              aria-label={`${r.status === 'active' ? 'Pause' : 'Resume'} ${r.title}`}
            >
              {r.status === 'active' ? 'Pause' : 'Resume'}
            </Button>
            <Button size="sm" variant="danger" onClick={() => setArchiving(r)} aria-label={`Archive ${r.title}`}>
              Archive
            </Button>
          </div>
        ) : null,
    },
  ];

  return (
    <>
      <PageHeader
        title="Reward catalog"
        description="Partner offers your customers can exchange stickers for, at a sticker price. Stock is what the partner's pool holds right now."
        actions={
          can(WRITE) && (
            <Button variant="primary" onClick={() => setEditing('new')}>
              New reward
            </Button>
          )
        }
      />
      {catalog.isError && <ErrorState title="Live stock could not be read" error={catalog.error} retry={() => void catalog.refetch()} />}
      <Card
        actions={
          catalog.dataUpdatedAt > 0 && (
            <span className="muted small live-note" title={`Read again every ${STOCK_REFRESH_MS / 1000} seconds`}>
              <span className="live-dot" aria-hidden="true" />
              Stock as of {new Date(catalog.dataUpdatedAt).toLocaleTimeString()}
            </span>
          )
        }
        title="Rewards"
      >
        <QueryView query={rewards}>
          {({ rewards: rows }) => {
            const count = (status: Filter) => (status === 'all' ? rows.length : rows.filter((r) => r.status === status).length);
            const shown = filter === 'all' ? rows : rows.filter((r) => r.status === filter);
            return (
              <>
                {rows.length > 0 && (
                  <Tabs<Filter>
                    value={filter}
                    onChange={setFilter}
                    tabs={(['active', 'paused', 'archived', 'all'] as const).map((id) => ({ id, label: `${id.charAt(0).toUpperCase() + id.slice(1)} (${count(id)})` }))}
                  />
                )}
                <DataTable
                  caption="Rewards"
                  columns={columns}
                  rows={shown}
                  rowKey={(r) => r.id}
                  empty={
                    rows.length === 0 ? (
                      <EmptyState
                        title="The catalog is empty"
                        description="A reward lists a partner's offer, under an agreement in force, at a price in stickers of one of your campaigns."
                        action={
                          can(WRITE) && (
                            <Button variant="primary" onClick={() => setEditing('new')}>
                              New reward
                            </Button>
                          )
                        }
                      />
                    ) : (
                      <EmptyState title={`No ${filter} rewards`} />
                    )
                  }
                />
              </>
            );
          }}
        </QueryView>
      </Card>

      {editing && <RewardDialog reward={editing === 'new' ? null : editing} agreements={agreements.data?.agreements} onClose={() => setEditing(null)} onSaved={invalidate} />}
      <ConfirmDialog
        open={archiving !== null}
        title={`Archive “${archiving?.title ?? ''}”?`}
        confirmLabel="Archive reward"
        danger
        busy={setStatus.isPending}
        onClose={() => setArchiving(null)}
        onConfirm={() => archiving && setStatus.mutate({ rewardId: archiving.id, status: 'archived' })}
      >
        <p>The reward leaves the catalog for good: customers can no longer exchange stickers for it, and it cannot be resumed. To hide it for a while, pause it instead.</p>
        <p className="muted small">Vouchers already issued stay valid until they expire.</p>
      </ConfirmDialog>
    </>
  );
}

// ---- create / edit ---------------------------------------------------------------------

interface RewardDraft {
  title: string;
  description: string;
  agreementId: string;
  offerId: string;
  campaignId: string;
  stickerCost: string;
  voucherValidDays: string;
  minCodeValidityDays: string;
  perCustomer: string;
  periodCount: string;
  period: '' | 'day' | 'week' | 'month';
  sortOrder: string;
  startPaused: boolean;
}

function draftOf(reward: Reward | null): RewardDraft {
  return {
    title: reward?.title ?? '',
    description: reward?.description ?? '',
    agreementId: reward?.agreementId ?? '',
    offerId: reward?.offerId ?? '',
    campaignId: reward?.campaignId ?? '',
    stickerCost: reward ? String(reward.stickerCost) : '',
    voucherValidDays: String(reward?.voucherValidDays ?? 90),
    minCodeValidityDays: String(reward?.minCodeValidityDays ?? 7),
    perCustomer: reward?.limits.perCustomer != null ? String(reward.limits.perCustomer) : '',
    periodCount: reward?.limits.perPeriod ? String(reward.limits.perPeriod.count) : '',
    period: reward?.limits.perPeriod?.period ?? '',
    sortOrder: String(reward?.sortOrder ?? 0),
    startPaused: false,
  };
}

function within(text: string, min: number, max: number): number | null {
  const value = parseWhole(text);
  return value !== null && value >= min && value <= max ? value : null;
}

function checkDraft(draft: RewardDraft, creating: boolean) {
  const errors: Record<string, string> = {};
  if (!draft.title.trim()) errors.title = 'Name the reward as customers will see it.';
  if (creating && !draft.agreementId) errors.agreementId = 'Choose the agreement the offer comes under.';
  if (creating && !draft.offerId) errors.offerId = "Choose the partner's offer.";
  if (creating && !draft.campaignId) errors.campaignId = 'Choose the campaign whose stickers pay for it.';
  const stickerCost = within(draft.stickerCost, 1, 100_000);
  if (stickerCost === null) errors.stickerCost = 'A whole number of stickers from 1 to 100,000.';
  const voucherValidDays = within(draft.voucherValidDays, 1, 730);
  if (voucherValidDays === null) errors.voucherValidDays = 'From 1 to 730 days.';
  const minCodeValidityDays = within(draft.minCodeValidityDays, 0, 730);
  if (minCodeValidityDays === null) errors.minCodeValidityDays = 'From 0 to 730 days.';
  else if (voucherValidDays !== null && minCodeValidityDays > voucherValidDays) errors.minCodeValidityDays = 'Must not exceed how long the voucher is valid.';
  const perCustomer = draft.perCustomer.trim() === '' ? null : within(draft.perCustomer, 1, 1_000_000);
  if (draft.perCustomer.trim() !== '' && perCustomer === null) errors['limits.perCustomer'] = 'A whole number from 1, or empty for no limit.';
  const periodCount = draft.periodCount.trim() === '' ? null : within(draft.periodCount, 1, 1_000_000);
  if (draft.periodCount.trim() !== '' && periodCount === null) errors['limits.perPeriod.count'] = 'A whole number from 1, or empty for no limit.';
  if (periodCount !== null && !draft.period) errors['limits.perPeriod.period'] = 'Choose the period.';
  if (periodCount === null && draft.period && draft.periodCount.trim() === '') errors['limits.perPeriod.count'] = 'How many per period?';
  const sortOrder = within(draft.sortOrder, -1_000_000, 1_000_000);
  if (sortOrder === null) errors.sortOrder = 'A whole number; lower comes first.';
  const fields =
    stickerCost !== null && voucherValidDays !== null && minCodeValidityDays !== null && sortOrder !== null
      ? {
          title: draft.title.trim(),
          description: draft.description.trim(),
          stickerCost,
          voucherValidDays,
          minCodeValidityDays,
          sortOrder,
          limits: { perCustomer, perPeriod: periodCount !== null && draft.period ? { count: periodCount, period: draft.period } : null },
        }
      : null;
  return { errors, fields };
}

const SHOWN_FIELDS = ['title', 'description', 'agreementId', 'offerId', 'campaignId', 'stickerCost', 'voucherValidDays', 'minCodeValidityDays', 'limits.perCustomer', 'limits.perPeriod.count', 'limits.perPeriod.period', 'sortOrder'];
/** Refusals about one field that the server answers with a reason code rather than a field path. */
const CODE_FIELDS: Record<string, string> = {
  AGREEMENT_NOT_FOUND: 'agreementId',
  AGREEMENT_INACTIVE: 'agreementId',
  OFFER_NOT_IN_AGREEMENT: 'offerId',
  CAMPAIGN_NOT_FOUND: 'campaignId',
  CAMPAIGN_BURNED: 'campaignId',
};

function RewardDialog({ reward, agreements, onClose, onSaved }: { reward: Reward | null; agreements: Agreement[] | undefined; onClose: () => void; onSaved: () => void }) {
  const session = useSession();
  const toast = useToast();
  const creating = reward === null;
  const [draft, setDraft] = useState<RewardDraft>(() => draftOf(reward));
  const [clientErrors, setClientErrors] = useState<Record<string, string>>({});
  const set = (patch: Partial<RewardDraft>) => setDraft((current) => ({ ...current, ...patch }));

  const usable = (agreements ?? []).filter((a) => a.issuer.slug === session.tenant?.slug && a.status === 'active');
  const agreement = useQuery({
    queryKey: ['agreements.get', draft.agreementId],
    queryFn: () => api.agreements.get.query({ agreementId: draft.agreementId }),
    enabled: creating && draft.agreementId !== '',
  });
  const campaigns = useQuery({ queryKey: ['campaigns.list'], queryFn: () => api.campaigns.list.query() });
  const openCampaigns = (campaigns.data?.campaigns ?? []).filter((c) => c.status !== 'burned');

  const saved = (r: Reward) => {
    onSaved();
    toast(creating ? `“${r.title}” added to the catalog` : `“${r.title}” saved`);
    onClose();
  };
  const create = useMutation({ mutationFn: (input: RouterInputs['rewards']['create']) => api.rewards.create.mutate(input), onSuccess: saved });
  const update = useMutation({ mutationFn: (input: RouterInputs['rewards']['update']) => api.rewards.update.mutate(input), onSuccess: saved });
  const mutation = creating ? create : update;
  const problem = mutation.error ? problemOf(mutation.error) : null;
  const codeField = problem ? CODE_FIELDS[problem.code] : undefined;
  const errorFor = (path: string) => clientErrors[path] ?? fieldError(mutation.error, path) ?? (codeField === path ? problem?.message : undefined);

  const submit = () => {
    const checked = checkDraft(draft, creating);
    setClientErrors(checked.errors);
    if (Object.keys(checked.errors).length > 0 || !checked.fields) {
      mutation.reset();
      return;
    }
    if (creating) {
      create.mutate({ ...checked.fields, agreementId: draft.agreementId, offerId: draft.offerId, campaignId: draft.campaignId, status: draft.startPaused ? 'paused' : 'active' });
    } else {
      update.mutate({ rewardId: reward.id, ...checked.fields });
    }
  };

  const noAgreement = creating && agreements !== undefined && usable.length === 0;
  const offers = agreement.data?.offers ?? [];

  return (
    <Dialog
      open
      wide
      title={creating ? 'New reward' : `Edit “${reward.title}”`}
      onClose={onClose}
      onSubmit={noAgreement ? onClose : submit}
      footer={
        noAgreement ? (
          <Button type="submit">Close</Button>
        ) : (
          <>
            <Button onClick={onClose}>Cancel</Button>
            <Button type="submit" variant="primary" busy={mutation.isPending}>
              {creating ? 'Add to catalog' : 'Save changes'}
            </Button>
          </>
        )
      }
    >
      {noAgreement ? (
        <EmptyState
          title="No agreement in force"
          description="A reward lists a partner's offer, which needs an active agreement with that partner. Propose one, or accept the partner's proposal, on the Agreements page."
          action={<Link to="/agreements">Go to agreements</Link>}
        />
      ) : (
        <>
          <TextField label="Title" value={draft.title} onChange={(e) => set({ title: e.target.value })} error={errorFor('title')} maxLength={200} autoFocus hint="As customers see it in the app." />
          <TextAreaField label="Description" rows={2} value={draft.description} onChange={(e) => set({ description: e.target.value })} error={errorFor('description')} />
          {creating ? (
            <>
              {agreements === undefined ? (
                <Loading rows={1} label="Loading agreements…" />
              ) : (
                <div className="form-row">
                  <SelectField
                    label="Agreement"
                    value={draft.agreementId}
                    onChange={(e) => set({ agreementId: e.target.value, offerId: '' })}
                    error={errorFor('agreementId')}
                    options={[{ value: '', label: 'Choose an agreement…' }, ...usable.map((a) => ({ value: a.id, label: `${a.partner.displayName} — ${a.name}` }))]}
                    hint="Only agreements in force are listed."
                  />
                  <SelectField
                    label="Partner offer"
                    value={draft.offerId}
                    onChange={(e) => set({ offerId: e.target.value })}
                    error={errorFor('offerId') ?? (agreement.isError ? problemOf(agreement.error).message : undefined)}
                    disabled={!draft.agreementId || agreement.isPending}
                    options={[
                      { value: '', label: !draft.agreementId ? 'Choose an agreement first' : agreement.isPending ? 'Loading offers…' : offers.length ? 'Choose an offer…' : 'No offers in this agreement' },
                      ...offers.map((o) => ({ value: o.id, label: `${o.title} · ${formatOfferValue(o)}${o.status !== 'active' ? ` (${o.status})` : o.stockState !== 'ok' ? ` (stock ${o.stockState})` : ''}` })),
                    ]}
                  />
                </div>
              )}
              <SelectField
                label="Campaign"
                value={draft.campaignId}
                onChange={(e) => set({ campaignId: e.target.value })}
                error={errorFor('campaignId')}
                options={[{ value: '', label: campaigns.isPending ? 'Loading campaigns…' : 'Choose a campaign…' }, ...openCampaigns.map((c) => ({ value: c.id, label: `${c.name} (${c.status})` }))]}
                hint="Its stickers pay for the reward."
              />
            </>
          ) : (
            <p className="muted small">The partner offer, agreement and campaign of a reward stay as created; changes apply to future exchanges only.</p>
          )}
          <div className="form-row">
            <TextField label="Price (stickers)" inputMode="numeric" value={draft.stickerCost} onChange={(e) => set({ stickerCost: e.target.value })} error={errorFor('stickerCost')} />
            <TextField label="Voucher valid (days)" inputMode="numeric" value={draft.voucherValidDays} onChange={(e) => set({ voucherValidDays: e.target.value })} error={errorFor('voucherValidDays')} hint="At most; earlier if the code expires first." />
            <TextField
              label="Code valid at least (days)"
              inputMode="numeric"
              value={draft.minCodeValidityDays}
              onChange={(e) => set({ minCodeValidityDays: e.target.value })}
              error={errorFor('minCodeValidityDays')}
              hint="Codes expiring sooner are not handed out."
            />
          </div>
          <div className="form-row">
            <TextField label="Limit per customer" inputMode="numeric" placeholder="No limit" value={draft.perCustomer} onChange={(e) => set({ perCustomer: e.target.value })} error={errorFor('limits.perCustomer')} hint="Vouchers one customer may hold in all." />
            <TextField label="Limit per period" inputMode="numeric" placeholder="No limit" value={draft.periodCount} onChange={(e) => set({ periodCount: e.target.value })} error={errorFor('limits.perPeriod.count')} />
            <SelectField
              label="Period"
              value={draft.period}
              onChange={(e) => set({ period: e.target.value as RewardDraft['period'] })}
              error={errorFor('limits.perPeriod.period')}
              options={[
                { value: '', label: '—' },
                { value: 'day', label: 'Day' },
                { value: 'week', label: 'Week (from Monday)' },
                { value: 'month', label: 'Month' },
              ]}
            />
          </div>
          <div className="form-row">
            <TextField label="Catalog order" inputMode="numeric" value={draft.sortOrder} onChange={(e) => set({ sortOrder: e.target.value })} error={errorFor('sortOrder')} hint="Lower numbers come first." />
            {creating && (
              <CheckboxGroup<'paused'>
                legend="Availability"
                options={[{ value: 'paused', label: 'Add as paused', hint: 'list it later' }]}
                value={draft.startPaused ? ['paused'] : []}
                onChange={(next) => set({ startPaused: next.includes('paused') })}
              />
            )}
          </div>
          {!codeField && <FormError error={mutation.error} shownFields={SHOWN_FIELDS} />}
          {Object.keys(clientErrors).length > 0 && <Alert tone="bad" title="Check the highlighted fields." />}
          {!creating && reward && <p className="muted small">Last changed {formatDateTime(reward.updatedAt, session.tenant?.timezone)}.</p>}
        </>
      )}
    </Dialog>
  );
}
