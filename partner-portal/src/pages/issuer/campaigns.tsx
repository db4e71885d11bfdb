import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useId, useMemo, useRef, useState, type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router';
import { api, problemOf, type RouterInputs } from '../../api.ts';
import { useCan, useSession } from '../../session.tsx';
import { Alert, Badge, Button, Card, EmptyState, Field, fieldError, FormError, PageHeader, QueryView, StatusBadge, Tabs, TextAreaField, TextField, type Tone } from '../../ui/components.tsx';
import { Dialog } from '../../ui/dialog.tsx';
import { DataTable, type Column } from '../../ui/table.tsx';
import { formatDate, formatDateTime } from '../../ui/format.ts';
import { useToast } from '../../ui/toast.tsx';
import { currentRules, describeRules, isoToZonedInput, plural, problemCode, zonedInputToIso, type Campaign } from './issuer-shared.tsx';
import { buildRules, RulesEditor, rulesDraftFrom, rulesFieldPaths, type RulesDraft } from './rules-editor.tsx';

const WRITE = { scopes: ['campaigns:write' as const], tenantRole: 'issuer' as const };
const DAY_MS = 24 * 60 * 60 * 1000;
const STATUS_TONE: Record<Campaign['status'], Tone> = { scheduled: 'info', running: 'good', ended: 'warn', burned: 'neutral' };

function CampaignStatus({ status }: { status: Campaign['status'] }) {
  return <Badge tone={STATUS_TONE[status]}>{status === 'burned' ? 'Burned' : status.charAt(0).toUpperCase() + status.slice(1)}</Badge>;
}

/**
 * Campaigns: the list, and (with ?new or ?edit=cmp_…) the editor, so a reload or a
 * shared link opens the same campaign.
 */
export function CampaignsPage() {
  const [params] = useSearchParams();
  const editId = params.get('edit');
  if (params.has('new')) return <CampaignEditor />;
  if (editId) return <EditCampaign id={editId} />;
  return <CampaignList />;
}

type Filter = 'all' | Campaign['status'];

function CampaignList() {
  const session = useSession();
  const can = useCan();
  const [, setParams] = useSearchParams();
  const [filter, setFilter] = useState<Filter>('all');
  const campaigns = useQuery({ queryKey: ['campaigns.list'], queryFn: () => api.campaigns.list.query() });
  const currency = session.tenant?.currency ?? 'EUR';
  const timeZone = session.tenant?.timezone;

  const columns: Column<Campaign>[] = [
    {
      key: 'name',
      header: 'Campaign',
      render: (c) => (
        <div>
          <Link to={`?edit=${c.id}`} onClick={(e) => e.stopPropagation()}>
            <strong>{c.name}</strong>
          </Link>
          {c.description && <div className="muted small clamp">{c.description}</div>}
        </div>
      ),
    },
    { key: 'status', header: 'Status', render: (c) => <CampaignStatus status={c.status} /> },
    { key: 'period', header: 'Earning period', render: (c) => `${formatDate(c.startsAt, timeZone)} – ${formatDate(c.endsAt, timeZone)}` },
    { key: 'burn', header: 'Stickers burn', render: (c) => formatDate(c.burnAt, timeZone), wide: true },
    {
      key: 'rules',
      header: 'Rules in effect',
      wide: true,
      render: (c) => {
        const version = currentRules(c);
        const later = c.ruleVersions.filter((v) => new Date(v.effectiveFrom).getTime() > Date.now()).length;
        return (
          <div>
            {version ? describeRules(version.rules, currency) : '—'}
            {later > 0 && c.status !== 'scheduled' && <div className="muted small">{plural(later, 'version')} scheduled</div>}
          </div>
        );
      },
    },
    { key: 'stores', header: 'Stores', render: (c) => (c.storeCodes === null ? 'All stores' : plural(c.storeCodes.length, 'store')), wide: true },
    { key: 'goals', header: 'Milestones', align: 'right', render: (c) => c.milestones.length, wide: true },
  ];

  return (
    <>
      <PageHeader
        title="Campaigns"
        description="Sticker campaigns: when purchases earn stickers, by which rules, and when unspent stickers burn."
        actions={
          can(WRITE) && (
            <Button variant="primary" onClick={() => setParams({ new: '' })}>
              New campaign
            </Button>
          )
        }
      />
      <Card>
        <QueryView query={campaigns}>
          {({ campaigns: rows }) => {
            const count = (status: Filter) => (status === 'all' ? rows.length : rows.filter((c) => c.status === status).length);
            const shown = filter === 'all' ? rows : rows.filter((c) => c.status === filter);
            return (
              <>
                {rows.length > 0 && (
                  <Tabs<Filter>
                    value={filter}
                    onChange={setFilter}
                    tabs={(['all', 'running', 'scheduled', 'ended', 'burned'] as const).map((id) => ({ id, label: `${id === 'all' ? 'All' : id.charAt(0).toUpperCase() + id.slice(1)} (${count(id)})` }))}
                  />
                )}
                <DataTable
                  caption="Campaigns"
                  columns={columns}
                  rows={shown}
                  rowKey={(c) => c.id}
                  onRowClick={(c) => setParams({ edit: c.id })}
                  empty={
                    rows.length === 0 ? (
                      <EmptyState
                        title="No campaigns yet"
                        description="A campaign sets how purchases earn stickers and when they burn. Create one to start crediting customers."
                        action={
                          can(WRITE) && (
                            <Button variant="primary" onClick={() => setParams({ new: '' })}>
                              New campaign
                            </Button>
                          )
                        }
                      />
                    ) : (
                      <EmptyState title={`No ${filter} campaigns`} />
                    )
                  }
                />
              </>
            );
          }}
        </QueryView>
      </Card>
    </>
  );
}

function EditCampaign({ id }: { id: string }) {
  const campaign = useQuery({ queryKey: ['campaigns.get', id], queryFn: () => api.campaigns.get.query({ campaignId: id }) });
  return (
    <QueryView query={campaign}>
      {(data) => <CampaignEditor campaign={data} />}
    </QueryView>
  );
}

// ---- the editor -----------------------------------------------------------------------

interface MilestoneDraft {
  key: number;
  stickers: string;
  label: string;
}

interface CampaignDraft {
  name: string;
  description: string;
  terms: string;
  startsAt: string;
  endsAt: string;
  burnAt: string;
  allStores: boolean;
  storeCodes: string;
  milestones: MilestoneDraft[];
  rules: RulesDraft;
}

let milestoneKey = 1;
const STORE_CODE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

function splitCodes(text: string): string[] {
  return text
    .split(/[\s,;]+/)
    .map((code) => code.trim())
    .filter(Boolean);
}

function startOfTomorrow(timeZone: string): string {
  return `${isoToZonedInput(new Date(Date.now() + DAY_MS).toISOString(), timeZone).slice(0, 10)}T00:00`;
}

function plusDays(local: string, days: number): string {
  const at = new Date(`${local}:00Z`);
  return new Date(at.getTime() + days * DAY_MS).toISOString().slice(0, 16);
}

function draftOf(campaign: Campaign | undefined, timeZone: string, currency: string): CampaignDraft {
  if (!campaign) {
    const start = startOfTomorrow(timeZone);
    return { name: '', description: '', terms: '', startsAt: start, endsAt: plusDays(start, 30), burnAt: plusDays(start, 60), allStores: true, storeCodes: '', milestones: [], rules: rulesDraftFrom(undefined, currency) };
  }
  return {
    name: campaign.name,
    description: campaign.description,
    terms: campaign.terms,
    startsAt: isoToZonedInput(campaign.startsAt, timeZone),
    endsAt: isoToZonedInput(campaign.endsAt, timeZone),
    burnAt: isoToZonedInput(campaign.burnAt, timeZone),
    allStores: campaign.storeCodes === null,
    storeCodes: (campaign.storeCodes ?? []).join('\n'),
    milestones: campaign.milestones.map((m) => ({ key: milestoneKey++, stickers: String(m.stickers), label: m.label })),
    rules: rulesDraftFrom(campaign.ruleVersions[0]?.rules, currency),
  };
}

type CreateInput = RouterInputs['campaigns']['create'];

/** The draft checked for obvious mistakes; the server checks again and has the last word. */
function checkDraft(draft: CampaignDraft, options: { timeZone: string; currency: string; withRules: boolean; holdDays: number }) {
  const errors: Record<string, string> = {};
  if (!draft.name.trim()) errors.name = 'Give the campaign a name customers will recognise.';
  else if (draft.name.trim().length > 200) errors.name = 'At most 200 characters.';
  const startsAt = zonedInputToIso(draft.startsAt, options.timeZone);
  const endsAt = zonedInputToIso(draft.endsAt, options.timeZone);
  const burnAt = zonedInputToIso(draft.burnAt, options.timeZone);
  if (!startsAt) errors.startsAt = 'Pick the date and time purchases start earning.';
  if (!endsAt) errors.endsAt = 'Pick the date and time purchases stop earning.';
  if (!burnAt) errors.burnAt = 'Pick when unspent stickers burn.';
  // A start in the past is the server's call: its clock, not the browser's, decides.
  if (startsAt && endsAt && new Date(endsAt) <= new Date(startsAt)) errors.endsAt = 'Must be after the start.';
  if (endsAt && burnAt && new Date(burnAt) < new Date(endsAt)) errors.burnAt = 'Must not be before the end: stickers earned on the last day need time to be spent.';

  const rules = options.withRules ? buildRules(draft.rules, options.currency) : { rules: null, errors: {} };
  Object.assign(errors, rules.errors);
  const holdDays = rules.rules?.holdDays ?? options.holdDays;
  if (!errors.burnAt && endsAt && burnAt && new Date(burnAt).getTime() < new Date(endsAt).getTime() + holdDays * DAY_MS) {
    errors.burnAt = `Must be at least ${plural(holdDays, 'day')} (the hold) after the end, so the last purchases' stickers can be spent.`;
  }

  const codes = draft.allStores ? null : splitCodes(draft.storeCodes);
  if (codes !== null) {
    const bad = codes.filter((code) => !STORE_CODE.test(code));
    if (codes.length === 0) errors.storeCodes = 'List at least one store code, or choose all stores.';
    else if (bad.length) errors.storeCodes = `Not a store code: ${bad.slice(0, 3).join(', ')}. Use letters, digits, dots, hyphens or underscores.`;
  }

  const milestones = draft.milestones.map((m, index) => {
    const stickers = /^\d+$/.test(m.stickers.trim()) ? Number(m.stickers.trim()) : NaN;
    if (!(stickers >= 1 && stickers <= 100_000)) errors[`milestones.${index}.stickers`] = 'A whole number from 1 to 100,000.';
    if (!m.label.trim()) errors[`milestones.${index}.label`] = 'Name the goal, e.g. "Frying pan".';
    return { stickers, label: m.label.trim() };
  });

  const base = { name: draft.name.trim(), description: draft.description.trim(), terms: draft.terms.trim(), startsAt: startsAt ?? '', endsAt: endsAt ?? '', burnAt: burnAt ?? '', storeCodes: codes, milestones };
  return { errors, base, rules: rules.rules };
}

function CampaignEditor({ campaign }: { campaign?: Campaign }) {
  const session = useSession();
  const timeZone = session.tenant?.timezone ?? 'UTC';
  const currency = session.tenant?.currency ?? 'EUR';
  const queryClient = useQueryClient();
  const toast = useToast();
  const can = useCan();
  const [, setParams] = useSearchParams();
  const [draft, setDraft] = useState<CampaignDraft>(() => draftOf(campaign, timeZone, currency));
  const [clientErrors, setClientErrors] = useState<Record<string, string>>({});
  const [attempt, setAttempt] = useState(0);
  const formRef = useRef<HTMLFormElement>(null);
  const editing = campaign !== undefined;
  const scheduleLocked = editing && campaign.status !== 'scheduled';
  const storesId = useId();
  const writable = can(WRITE);

  const done = (message: string) => {
    void queryClient.invalidateQueries({ queryKey: ['campaigns.list'] });
    void queryClient.invalidateQueries({ queryKey: ['campaigns.get'] });
    toast(message);
    setParams({});
  };
  const create = useMutation({ mutationFn: (input: CreateInput) => api.campaigns.create.mutate(input), onSuccess: (c) => done(`Campaign “${c.name}” created`) });
  const update = useMutation({ mutationFn: (input: RouterInputs['campaigns']['update']) => api.campaigns.update.mutate(input), onSuccess: (c) => done(`Campaign “${c.name}” saved`) });
  const mutation = editing ? update : create;

  // After a refused submit, move focus to the first field with a message.
  useEffect(() => {
    if (attempt === 0) return;
    formRef.current?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
  }, [attempt, mutation.error]);

  const errorFor = (path: string) => clientErrors[path] ?? fieldError(mutation.error, path);
  const storeError = clientErrors.storeCodes ?? storeCodesError(mutation.error, splitCodes(draft.storeCodes));
  const set = (patch: Partial<CampaignDraft>) => setDraft((current) => ({ ...current, ...patch }));

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setAttempt((n) => n + 1);
    const maxHold = Math.max(0, ...(campaign?.ruleVersions.map((v) => v.rules.holdDays) ?? [0]));
    const checked = checkDraft(draft, { timeZone, currency, withRules: !editing, holdDays: maxHold });
    setClientErrors(checked.errors);
    if (Object.keys(checked.errors).length > 0) {
      mutation.reset();
      return;
    }
    if (!editing) {
      create.mutate({ ...checked.base, rules: checked.rules! });
      return;
    }
    const changed = <K extends 'startsAt' | 'endsAt' | 'burnAt'>(key: K) => new Date(checked.base[key]).getTime() !== new Date(campaign[key]).getTime();
    const storesChanged = JSON.stringify(checked.base.storeCodes?.map((c) => c.toUpperCase()) ?? null) !== JSON.stringify(campaign.storeCodes);
    update.mutate({
      campaignId: campaign.id,
      name: checked.base.name,
      description: checked.base.description,
      terms: checked.base.terms,
      milestones: checked.base.milestones,
      ...(!scheduleLocked && changed('startsAt') && { startsAt: checked.base.startsAt }),
      ...(!scheduleLocked && changed('endsAt') && { endsAt: checked.base.endsAt }),
      ...(!scheduleLocked && changed('burnAt') && { burnAt: checked.base.burnAt }),
      ...(!scheduleLocked && storesChanged && { storeCodes: checked.base.storeCodes }),
    });
  };

  const shownFields = [
    'name',
    'description',
    'terms',
    'startsAt',
    'endsAt',
    'burnAt',
    'storeCodes',
    ...splitCodes(draft.storeCodes).map((_, i) => `storeCodes.${i}`),
    ...draft.milestones.flatMap((_, i) => [`milestones.${i}.stickers`, `milestones.${i}.label`]),
    ...(editing ? [] : rulesFieldPaths(draft.rules)),
  ];
  const serverProblem = problemCode(mutation.error);

  return (
    <>
      <PageHeader
        back={<Link to="/campaigns">← All campaigns</Link>}
        title={editing ? campaign.name : 'New campaign'}
        description={
          editing ? (
            <span className="row">
              <CampaignStatus status={campaign.status} /> <code>{campaign.id}</code>
            </span>
          ) : (
            'Set the earning period, the accrual rules and the goals customers see. Times are in your tenant time zone.'
          )
        }
      />
      <form ref={formRef} onSubmit={submit} noValidate className="campaign-editor" aria-label={editing ? 'Edit campaign' : 'New campaign'}>
        <fieldset disabled={!writable} className="plain-fieldset">
          <Card title="Campaign">
            <TextField label="Name" value={draft.name} onChange={(e) => set({ name: e.target.value })} error={errorFor('name')} maxLength={200} autoFocus={!editing} />
            <TextAreaField label="Description" rows={2} value={draft.description} onChange={(e) => set({ description: e.target.value })} error={errorFor('description')} hint="Shown to customers in the app." />
            <TextAreaField label="Terms and conditions" rows={3} value={draft.terms} onChange={(e) => set({ terms: e.target.value })} error={errorFor('terms')} />
          </Card>

          <Card title="Dates">
            {scheduleLocked && <Alert tone="info" title="The campaign has started: its dates and stores can no longer change." />}
            {serverProblem === 'CAMPAIGN_ALREADY_STARTED' && <Alert tone="bad" title={problemOf(mutation.error).message} />}
            <div className="form-row">
              <TextField
                label="Starts"
                type="datetime-local"
                value={draft.startsAt}
                onChange={(e) => set({ startsAt: e.target.value })}
                error={errorFor('startsAt')}
                disabled={scheduleLocked}
                hint="Purchases from this moment earn stickers."
              />
              <TextField label="Ends" type="datetime-local" value={draft.endsAt} onChange={(e) => set({ endsAt: e.target.value })} error={errorFor('endsAt')} disabled={scheduleLocked} hint="Purchases up to (not including) this moment earn." />
              <TextField
                label="Stickers burn"
                type="datetime-local"
                value={draft.burnAt}
                onChange={(e) => set({ burnAt: e.target.value })}
                error={errorFor('burnAt')}
                disabled={scheduleLocked}
                hint="Unspent stickers are gone after this."
              />
            </div>
            <p className="muted small">Times are in {timeZone}.</p>
          </Card>

          <Card title="Stores">
            <fieldset className="field" disabled={scheduleLocked}>
              <legend className="visually-hidden">Eligible stores</legend>
              <label className="checkbox">
                <input type="radio" name={`${storesId}-mode`} checked={draft.allStores} onChange={() => set({ allStores: true })} />
                <span>All stores</span>
              </label>
              <label className="checkbox">
                <input type="radio" name={`${storesId}-mode`} checked={!draft.allStores} onChange={() => set({ allStores: false })} />
                <span>Only these stores</span>
              </label>
            </fieldset>
            {!draft.allStores && (
              <TextAreaField
                label="Store codes"
                rows={3}
                value={draft.storeCodes}
                onChange={(e) => set({ storeCodes: e.target.value })}
                error={storeError}
                disabled={scheduleLocked}
                hint="The codes your tills send, separated by commas, spaces or new lines (e.g. MSK-001)."
              />
            )}
          </Card>

          {!editing && (
            <Card title="Accrual rules">
              <RulesEditor draft={draft.rules} onChange={(rules) => set({ rules })} errorFor={errorFor} currency={currency} />
            </Card>
          )}

          <Card title="Milestones">
            <p className="muted small">Goals customers see progress towards (e.g. “Frying pan at 10 stickers”).</p>
            {draft.milestones.length === 0 && <p className="muted small">No milestones.</p>}
            {draft.milestones.map((m, index) => (
              <div className="repeat-row" key={m.key} role="group" aria-label={`Milestone ${index + 1}`}>
                <TextField
                  label="Stickers"
                  inputMode="numeric"
                  value={m.stickers}
                  onChange={(e) => set({ milestones: draft.milestones.map((x, i) => (i === index ? { ...x, stickers: e.target.value } : x)) })}
                  error={errorFor(`milestones.${index}.stickers`)}
                />
                <TextField
                  label="Goal"
                  value={m.label}
                  onChange={(e) => set({ milestones: draft.milestones.map((x, i) => (i === index ? { ...x, label: e.target.value } : x)) })}
                  error={errorFor(`milestones.${index}.label`)}
                />
                <Button size="sm" variant="ghost" aria-label={`Remove milestone ${index + 1}`} onClick={() => set({ milestones: draft.milestones.filter((_, i) => i !== index) })}>
                  Remove
                </Button>
              </div>
            ))}
            {errorFor('milestones') && (
              <div className="field-error" role="alert">
                {errorFor('milestones')}
              </div>
            )}
            <Button size="sm" onClick={() => set({ milestones: [...draft.milestones, { key: milestoneKey++, stickers: '', label: '' }] })}>
              Add milestone
            </Button>
          </Card>
        </fieldset>

        {serverProblem !== 'CAMPAIGN_ALREADY_STARTED' && <FormError error={mutation.error} shownFields={shownFields} />}
        {Object.keys(clientErrors).length > 0 && <Alert tone="bad" title="Check the highlighted fields." />}
        {writable && (
          <div className="form-actions">
            <Button type="submit" variant="primary" busy={mutation.isPending}>
              {editing ? 'Save changes' : 'Create campaign'}
            </Button>
            <Button onClick={() => setParams({})}>Cancel</Button>
          </div>
        )}
      </form>

      {editing && <RuleVersions campaign={campaign} />}
    </>
  );
}

/** Server messages about single store codes (storeCodes.3) gathered into one, naming the codes. */
function storeCodesError(error: unknown, codes: string[]): string | undefined {
  if (!error) return undefined;
  const fields = problemOf(error).fields;
  const messages = Object.entries(fields)
    .filter(([path]) => path === 'storeCodes' || path.startsWith('storeCodes.'))
    .map(([path, message]) => {
      const index = Number(path.split('.')[1]);
      return Number.isInteger(index) && codes[index] ? `${codes[index]}: ${message}` : message;
    });
  return messages.length ? messages.join('; ') : undefined;
}

// ---- rules versions ---------------------------------------------------------------------

function RuleVersions({ campaign }: { campaign: Campaign }) {
  const session = useSession();
  const can = useCan();
  const currency = session.tenant?.currency ?? 'EUR';
  const timeZone = session.tenant?.timezone;
  const [open, setOpen] = useState(false);
  const inEffect = currentRules(campaign);
  const canSchedule = can(WRITE) && (campaign.status === 'scheduled' || campaign.status === 'running');
  type Version = Campaign['ruleVersions'][number];
  const columns: Column<Version>[] = [
    { key: 'from', header: 'Effective from', render: (v) => formatDateTime(v.effectiveFrom, timeZone) },
    {
      key: 'state',
      header: 'State',
      render: (v) =>
        v === inEffect && campaign.status === 'running' ? <StatusBadge status="active" /> : new Date(v.effectiveFrom).getTime() > Date.now() ? <Badge tone="info">Scheduled</Badge> : <Badge>Past</Badge>,
    },
    { key: 'rules', header: 'Rules', render: (v) => describeRules(v.rules, currency) },
    { key: 'bonuses', header: 'SKU bonuses', wide: true, render: (v) => (v.rules.skuBonuses.length ? v.rules.skuBonuses.map((b) => `${b.sku} +${b.stickersPerUnit}`).join(', ') : '—') },
  ];
  return (
    <Card
      title="Accrual rules versions"
      actions={
        canSchedule && (
          <Button size="sm" onClick={() => setOpen(true)}>
            Schedule new rules
          </Button>
        )
      }
    >
      <p className="muted small">Each purchase earns by the version in effect at its time; new rules never change what earlier purchases earned.</p>
      <DataTable caption="Rules versions" columns={columns} rows={[...campaign.ruleVersions].reverse()} rowKey={(v) => v.effectiveFrom} empty={<EmptyState title="No rules yet" />} />
      {open && <ScheduleRulesDialog campaign={campaign} onClose={() => setOpen(false)} />}
    </Card>
  );
}

function ScheduleRulesDialog({ campaign, onClose }: { campaign: Campaign; onClose: () => void }) {
  const session = useSession();
  const timeZone = session.tenant?.timezone ?? 'UTC';
  const currency = session.tenant?.currency ?? 'EUR';
  const queryClient = useQueryClient();
  const toast = useToast();
  const latest = campaign.ruleVersions.at(-1);
  const [effectiveFrom, setEffectiveFrom] = useState(() => {
    const after = Math.max(Date.now() + 60 * 60 * 1000, latest ? new Date(latest.effectiveFrom).getTime() + 60 * 60 * 1000 : 0);
    return isoToZonedInput(new Date(Math.ceil(after / (60 * 60 * 1000)) * 60 * 60 * 1000).toISOString(), timeZone);
  });
  const [rules, setRules] = useState<RulesDraft>(() => rulesDraftFrom(latest?.rules, currency));
  const [clientErrors, setClientErrors] = useState<Record<string, string>>({});
  const schedule = useMutation({
    mutationFn: (input: RouterInputs['campaigns']['scheduleRules']) => api.campaigns.scheduleRules.mutate(input),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: ['campaigns.get', campaign.id] });
      void queryClient.invalidateQueries({ queryKey: ['campaigns.list'] });
      toast('New rules scheduled');
      onClose();
    },
  });
  const code = problemCode(schedule.error);
  const errorFor = (path: string) => {
    if (clientErrors[path]) return clientErrors[path];
    // The hold-before-burn check names burnAt, which this dialog does not edit: show it at the hold.
    if (path === 'rules.holdDays') return fieldError(schedule.error, path) ?? fieldError(schedule.error, 'burnAt');
    return fieldError(schedule.error, path);
  };
  const effectiveError = clientErrors.effectiveFrom ?? fieldError(schedule.error, 'effectiveFrom') ?? (code === 'RULES_NOT_RETROACTIVE' ? problemOf(schedule.error).message : undefined);
  const shown = useMemo(() => ['effectiveFrom', 'burnAt', ...rulesFieldPaths(rules)], [rules]);

  return (
    <Dialog
      open
      wide
      title="Schedule new rules"
      onClose={onClose}
      onSubmit={() => {
        const built = buildRules(rules, currency);
        const errors = { ...built.errors };
        const at = zonedInputToIso(effectiveFrom, timeZone);
        if (!at) errors.effectiveFrom = 'Pick when the new rules take effect.';
        else if (new Date(at) >= new Date(campaign.endsAt)) errors.effectiveFrom = `Must be before the campaign ends (${formatDateTime(campaign.endsAt, timeZone)}).`;
        else if (latest && new Date(at) <= new Date(latest.effectiveFrom)) errors.effectiveFrom = `Must be after the latest version (${formatDateTime(latest.effectiveFrom, timeZone)}).`;
        setClientErrors(errors);
        if (Object.keys(errors).length > 0 || !built.rules || !at) {
          schedule.reset();
          return;
        }
        schedule.mutate({ campaignId: campaign.id, effectiveFrom: at, rules: built.rules });
      }}
      footer={
        <>
          <Button onClick={onClose}>Cancel</Button>
          <Button type="submit" variant="primary" busy={schedule.isPending}>
            Schedule rules
          </Button>
        </>
      }
    >
      <p className="muted small">Purchases before this moment keep the rules of their time. Times are in {timeZone}.</p>
      <Field label="Effective from" id="rules-effective-from" error={effectiveError}>
        <input
          id="rules-effective-from"
          className="input"
          type="datetime-local"
          value={effectiveFrom}
          onChange={(e) => setEffectiveFrom(e.target.value)}
          aria-invalid={effectiveError ? true : undefined}
          aria-describedby={effectiveError ? 'rules-effective-from-error' : undefined}
        />
      </Field>
      <RulesEditor draft={rules} onChange={setRules} errorFor={errorFor} currency={currency} />
      {code !== 'RULES_NOT_RETROACTIVE' && <FormError error={schedule.error} shownFields={shown} />}
    </Dialog>
  );
}
