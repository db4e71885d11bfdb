import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type ReactNode } from 'react';
import { Link, useParams } from 'react-router';
import { api, problemOf, type RouterInputs } from '../../api.ts';
import { useCan, useSession } from '../../session.tsx';
import { Badge, Button, Card, CopyButton, EmptyState, ErrorState, FormError, Loading, PageHeader, TextAreaField, fieldError } from '../../ui/components.tsx';
import { ConfirmDialog } from '../../ui/dialog.tsx';
import { formatDateTime, formatMoney, formatNumber } from '../../ui/format.ts';
import { useToast } from '../../ui/toast.tsx';
import { plural } from '../issuer/issuer-shared.tsx';
import { ActionBadge, CaseStatusBadge, DECISION_LABELS, REVIEW, describeSubject, labelOf, type FraudCase, type FraudCaseDetail, type FraudHit, type StickerMove } from './fraud-shared.tsx';

type DecisionInput = RouterInputs['fraud']['cases']['decide']['decision'];

const CUSTOMERS = { tenantRole: 'issuer' as const, scopes: ['customers:read' as const] };

/** What the page needs to put names on ids: campaigns, receipts, the tenant's money and clock. */
interface Names {
  campaign: (id: string) => string;
  receipt: (purchaseId: string) => string | undefined;
  currency: string;
  timeZone: string | undefined;
  customerLink: boolean;
}

/**
 * One case: what the rule saw (every hit with its evidence), what it still holds, and
 * the reviewer's decision: release or reverse the held stickers, block the card, or
 * dismiss. A closed case shows who decided, when, why and what moved.
 */
export function FraudCasePage() {
  const { caseId = '' } = useParams();
  const session = useSession();
  const can = useCan();
  const fraudCase = useQuery({ queryKey: ['fraud.cases.get', caseId], queryFn: () => api.fraud.cases.get.query({ caseId }) });
  const campaigns = useQuery({ queryKey: ['campaigns.list'], queryFn: () => api.campaigns.list.query() });
  const [deciding, setDeciding] = useState<DecisionInput | null>(null);
  const back = <Link to="/fraud">← Fraud review</Link>;

  if (fraudCase.isPending) {
    return (
      <>
        <PageHeader title="Case" back={back} />
        <Card>
          <Loading label="Loading the case…" rows={6} />
        </Card>
      </>
    );
  }
  if (fraudCase.isError) {
    const code = problemOf(fraudCase.error).code;
    return (
      <>
        <PageHeader title="Case" back={back} />
        {code === 'FRAUD_CASE_NOT_FOUND' || code === 'VALIDATION_FAILED' ? (
          <EmptyState title="Case not found" description="There is no anti-fraud case with this id among your cases. The link may be incomplete." action={<Link to="/fraud">Back to the review queue</Link>} />
        ) : (
          <ErrorState error={fraudCase.error} retry={() => void fraudCase.refetch()} />
        )}
      </>
    );
  }

  const c = fraudCase.data;
  const campaignNames = new Map((campaigns.data?.campaigns ?? []).map((campaign) => [campaign.id, campaign.name]));
  const receiptIds = receiptsOf(c);
  const names: Names = {
    campaign: (id) => campaignNames.get(id) ?? id,
    receipt: (purchaseId) => receiptIds.get(purchaseId),
    currency: session.tenant?.currency ?? 'RUB',
    timeZone: session.tenant?.timezone,
    customerLink: can(CUSTOMERS),
  };
  const open = c.status === 'open';
  const held = c.stillHeld.reduce((sum, entry) => sum + entry.stickers, 0);
  const canDecide = open && can(REVIEW);
  const canBlock = canDecide && c.subject.startsWith('customer:') && c.customer !== null && !c.customer.blocked;
  const subject = describeSubject(c);

  return (
    <>
      <PageHeader
        back={back}
        title={
          <span className="fraud-title">
            {c.ruleTitle} <ActionBadge action={c.action} /> <CaseStatusBadge fraudCase={c} />
          </span>
        }
        description={
          <>
            {subject.title}: {c.summary}
          </>
        }
        actions={
          canDecide && (
            <>
              {held > 0 && (
                <Button variant="primary" onClick={() => setDeciding('release')}>
                  Release held stickers…
                </Button>
              )}
              {held > 0 && (
                <Button variant="danger" onClick={() => setDeciding('reverse')}>
                  Reverse held stickers…
                </Button>
              )}
              {canBlock && (
                <Button variant="danger" onClick={() => setDeciding('block_card')}>
                  Block card…
                </Button>
              )}
              <Button onClick={() => setDeciding('dismiss')}>Dismiss…</Button>
            </>
          )
        }
      />

      {c.decision && <DecisionCard fraudCase={c} names={names} />}

      <div className="fraud-overview">
        <Card title="Case">
          <dl className="kv fraud-kv">
            <dt>Rule</dt>
            <dd>
              {c.ruleTitle}
              <div className="fraud-sub fraud-mono">{c.ruleId}</div>
            </dd>
            <dt>Action</dt>
            <dd>
              <ActionBadge action={c.action} /> <span className="muted small">{ACTION_MEANING[c.action]}</span>
            </dd>
            <dt>Status</dt>
            <dd>
              <CaseStatusBadge fraudCase={c} />
            </dd>
            <dt>Opened</dt>
            <dd>{formatDateTime(c.openedAt, names.timeZone)}</dd>
            <dt>Last hit</dt>
            <dd>{formatDateTime(c.lastHitAt, names.timeZone)}</dd>
            <dt>Hits</dt>
            <dd>
              {formatNumber(c.hits)} <span className="muted small">{c.hits === 1 ? 'request tripped the rule' : 'requests tripped the rule while the case was open'}</span>
            </dd>
            <dt>Held stickers</dt>
            <dd>{c.heldStickers > 0 ? <>{formatNumber(c.heldStickers)} <span className="muted small">when the hits were recorded</span></> : <span className="muted">None</span>}</dd>
            <dt>Case id</dt>
            <dd>
              <code>{c.id}</code>
            </dd>
          </dl>
        </Card>
        <SubjectCard fraudCase={c} names={names} />
      </div>

      {open && (
        <Card title="Still held" actions={held > 0 && <span className="muted small">{plural(held, 'sticker')} wait for your decision</span>}>
          {c.stillHeld.length === 0 ? (
            <p className="muted small">{c.heldStickers > 0 ? 'Nothing is held any more: returns have taken the held stickers back. Dismiss the case or block the card.' : `Nothing is held: the rule ${c.action === 'flag' ? 'flagged the request and let it through' : 'refused the request'}.`}</p>
          ) : (
            <MovesTable moves={c.stillHeld} names={names} caption="Stickers still held" dateHeader="Would be available" />
          )}
        </Card>
      )}

      <Card title={`Hits (${formatNumber(c.hitList.length)})`} actions={c.hitList.length < c.hits && <span className="muted small">The latest 500 are listed</span>}>
        {c.hitList.length === 0 ? (
          <EmptyState title="No hits recorded" description="The case has no evidence stored." />
        ) : (
          <ol className="fraud-hits">
            {c.hitList.map((hit, index) => (
              <HitItem key={hit.id} hit={hit} number={index + 1} names={names} heldPurchases={new Set(c.stillHeld.map((entry) => entry.purchaseId))} />
            ))}
          </ol>
        )}
      </Card>

      {deciding && <DecisionDialog fraudCase={c} decision={deciding} held={held} onClose={() => setDeciding(null)} />}
    </>
  );
}

const ACTION_MEANING: Record<FraudCase['action'], string> = {
  flag: 'The request went through; the case is for a second look.',
  hold: "The receipt's stickers stay pending until a reviewer decides (at the latest until the campaign burns).",
  block: 'The request was refused: nothing of it was recorded.',
};

/** Receipt ids by purchase id, from the hits and their evidence: people know receipts, not purchase ids. */
function receiptsOf(c: FraudCaseDetail): Map<string, string> {
  const ids = new Map<string, string>();
  for (const hit of c.hitList) {
    if (hit.kind === 'purchase' && hit.purchaseId && hit.reference) ids.set(hit.purchaseId, hit.reference);
    for (const value of Object.values(hit.evidence)) {
      if (!Array.isArray(value)) continue;
      for (const row of value) {
        if (row && typeof row === 'object' && typeof (row as Record<string, unknown>).purchaseId === 'string' && typeof (row as Record<string, unknown>).receiptId === 'string') {
          ids.set((row as { purchaseId: string }).purchaseId, (row as { receiptId: string }).receiptId);
        }
      }
    }
  }
  return ids;
}

function SubjectCard({ fraudCase: c, names }: { fraudCase: FraudCaseDetail; names: Names }) {
  const subject = describeSubject(c);
  if (!c.customer || !c.subject.startsWith('customer:')) {
    return (
      <Card title="Subject">
        <p>
          <strong>{subject.title}</strong> {subject.detail && <span className="muted">{subject.detail}</span>}
        </p>
        <p className="muted small">
          {c.subject.startsWith('shopper:') || c.subject.startsWith('order:')
            ? "A partner's shop account or order that redeemed codes of several of your customers. The partner's redemptions stand; the cards concerned are listed in the evidence, each with a link to the customer."
            : 'The request named a card that was never enrolled.'}
        </p>
        <p className="small">
          <code>{c.subject}</code>
        </p>
      </Card>
    );
  }
  const customer = c.customer;
  return (
    <Card
      title={
        <span className="row">
          {subject.title}
          {customer.blocked ? <Badge tone="bad">Blocked</Badge> : <Badge tone="good">Active</Badge>}
        </span>
      }
      actions={<CopyButton value={customer.id} label="Copy customer ID" />}
    >
      <dl className="kv fraud-kv">
        <dt>Card number</dt>
        <dd>{customer.cardNumber ?? '—'}</dd>
        <dt>Phone</dt>
        <dd>{customer.phoneHint ?? '—'}</dd>
        <dt>Customer ID</dt>
        <dd>
          <code>{customer.id}</code>
        </dd>
      </dl>
      {names.customerLink && (
        <p className="fraud-rule-meta">
          <Link to={`/customers?customer=${customer.id}`}>Open the customer: balance, vouchers and sticker history</Link>
        </p>
      )}
    </Card>
  );
}

function MovesTable({ moves, names, caption, dateHeader }: { moves: StickerMove[]; names: Names; caption: string; dateHeader?: string }) {
  const total = moves.reduce((sum, move) => sum + move.stickers, 0);
  return (
    <div className="table-wrap">
      <table className="table">
        <caption className="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            <th scope="col">Receipt</th>
            <th scope="col">Campaign</th>
            {dateHeader && <th scope="col">{dateHeader}</th>}
            <th scope="col" className="num">
              Stickers
            </th>
          </tr>
        </thead>
        <tbody>
          {moves.map((move) => (
            <tr key={`${move.purchaseId}-${move.campaignId}`}>
              <td>{names.receipt(move.purchaseId) ?? <code>{move.purchaseId}</code>}</td>
              <td>{names.campaign(move.campaignId)}</td>
              {dateHeader && <td>{move.availableAt ? formatDateTime(move.availableAt, names.timeZone) : '—'}</td>}
              <td className="num">{formatNumber(move.stickers)}</td>
            </tr>
          ))}
          {moves.length > 1 && (
            <tr className="fraud-total-row">
              <td colSpan={dateHeader ? 3 : 2}>Total</td>
              <td className="num">{formatNumber(total)}</td>
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}

const DECISION_TONES = { released: 'good', reversed: 'warn', card_blocked: 'bad', dismissed: 'info' } as const;

function DecisionCard({ fraudCase: c, names }: { fraudCase: FraudCaseDetail; names: Names }) {
  const d = c.decision!;
  const moved = [
    { title: 'Released', note: 'Back on their normal schedule: available from the date shown.', moves: d.released, date: 'Available from' },
    { title: 'Taken back', note: 'Reversed: no longer on the card.', moves: d.reversed },
    { title: 'Already burned', note: 'Their campaign burned before the decision: nothing left to move.', moves: d.burned },
  ].filter((group) => group.moves.length > 0);
  return (
    <div className={`alert alert-${DECISION_TONES[d.decision]} fraud-decision`} role="status">
      <div>
        <strong>
          {DECISION_LABELS[d.decision]} by {d.byName ?? d.by} on {formatDateTime(d.at, names.timeZone)}
        </strong>
        <div className="fraud-reason">{d.reason}</div>
        {moved.length === 0 ? (
          <p className="small">No stickers moved: the case held none when it was decided.</p>
        ) : (
          moved.map((group) => (
            <div key={group.title} className="fraud-moved">
              <p className="small">
                <strong>
                  {group.title}: {plural(group.moves.reduce((sum, move) => sum + move.stickers, 0), 'sticker')}
                </strong>{' '}
                <span className="muted">{group.note}</span>
              </p>
              <MovesTable moves={group.moves} names={names} caption={group.title} {...(group.date && { dateHeader: group.date })} />
            </div>
          ))
        )}
      </div>
    </div>
  );
}

// ---- hits and their evidence --------------------------------------------------------------

const KIND_LABELS: Record<FraudHit['kind'], string> = { purchase: 'Purchase', return: 'Return', exchange: 'Exchange', redemption: 'Redemption' };
const REFERENCE_LABELS: Record<FraudHit['kind'], string> = { purchase: 'receipt', return: 'return', exchange: 'voucher or reward', redemption: 'redemption' };

function HitItem({ hit, number, names, heldPurchases }: { hit: FraudHit; number: number; names: Names; heldPurchases: Set<string> }) {
  const held = hit.held?.reduce((sum, entry) => sum + entry.stickers, 0) ?? 0;
  return (
    <li className="fraud-hit" aria-label={`Hit ${number}`}>
      <div className="fraud-hit-head">
        <h3>
          {number}. {KIND_LABELS[hit.kind]}
          {hit.reference && (
            <>
              {' '}
              <span className="muted">
                {REFERENCE_LABELS[hit.kind]} <span className="fraud-mono">{hit.reference}</span>
              </span>
            </>
          )}
        </h3>
        <ActionBadge action={hit.action} />
        <span className="muted small">{formatDateTime(hit.recordedAt, names.timeZone)}</span>
        {held > 0 && (
          <span className="small">
            {plural(held, 'sticker')} held
            {hit.held && hit.held.length > 0 && <span className="muted"> (would have been available {formatDateTime(hit.held[0]!.availableAt, names.timeZone)})</span>}
          </span>
        )}
      </div>
      <Evidence evidence={hit.evidence} names={names} thisPurchase={hit.purchaseId} heldPurchases={heldPurchases} />
    </li>
  );
}

/** Labels for the evidence the rules record (server/src/fraud/*-rules.ts); anything else is labelled from its name. */
const EVIDENCE_LABELS: Record<string, string> = {
  cashierId: 'Cashier',
  storeCode: 'Store',
  receiptsInShift: 'Receipts by this cashier in the shift',
  receipts30d: 'Receipts in 30 days',
  byCashier30d: 'Of them by this cashier',
  sharePercent: "Cashier's share",
  day: 'Day',
  receiptsThatDay: 'Receipts that day',
  stickers30d: 'Stickers in 30 days',
  thisReceipt: 'Stickers on this receipt',
  occurredAt: 'When',
  owingReceipts90d: 'Receipts returned after their stickers were exchanged (90 days)',
  boughtMinor90d: 'Bought (90 days)',
  returnedMinor90d: 'Returned (90 days)',
  returns90d: 'Returns (90 days)',
  returnPercent: 'Returned share',
  exchangesToday: 'Exchanges earlier that day',
  rewardId: 'Reward',
  resetsAt: 'Limit resets',
  enrolledAt: 'Card enrolled',
  exchangesFrom: 'May exchange from',
  vouchers30d: 'Vouchers in 30 days',
  subjectKey: 'Subject',
  partner: 'Partner',
  shopperRef: 'Shop account',
  orderRef: 'Order',
  customers30d: 'Different customers (30 days)',
};

const TABLE_TITLES: Record<string, string> = {
  receipts: 'Receipts',
  otherStores: 'Receipts at other stores',
  returns: 'Returns',
  redemptions: 'Redemptions',
  cards: 'Cards that shared the phone',
};

const COLUMN_LABELS: Record<string, string> = {
  receiptId: 'Receipt',
  returnId: 'Return',
  redemptionId: 'Redemption',
  cardNumber: 'Card',
  occurredAt: 'When',
  redeemedAt: 'Redeemed',
  storeCode: 'Store',
  terminalId: 'Till',
  cashierId: 'Cashier',
  totalMinor: 'Total',
  returnedMinor: 'Returned',
  orderRef: 'Order',
  codeMask: 'Code',
  voucherId: 'Voucher',
  customerId: 'Customer',
  phoneHint: 'Phone',
  vouchers30d: 'Vouchers (30 days)',
};

/** Keys in the order of a label table (the order people read them in), anything unlisted after. */
function orderKeys(keys: string[], labels: Record<string, string>): string[] {
  const order = Object.keys(labels);
  const rank = (key: string) => (order.includes(key) ? order.indexOf(key) : order.length);
  return [...keys].sort((a, b) => rank(a) - rank(b));
}

/** Numbers right-aligned; the till is the first thing a tablet can do without. */
function cellClass(key: string): string | undefined {
  return [isMoney(key) || key === 'vouchers30d' ? 'num' : '', key === 'terminalId' ? 'wide' : ''].filter(Boolean).join(' ') || undefined;
}

const capitalize = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;

type Row = Record<string, unknown>;

const isRow = (value: unknown): value is Row => typeof value === 'object' && value !== null && !Array.isArray(value);
const isMoney = (key: string) => /Minor/.test(key);
const isPercent = (key: string) => /Percent$|^percent$/i.test(key);

function formatValue(key: string, value: unknown, names: Names): ReactNode {
  if (value === null || value === undefined || value === '') return <span className="muted">—</span>;
  if (typeof value === 'number') {
    if (isMoney(key)) return <span className="fraud-nowrap">{formatMoney(value, names.currency)}</span>;
    if (isPercent(key)) return `${formatNumber(value)}%`;
    return formatNumber(value);
  }
  if (typeof value === 'string') {
    if (ISO_TIME.test(value)) return <span className="fraud-nowrap">{formatDateTime(value, names.timeZone)}</span>;
    if (key === 'customerId' && value.startsWith('cus_') && names.customerLink) return <Link to={`/customers?customer=${value}`}>{value}</Link>;
    if (key.endsWith('Id') || key === 'subjectKey' || key === 'codeMask') return <span className="fraud-mono">{value}</span>;
    return value;
  }
  if (typeof value === 'boolean') return value ? 'Yes' : 'No';
  if (Array.isArray(value)) return value.every((item) => typeof item !== 'object') ? value.join(', ') : <code>{JSON.stringify(value)}</code>;
  if (isRow(value) && typeof value.from === 'string' && typeof value.to === 'string') {
    return (
      <span>
        {formatDateTime(value.from, names.timeZone)} – {formatDateTime(value.to, names.timeZone)}
      </span>
    );
  }
  if (isRow(value)) {
    return (
      <dl className="kv fraud-kv">
        {Object.entries(value).map(([name, inner]) => (
          <Pair key={name} name={name} value={inner} names={names} />
        ))}
      </dl>
    );
  }
  return String(value);
}

function Pair({ name, value, names }: { name: string; value: unknown; names: Names }) {
  return (
    <>
      <dt>{EVIDENCE_LABELS[name] ?? labelOf(name)}</dt>
      <dd>{formatValue(name, value, names)}</dd>
    </>
  );
}

/**
 * What a rule saw, readable: lists of receipts, returns, redemptions or cards as tables
 * (the receipt of this hit and receipts still held marked), everything else as facts.
 */
function Evidence({ evidence, names, thisPurchase, heldPurchases }: { evidence: Record<string, unknown>; names: Names; thisPurchase: string | null; heldPurchases: Set<string> }) {
  const entries = orderKeys(Object.keys(evidence), EVIDENCE_LABELS).map((key) => [key, evidence[key]] as [string, unknown]);
  const tables = entries.filter(([, value]) => Array.isArray(value) && value.length > 0 && value.every(isRow)) as [string, Row[]][];
  const facts = entries.filter(([name]) => !tables.some(([table]) => table === name));
  return (
    <div className="fraud-evidence">
      {facts.length > 0 && (
        <dl className="kv fraud-kv">
          {facts.map(([name, value]) => (
            <Pair key={name} name={name} value={Array.isArray(value) && value.length === 0 ? 'none' : value} names={names} />
          ))}
        </dl>
      )}
      {tables.map(([name, rows]) => (
        <EvidenceTable key={name} title={TABLE_TITLES[name] ?? labelOf(name)} rows={rows} names={names} thisPurchase={thisPurchase} heldPurchases={heldPurchases} />
      ))}
    </div>
  );
}

function EvidenceTable({ title, rows, names, thisPurchase, heldPurchases }: { title: string; rows: Row[]; names: Names; thisPurchase: string | null; heldPurchases: Set<string> }) {
  const keys = orderKeys([...new Set(rows.flatMap((row) => Object.keys(row)))], COLUMN_LABELS);
  // Purchase ids are for machines (the receipt id next to them is what people read); a column empty on every row says nothing.
  const columns = keys.filter((key) => !(key === 'purchaseId' && keys.includes('receiptId')) && rows.some((row) => row[key] !== null && row[key] !== undefined && row[key] !== ''));
  const noteOf = (row: Row): string | null => {
    const purchaseId = typeof row.purchaseId === 'string' ? row.purchaseId : null;
    if (!purchaseId) return null;
    const notes = [purchaseId === thisPurchase ? 'this receipt' : null, heldPurchases.has(purchaseId) ? 'held' : null].filter(Boolean);
    return notes.length ? capitalize(notes.join(', ')) : null;
  };
  const withNotes = rows.some((row) => noteOf(row) !== null);
  return (
    <div>
      <h4>
        {title} ({formatNumber(rows.length)})
      </h4>
      <div className="table-wrap">
        <table className="table">
          <caption className="visually-hidden">{title}</caption>
          <thead>
            <tr>
              {columns.map((key) => (
                <th key={key} scope="col" className={cellClass(key)}>
                  {COLUMN_LABELS[key] ?? labelOf(key)}
                </th>
              ))}
              {withNotes && <th scope="col">Note</th>}
            </tr>
          </thead>
          <tbody>
            {rows.map((row, index) => {
              const note = noteOf(row);
              return (
                <tr key={index} className={note?.startsWith('This receipt') ? 'fraud-row-mark' : undefined}>
                  {columns.map((key) => (
                    <td key={key} className={cellClass(key)}>
                      {formatValue(key, row[key], names)}
                    </td>
                  ))}
                  {withNotes && <td>{note && <Badge tone={note.toLowerCase().includes('held') ? 'warn' : 'info'}>{note}</Badge>}</td>}
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </div>
  );
}

// ---- deciding --------------------------------------------------------------------------------

const DIALOGS: Record<DecisionInput, { title: string; confirm: string; danger: boolean }> = {
  release: { title: 'Release the held stickers?', confirm: 'Release stickers', danger: false },
  reverse: { title: 'Reverse the held stickers?', confirm: 'Reverse stickers', danger: true },
  block_card: { title: 'Block this card?', confirm: 'Block card', danger: true },
  dismiss: { title: 'Dismiss this case?', confirm: 'Dismiss case', danger: false },
};

function DecisionDialog({ fraudCase: c, decision, held, onClose }: { fraudCase: FraudCaseDetail; decision: DecisionInput; held: number; onClose: () => void }) {
  const toast = useToast();
  const queryClient = useQueryClient();
  const [reason, setReason] = useState('');
  const [reasonError, setReasonError] = useState<string | undefined>();
  const card = c.customer?.cardNumber ? `card ${c.customer.cardNumber}` : 'the card';
  const decide = useMutation({
    mutationFn: (input: RouterInputs['fraud']['cases']['decide']) => api.fraud.cases.decide.mutate(input),
    onSuccess: (next) => {
      queryClient.setQueryData<FraudCaseDetail>(['fraud.cases.get', c.id], (current) => (current ? { ...current, ...next, stillHeld: [] } : current));
      void queryClient.invalidateQueries({ queryKey: ['fraud.cases.get', c.id] });
      void queryClient.invalidateQueries({ queryKey: ['fraud.cases.list'] });
      if (c.customer) void queryClient.invalidateQueries({ queryKey: ['customer', c.customer.id] });
      toast(decidedMessage(next, card), next.decision?.decision === 'card_blocked' || next.decision?.decision === 'reversed' ? 'warn' : 'good');
      onClose();
    },
    onError: (error) => {
      // Someone decided meanwhile, or a return took the held stickers back: show the case as it is now.
      if (['FRAUD_CASE_CLOSED', 'FRAUD_DECISION_NOT_APPLICABLE'].includes(problemOf(error).code)) void queryClient.invalidateQueries({ queryKey: ['fraud.cases.get', c.id] });
    },
  });
  const dialog = DIALOGS[decision];
  return (
    <ConfirmDialog
      open
      title={dialog.title}
      confirmLabel={dialog.confirm}
      danger={dialog.danger}
      busy={decide.isPending}
      onClose={onClose}
      onConfirm={() => {
        // The server keeps the reason as one line of text: line breaks become spaces.
        const text = reason.replace(/\s*[\r\n]+\s*/g, ' ').trim();
        if (!text) {
          setReasonError('Say why: the reason is kept with the case and in the audit log.');
          return;
        }
        setReasonError(undefined);
        decide.mutate({ caseId: c.id, decision, reason: text });
      }}
    >
      <DecisionEffect decision={decision} held={held} card={card} />
      <p className="muted small">The case closes and cannot be decided again. Integrations receive a fraud.case_decided event.</p>
      <TextAreaField
        label="Reason"
        rows={3}
        value={reason}
        onChange={(event) => setReason(event.target.value)}
        error={reasonError ?? fieldError(decide.error, 'reason')}
        maxLength={500}
        autoFocus
        hint="E.g. “Family card, receipts checked with the store manager” or “Cashier's own card, confirmed on camera”."
      />
      {decide.error && !fieldError(decide.error, 'reason') && <FormError error={decide.error} shownFields={['reason']} />}
    </ConfirmDialog>
  );
}

function DecisionEffect({ decision, held, card }: { decision: DecisionInput; held: number; card: string }) {
  const stickers = plural(held, 'held sticker');
  switch (decision) {
    case 'release':
      return (
        <p>
          The <strong>{stickers}</strong> go back on their normal schedule: each becomes available on the date it would have without the hold, or at once if that date has passed.
        </p>
      );
    case 'reverse':
      return (
        <p>
          The <strong>{stickers}</strong> are taken back from {card}. The receipts stay recorded, and the card keeps everything else it earned.
        </p>
      );
    case 'block_card':
      return (
        <>
          <p>
            <strong>{capitalize(card)}</strong> is blocked: receipts and exchanges on it are refused (<code>CUSTOMER_BLOCKED</code>), so it earns and spends nothing.
            {held > 0 && (
              <>
                {' '}
                The <strong>{stickers}</strong> are taken back as well.
              </>
            )}
          </p>
          <p className="muted small">An admin can lift the block later (POST /api/v1/customers/&#123;customerId&#125;/unblock).</p>
        </>
      );
    case 'dismiss':
      return (
        <p>
          A false alarm: nothing is held against the customer.
          {held > 0 && (
            <>
              {' '}
              The <strong>{stickers}</strong> are released, as with Release.
            </>
          )}
        </p>
      );
  }
}

function decidedMessage(next: FraudCase, card: string): string {
  const d = next.decision;
  if (!d) return 'Case decided';
  const count = (moves: StickerMove[]) => moves.reduce((sum, move) => sum + move.stickers, 0);
  const burned = count(d.burned) > 0 ? `; ${plural(count(d.burned), 'sticker')} had already burned` : '';
  switch (d.decision) {
    case 'released':
      return `Released: ${plural(count(d.released), 'sticker')} back on their normal schedule${burned}`;
    case 'reversed':
      return `Reversed: ${plural(count(d.reversed), 'held sticker')} taken back${burned}`;
    case 'card_blocked':
      return `${capitalize(card)} blocked${count(d.reversed) > 0 ? `: ${plural(count(d.reversed), 'held sticker')} taken back` : ''}${burned}`;
    case 'dismissed':
      return `Case dismissed${count(d.released) > 0 ? `: ${plural(count(d.released), 'held sticker')} released` : ''}${burned}`;
  }
}
