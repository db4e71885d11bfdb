import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, problemOf, type RouterInputs } from '../../api.ts';
import { useCan, useSession } from '../../session.tsx';
import {
  Alert,
  Badge,
  Button,
  Card,
  CheckboxGroup,
  EmptyState,
  fieldError,
  FormError,
  PageHeader,
  QueryView,
  SelectField,
  StatusBadge,
  Tabs,
  TextAreaField,
  TextField,
} from '../../ui/components.tsx';
import { Dialog } from '../../ui/dialog.tsx';
import { formatDate, formatDateTime, formatNumber, humanize } from '../../ui/format.ts';
import { DataTable, type Column } from '../../ui/table.tsx';
import { useToast } from '../../ui/toast.tsx';
import { currencyDigits, parseMoney } from '../../ui/money.ts';
import { describeTerms, MODEL_OPTIONS, type Agreement, type ModelType } from './admin-common.tsx';

type StatusFilter = 'all' | 'proposed' | 'active' | 'suspended' | 'closed';
const CLOSED = ['ended', 'declined', 'withdrawn'];

/** Which side of an agreement a tenant is on (null: the operator looks at it). */
export function sideIn(agreement: Agreement, slug: string | null): 'issuer' | 'partner' | null {
  if (slug === null) return null;
  return agreement.issuer.slug === slug ? 'issuer' : 'partner';
}

/** In force, or why not. */
function ForceBadge({ agreement }: { agreement: Agreement }) {
  if (agreement.status !== 'active') return null;
  if (agreement.inForce) return <Badge tone="good">In force</Badge>;
  const now = Date.now();
  if (new Date(agreement.validFrom).getTime() > now) return <Badge tone="info">Starts {formatDate(agreement.validFrom)}</Badge>;
  if (agreement.validUntil && new Date(agreement.validUntil).getTime() <= now) return <Badge tone="neutral">Expired</Badge>;
  return <Badge tone="warn">A tenant is suspended</Badge>;
}

function validity(agreement: Agreement): string {
  return agreement.validUntil ? `${formatDate(agreement.validFrom)} – ${formatDate(agreement.validUntil)}` : `from ${formatDate(agreement.validFrom)}, open-ended`;
}

/** The agreements table, for a tenant (its counterparty and side) or the operator (both parties). */
export function AgreementsTable({ rows, viewer, onOpen, empty }: { rows: Agreement[]; viewer: string | null; onOpen: (agreement: Agreement) => void; empty: React.ReactNode }) {
  const columns: Column<Agreement>[] = [
    {
      key: 'name',
      header: 'Agreement',
      render: (agreement) => {
        const side = sideIn(agreement, viewer);
        return (
          <div className="cell-stack">
            <strong>{agreement.name}</strong>
            <span className="cell-sub">
              {side === null
                ? `${agreement.issuer.displayName} (issuer) · ${agreement.partner.displayName} (partner)`
                : side === 'issuer'
                  ? `with ${agreement.partner.displayName}, your partner`
                  : `with ${agreement.issuer.displayName}, your issuer`}
            </span>
          </div>
        );
      },
    },
    {
      key: 'terms',
      header: 'Terms',
      render: (agreement) => (
        <div className="cell-stack">
          <span className="terms">{describeTerms(agreement.model, agreement.currency, agreement.issuer.displayName, agreement.partner.displayName)}</span>
          <span className="cell-sub">
            {agreement.offerIds.length} {agreement.offerIds.length === 1 ? 'offer' : 'offers'}
            {agreement.monthlyCap !== null && ` · at most ${formatNumber(agreement.monthlyCap)} codes a month`}
          </span>
        </div>
      ),
    },
    { key: 'validity', header: 'Valid', wide: true, render: (agreement) => <span className="small">{validity(agreement)}</span> },
    {
      key: 'status',
      header: 'Status',
      render: (agreement) => (
        <span className="badge-list">
          <StatusBadge status={agreement.status} />
          <ForceBadge agreement={agreement} />
          {agreement.status === 'proposed' && viewer !== null && (sideIn(agreement, viewer) === agreement.proposed.side ? <Badge tone="neutral">Awaiting them</Badge> : <Badge tone="warn">Awaiting you</Badge>)}
        </span>
      ),
    },
  ];
  return <DataTable caption="Agreements" columns={columns} rows={rows} rowKey={(agreement) => agreement.id} onRowClick={onOpen} empty={empty} />;
}

export function filterAgreements(rows: Agreement[], filter: StatusFilter): Agreement[] {
  if (filter === 'all') return rows;
  if (filter === 'closed') return rows.filter((agreement) => CLOSED.includes(agreement.status));
  return rows.filter((agreement) => agreement.status === filter);
}

export function StatusTabs({ value, onChange, rows }: { value: StatusFilter; onChange: (next: StatusFilter) => void; rows: Agreement[] }) {
  const count = (filter: StatusFilter) => filterAgreements(rows, filter).length;
  return (
    <Tabs
      tabs={(['all', 'proposed', 'active', 'suspended', 'closed'] as const).map((id) => ({ id, label: `${id === 'closed' ? 'Ended' : humanize(id)} (${count(id)})` }))}
      value={value}
      onChange={onChange}
    />
  );
}

export function AgreementsPage() {
  const session = useSession();
  const can = useCan();
  const canWrite = can({ scopes: ['agreements:write'] });
  const agreements = useQuery({ queryKey: ['agreements.list'], queryFn: () => api.agreements.list.query() });
  const [filter, setFilter] = useState<StatusFilter>('all');
  const [openId, setOpenId] = useState<string | null>(null);
  const [proposing, setProposing] = useState(false);
  const open = agreements.data?.agreements.find((agreement) => agreement.id === openId) ?? null;

  return (
    <>
      <PageHeader
        title="Agreements"
        description="What you and other coalition members agreed: which partner offers an issuer may give out as rewards, and who pays whom for each code. Nothing is in force until the other side accepts."
        actions={
          canWrite && (
            <Button variant="primary" onClick={() => setProposing(true)}>
              Propose agreement
            </Button>
          )
        }
      />
      <QueryView query={agreements}>
        {(data) => (
          <>
            {data.agreements.some((agreement) => agreement.status === 'proposed' && agreement.proposed.side !== sideIn(agreement, session.tenant?.slug ?? null)) && (
              <Alert tone="warn" title="Proposals await your answer">
                Open a proposal marked “Awaiting you” to accept or decline it.
              </Alert>
            )}
            <StatusTabs value={filter} onChange={setFilter} rows={data.agreements} />
            <Card>
              <AgreementsTable
                rows={filterAgreements(data.agreements, filter)}
                viewer={session.tenant?.slug ?? null}
                onOpen={(agreement) => setOpenId(agreement.id)}
                empty={
                  <EmptyState
                    title={filter === 'all' ? 'No agreements yet' : 'None with this status'}
                    description={filter === 'all' ? 'Propose terms to an issuer or partner of the coalition; they accept or decline.' : undefined}
                    action={filter === 'all' && canWrite ? <Button onClick={() => setProposing(true)}>Propose agreement</Button> : undefined}
                  />
                }
              />
            </Card>
          </>
        )}
      </QueryView>
      <AgreementDialog agreement={open} viewer={session.tenant?.slug ?? null} canWrite={canWrite} onClose={() => setOpenId(null)} />
      {canWrite && <ProposeDialog open={proposing} onClose={() => setProposing(false)} />}
    </>
  );
}

type Step = 'accept' | 'decline' | 'withdraw' | 'suspended' | 'active' | 'ended';

const STEP_LABELS: Record<Step, { button: string; title: string; done: string; explain: string }> = {
  accept: { button: 'Accept', title: 'Accept this agreement?', done: 'Agreement accepted: it is in force', explain: 'It comes into force at once: the issuer may list the offers as rewards, and settlement follows these terms.' },
  decline: { button: 'Decline', title: 'Decline this proposal?', done: 'Proposal declined', explain: 'The other side is told; they can propose new terms.' },
  withdraw: { button: 'Withdraw', title: 'Withdraw your proposal?', done: 'Proposal withdrawn', explain: 'The other side can no longer accept it.' },
  suspended: { button: 'Suspend', title: 'Suspend this agreement?', done: 'Agreement suspended', explain: 'No new exchanges happen under it until it is resumed by your side (or the coalition operator). Codes already issued stay valid.' },
  active: { button: 'Resume', title: 'Resume this agreement?', done: 'Agreement resumed', explain: 'Exchanges under it are possible again.' },
  ended: { button: 'End', title: 'End this agreement for good?', done: 'Agreement ended', explain: 'No new exchanges happen under it, ever. Codes already issued stay valid and are settled as usual.' },
};

/** The steps a viewer may take now (the server refuses anything else). */
export function stepsFor(agreement: Agreement, viewer: string | null): Step[] {
  const side = sideIn(agreement, viewer);
  switch (agreement.status) {
    case 'proposed':
      if (side === null) return [];
      return agreement.proposed.side === side ? ['withdraw'] : ['accept', 'decline'];
    case 'active':
      return ['suspended', 'ended'];
    case 'suspended':
      return side === null || agreement.lastStatusChange?.side === side ? ['active', 'ended'] : ['ended'];
    default:
      return [];
  }
}

/** Details, history, and the status changes the viewer may make. */
export function AgreementDialog({ agreement, viewer, canWrite, onClose }: { agreement: Agreement | null; viewer: string | null; canWrite: boolean; onClose: () => void }) {
  const queryClient = useQueryClient();
  const toast = useToast();
  const [step, setStep] = useState<Step | null>(null);
  const [reason, setReason] = useState('');
  const detail = useQuery({
    queryKey: ['agreements.get', agreement?.id],
    queryFn: () => api.agreements.get.query({ agreementId: agreement!.id }),
    enabled: agreement !== null && viewer !== null,
  });
  const change = useMutation({
    mutationFn: async ({ id, step: chosen }: { id: string; step: Step }) => {
      const why = reason.trim() ? { reason: reason.trim() } : {};
      if (viewer === null) return api.operator.agreements.setStatus.mutate({ agreementId: id, status: chosen as 'suspended' | 'active' | 'ended', ...why });
      if (chosen === 'accept') return api.agreements.accept.mutate({ agreementId: id });
      if (chosen === 'decline') return api.agreements.decline.mutate({ agreementId: id, ...why });
      if (chosen === 'withdraw') return api.agreements.withdraw.mutate({ agreementId: id, ...why });
      return api.agreements.setStatus.mutate({ agreementId: id, status: chosen, ...why });
    },
    onSuccess: (_result, { step: chosen }) => {
      void queryClient.invalidateQueries({ queryKey: ['agreements.list'] });
      void queryClient.invalidateQueries({ queryKey: ['operator.agreements.list'] });
      void queryClient.invalidateQueries({ queryKey: ['agreements.get'] });
      toast(STEP_LABELS[chosen].done);
      setStep(null);
      setReason('');
    },
  });
  const close = () => {
    setStep(null);
    setReason('');
    change.reset();
    onClose();
  };
  if (!agreement) return <Dialog open={false} title="" onClose={close}>{null}</Dialog>;
  const steps = canWrite ? stepsFor(agreement, viewer) : [];
  const side = sideIn(agreement, viewer);
  const history = [
    { at: agreement.proposed.at, text: `Proposed by the ${agreement.proposed.side}` },
    ...(agreement.accepted ? [{ at: agreement.accepted.at, text: `Accepted by the ${agreement.accepted.side}` }] : []),
    ...(agreement.lastStatusChange
      ? [{ at: agreement.lastStatusChange.at, text: `${humanize(agreement.lastStatusChange.status)} by the ${agreement.lastStatusChange.side}${agreement.lastStatusChange.reason ? `: “${agreement.lastStatusChange.reason}”` : ''}` }]
      : []),
  ];
  const offers = detail.data?.offers ?? [];

  return (
    <Dialog
      open
      wide
      title={agreement.name}
      onClose={close}
      onSubmit={step ? () => change.mutate({ id: agreement.id, step }) : undefined}
      footer={
        step ? (
          <>
            <Button onClick={() => (setStep(null), change.reset())}>Back</Button>
            <Button type="submit" variant={step === 'accept' || step === 'active' ? 'primary' : 'danger'} busy={change.isPending}>
              {STEP_LABELS[step].button}
            </Button>
          </>
        ) : (
          <>
            {steps.map((candidate) => (
              <Button key={candidate} variant={candidate === 'accept' || candidate === 'active' ? 'primary' : candidate === 'ended' || candidate === 'decline' ? 'danger' : 'secondary'} onClick={() => setStep(candidate)}>
                {STEP_LABELS[candidate].button}…
              </Button>
            ))}
            <Button onClick={close}>Close</Button>
          </>
        )
      }
    >
      {step ? (
        <div className="stack">
          <FormError error={change.error} shownFields={['reason']} />
          <p>
            <strong>{STEP_LABELS[step].title}</strong> {STEP_LABELS[step].explain}
          </p>
          {step !== 'accept' && (
            <TextAreaField
              label="Reason (optional)"
              hint="Shown to the other side and kept in both audit logs."
              maxLength={500}
              value={reason}
              onChange={(e) => setReason(e.target.value)}
              error={fieldError(change.error, 'reason')}
            />
          )}
        </div>
      ) : (
        <div className="stack">
          <p className="terms">{describeTerms(agreement.model, agreement.currency, agreement.issuer.displayName, agreement.partner.displayName)}.</p>
          <dl className="kv">
            <dt>Status</dt>
            <dd className="badge-list">
              <StatusBadge status={agreement.status} /> <ForceBadge agreement={agreement} />
            </dd>
            <dt>Issuer</dt>
            <dd>
              {agreement.issuer.displayName} <span className="muted">({agreement.issuer.slug}){side === 'issuer' && ' — you'}</span>
            </dd>
            <dt>Partner</dt>
            <dd>
              {agreement.partner.displayName} <span className="muted">({agreement.partner.slug}){side === 'partner' && ' — you'}</span>
            </dd>
            <dt>Valid</dt>
            <dd>{validity(agreement)}</dd>
            <dt>Monthly cap</dt>
            <dd>{agreement.monthlyCap === null ? 'No cap' : `${formatNumber(agreement.monthlyCap)} codes per calendar month`}</dd>
            <dt>Calendar</dt>
            <dd>{agreement.timezone} (months for the cap and settlement)</dd>
            <dt>Currency</dt>
            <dd>{agreement.currency}</dd>
          </dl>
          <div>
            <h3>Offers covered</h3>
            {viewer !== null && detail.isPending ? (
              <p className="muted">Loading the offers…</p>
            ) : offers.length > 0 ? (
              <ul>
                {offers.map((offer) => (
                  <li key={offer.id}>
                    {offer.title} <span className="muted small mono">{offer.id}</span> <StatusBadge status={offer.status} />
                  </li>
                ))}
              </ul>
            ) : (
              <p>
                {agreement.offerIds.map((id) => (
                  <code key={id}>{id} </code>
                ))}
                {viewer !== null && side === 'issuer' && agreement.status === 'proposed' && <span className="muted small"> — the partner shows the offers' details once it accepts.</span>}
              </p>
            )}
          </div>
          <div>
            <h3>History</h3>
            <ul className="timeline">
              {history.map((entry) => (
                <li key={entry.at + entry.text}>
                  <span>{entry.text}</span> <span className="muted small">{formatDateTime(entry.at)}</span>
                </li>
              ))}
            </ul>
          </div>
          {!canWrite && viewer !== null && <p className="muted small">Your role can read agreements; a finance user or admin makes changes.</p>}
        </div>
      )}
    </Dialog>
  );
}

// ---- propose --------------------------------------------------------------------------

type ProposeInput = RouterInputs['agreements']['propose'];

function ProposeDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const session = useSession();
  const can = useCan();
  const queryClient = useQueryClient();
  const toast = useToast();
  const roles = session.tenant?.roles ?? [];
  const [side, setSide] = useState<'issuer' | 'partner'>(roles.includes('issuer') ? 'issuer' : 'partner');
  const [counterparty, setCounterparty] = useState('');
  const [name, setName] = useState('');
  const [offerText, setOfferText] = useState('');
  const [offerIds, setOfferIds] = useState<string[]>([]);
  const [modelType, setModelType] = useState<ModelType>('issuer_pays_per_redeemed');
  const [amount, setAmount] = useState('');
  const [percent, setPercent] = useState('');
  const [currency, setCurrency] = useState(session.tenant?.currency ?? 'EUR');
  const [validFrom, setValidFrom] = useState('');
  const [validUntil, setValidUntil] = useState('');
  const [cap, setCap] = useState('');
  const [checked, setChecked] = useState(false);
  const pickOffers = side === 'partner' && can({ tenantRole: 'partner', scopes: ['pools:write'] });
  const myOffers = useQuery({ queryKey: ['offers.list', 'for-agreement'], queryFn: () => api.offers.list.query(), enabled: open && pickOffers });

  const chosenOffers = pickOffers ? offerIds : offerText.split(/[\s,]+/).filter(Boolean);
  const percentModel = modelType === 'partner_pays_percent_of_order';
  const amountMinor = percentModel ? null : parseMoney(amount, currency);
  const percentValue = percentModel && /^\d+(\.\d{1,2})?$/.test(percent.trim()) ? Number(percent) : null;
  const problems = {
    counterparty: !counterparty.trim() ? `Enter the ${side === 'issuer' ? 'partner' : 'issuer'}'s tenant id (slug).` : undefined,
    name: !name.trim() ? 'Name the agreement so both sides recognise it.' : undefined,
    offers: chosenOffers.length === 0 ? 'Name at least one offer.' : undefined,
    amount: !percentModel && (amountMinor === null || amountMinor < 1) ? `Enter an amount such as ${currencyDigits(currency) ? '50.00' : '50'}.` : undefined,
    percent: percentModel && (percentValue === null || percentValue <= 0 || percentValue > 100) ? 'Enter a percentage between 0.01 and 100.' : undefined,
    cap: cap.trim() && !/^[1-9]\d*$/.test(cap.trim()) ? 'A whole number of codes, or empty for no cap.' : undefined,
  };
  const invalid = Object.values(problems).some(Boolean);
  const shown = (message: string | undefined) => (checked ? message : undefined);

  const propose = useMutation({
    mutationFn: () => {
      const input: ProposeInput = {
        ...(side === 'issuer' ? { partner: counterparty.trim() } : { issuer: counterparty.trim() }),
        name: name.trim(),
        offerIds: chosenOffers,
        model: percentModel ? { type: 'partner_pays_percent_of_order', percent: percentValue! } : { type: modelType as Exclude<ModelType, 'partner_pays_percent_of_order'>, amountMinor: amountMinor! },
        currency: currency.trim().toUpperCase(),
        ...(validFrom && { validFrom: new Date(validFrom).toISOString() }),
        validUntil: validUntil ? new Date(validUntil).toISOString() : null,
        monthlyCap: cap.trim() ? Number(cap) : null,
      };
      return api.agreements.propose.mutate(input);
    },
    onSuccess: (agreement) => {
      void queryClient.invalidateQueries({ queryKey: ['agreements.list'] });
      toast(`Proposal “${agreement.name}” sent to ${side === 'issuer' ? agreement.partner.displayName : agreement.issuer.displayName}`);
      close();
    },
  });
  const close = () => {
    setCounterparty('');
    setName('');
    setOfferText('');
    setOfferIds([]);
    setAmount('');
    setPercent('');
    setValidFrom('');
    setValidUntil('');
    setCap('');
    setChecked(false);
    propose.reset();
    onClose();
  };
  const me = session.tenant?.slug ?? 'You';
  const other = counterparty.trim() || (side === 'issuer' ? 'the partner' : 'the issuer');
  const preview =
    (percentModel ? percentValue !== null : amountMinor !== null && amountMinor > 0) && !problems.percent
      ? describeTerms(
          percentModel ? { type: 'partner_pays_percent_of_order', percent: percentValue! } : { type: modelType as 'issuer_pays_per_issued', amountMinor: amountMinor! },
          currency,
          side === 'issuer' ? me : other,
          side === 'partner' ? me : other,
        )
      : null;
  const counterpartyField = side === 'issuer' ? 'partner' : 'issuer';

  return (
    <Dialog
      open={open}
      wide
      title="Propose agreement"
      onClose={close}
      onSubmit={() => {
        setChecked(true);
        if (!invalid) propose.mutate();
      }}
      footer={
        <>
          <Button onClick={close}>Cancel</Button>
          <Button type="submit" variant="primary" busy={propose.isPending}>
            Send proposal
          </Button>
        </>
      }
    >
      <FormError error={propose.error} shownFields={['partner', 'issuer', 'name', 'offerIds', 'model', 'model.amountMinor', 'model.percent', 'currency', 'validFrom', 'validUntil', 'monthlyCap']} />
      {roles.length > 1 && (
        <fieldset className="field">
          <legend>You propose as</legend>
          <div className="choice-row">
            <label>
              <input type="radio" name="side" checked={side === 'issuer'} onChange={() => setSide('issuer')} /> The issuer: you give a partner's offers to your customers
            </label>
            <label>
              <input type="radio" name="side" checked={side === 'partner'} onChange={() => setSide('partner')} /> The partner: an issuer gives your offers out
            </label>
          </div>
        </fieldset>
      )}
      <div className="form-row">
        <TextField
          label={side === 'issuer' ? 'Partner (tenant id)' : 'Issuer (tenant id)'}
          required
          autoFocus
          placeholder={side === 'issuer' ? 'kitchen-shop' : 'green-grocer'}
          hint="The other member's tenant id, as the coalition operator gave it."
          value={counterparty}
          onChange={(e) => setCounterparty(e.target.value)}
          error={shown(problems.counterparty) ?? fieldError(propose.error, counterpartyField) ?? (propose.error && problemOf(propose.error).code === 'COUNTERPARTY_NOT_FOUND' ? 'No such active member with that role.' : undefined)}
        />
        <TextField label="Name" required maxLength={200} placeholder="Autumn 2026 kitchenware" value={name} onChange={(e) => setName(e.target.value)} error={shown(problems.name) ?? fieldError(propose.error, 'name')} />
      </div>
      {pickOffers ? (
        <QueryView query={myOffers}>
          {(data) =>
            data.offers.filter((offer) => offer.status !== 'closed').length === 0 ? (
              <Alert tone="warn" title="You have no open offers">
                Create an offer first (Offers &amp; pools); an agreement lets an issuer give it out.
              </Alert>
            ) : (
              <CheckboxGroup
                legend="Your offers it covers"
                options={data.offers.filter((offer) => offer.status !== 'closed').map((offer) => ({ value: offer.id, label: offer.title, hint: `${offer.id} · ${humanize(offer.status)}` }))}
                value={offerIds}
                onChange={setOfferIds}
                error={shown(problems.offers) ?? fieldError(propose.error, 'offerIds')}
              />
            )
          }
        </QueryView>
      ) : (
        <TextField
          label="Offer ids"
          required
          placeholder="off_3fK9aB2cD4eF, off_…"
          hint={side === 'issuer' ? "The partner's offers you want to give out, as the partner shared them, separated by commas." : 'Your offers the issuer may give out, separated by commas.'}
          value={offerText}
          onChange={(e) => setOfferText(e.target.value)}
          error={shown(problems.offers) ?? fieldError(propose.error, 'offerIds') ?? fieldError(propose.error, 'offerIds.0')}
        />
      )}
      <div className="form-row">
        <SelectField label="Who pays whom" value={modelType} onChange={(e) => setModelType(e.target.value as ModelType)} options={MODEL_OPTIONS} error={fieldError(propose.error, 'model')} />
        {percentModel ? (
          <TextField label="Percent of the order" inputMode="decimal" required placeholder="5" value={percent} onChange={(e) => setPercent(e.target.value)} error={shown(problems.percent) ?? fieldError(propose.error, 'model.percent')} />
        ) : (
          <TextField
            label={`Amount per code (${currency || '—'})`}
            inputMode="decimal"
            required
            placeholder={currencyDigits(currency) ? '50.00' : '50'}
            value={amount}
            onChange={(e) => setAmount(e.target.value)}
            error={shown(problems.amount) ?? fieldError(propose.error, 'model.amountMinor')}
          />
        )}
        <TextField label="Currency" required maxLength={3} value={currency} onChange={(e) => setCurrency(e.target.value.toUpperCase())} error={fieldError(propose.error, 'currency')} />
      </div>
      <div className="form-row">
        <TextField label="Valid from (optional)" type="datetime-local" hint="Empty: from now on." value={validFrom} onChange={(e) => setValidFrom(e.target.value)} error={fieldError(propose.error, 'validFrom')} />
        <TextField label="Valid until (optional)" type="datetime-local" hint="Empty: open-ended." value={validUntil} onChange={(e) => setValidUntil(e.target.value)} error={fieldError(propose.error, 'validUntil')} />
        <TextField label="Monthly cap (optional)" inputMode="numeric" placeholder="No cap" hint="Most codes issued per month." value={cap} onChange={(e) => setCap(e.target.value)} error={shown(problems.cap) ?? fieldError(propose.error, 'monthlyCap')} />
      </div>
      {preview && (
        <Alert tone="info" title="In plain words">
          {preview}
          {cap.trim() && !problems.cap ? `, for at most ${formatNumber(Number(cap))} codes a month` : ''}. Nothing is in force until {other} accepts.
        </Alert>
      )}
    </Dialog>
  );
}

