import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { useSearchParams } from 'react-router';
import { api, problemOf, type RouterInputs, type RouterOutputs } from '../../api.ts';
import { useCan, useSession } from '../../session.tsx';
import {
  Alert,
  Badge,
  Button,
  Card,
  CopyButton,
  EmptyState,
  ErrorState,
  fieldError,
  FormError,
  Loading,
  PageHeader,
  ProgressBar,
  QueryView,
  SelectField,
  Stat,
  StatGrid,
  StatusBadge,
  TextAreaField,
  TextField,
  type Tone,
} from '../../ui/components.tsx';
import { ConfirmDialog } from '../../ui/dialog.tsx';
import { DataTable, LoadMore, type Column } from '../../ui/table.tsx';
import { formatDate, formatDateTime, formatNumber, humanize } from '../../ui/format.ts';
import { useToast } from '../../ui/toast.tsx';
import { formatOfferValue, plural } from './issuer-shared.tsx';

type Customer = RouterOutputs['customers']['get'];
type Voucher = RouterOutputs['vouchers']['listForCustomer']['vouchers'][number];
type HistoryEntry = RouterOutputs['customers']['history']['entries'][number];
type LookupBy = 'cardNumber' | 'phone';

const CANCEL = { scopes: ['exchange:write' as const], tenantRole: 'issuer' as const };
const HISTORY_PAGE = 25;
const VOUCHER_PAGE = 20;

/**
 * Customer support: find a customer by card or phone, see the balance (available,
 * pending with release dates, expiring), progress, vouchers and sticker history, and
 * cancel an unused voucher with its stickers refunded.
 */
export function CustomersPage() {
  const [params] = useSearchParams();
  const customerId = params.get('customer');
  return (
    <>
      <PageHeader title="Customers" description="Look a customer up by loyalty card or phone number to see their stickers, vouchers and history." />
      <LookupForm />
      {customerId ? <CustomerDetail key={customerId} customerId={customerId} /> : <EmptyState title="Find a customer" description="Enter the number printed on the loyalty card, or the phone number the customer enrolled with." />}
    </>
  );
}

function LookupForm() {
  const [, setParams] = useSearchParams();
  const [by, setBy] = useState<LookupBy>('cardNumber');
  const [value, setValue] = useState('');
  const [clientError, setClientError] = useState<string | undefined>();
  const lookup = useMutation({
    mutationFn: (input: RouterInputs['customers']['lookup']) => api.customers.lookup.query(input),
    onSuccess: (customer) => setParams({ customer: customer.id }),
  });
  const problem = lookup.error ? problemOf(lookup.error) : null;
  const error = clientError ?? fieldError(lookup.error, by) ?? (problem?.code === 'CUSTOMER_NOT_FOUND' ? `No customer with this ${by === 'phone' ? 'phone number' : 'card number'}.` : undefined);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const text = value.trim();
    const check = !text
      ? `Enter the ${by === 'phone' ? 'phone number' : 'card number'}.`
      : by === 'cardNumber' && !/^[0-9A-Za-z-]{4,32}$/.test(text)
        ? 'A card number is 4–32 letters, digits or hyphens, as printed on the card.'
        : by === 'phone' && text.replace(/\D/g, '').length < 5
          ? 'Enter the full phone number, with the country code if it is not local.'
          : undefined;
    setClientError(check);
    if (check) {
      lookup.reset();
      return;
    }
    lookup.mutate(by === 'phone' ? { phone: text } : { cardNumber: text });
  };

  return (
    <Card>
      <form className="lookup-form" onSubmit={submit} noValidate role="search" aria-label="Find a customer">
        <div className="lookup-kind">
          <SelectField
            label="Find by"
            value={by}
            onChange={(e) => {
              setBy(e.target.value as LookupBy);
              setClientError(undefined);
              lookup.reset();
            }}
            options={[
              { value: 'cardNumber', label: 'Card number' },
              { value: 'phone', label: 'Phone' },
            ]}
          />
        </div>
        <div className="lookup-value">
          <TextField
            label={by === 'phone' ? 'Phone number' : 'Card number'}
            type={by === 'phone' ? 'tel' : 'text'}
            autoComplete="off"
            placeholder={by === 'phone' ? '+7 916 123-45-67' : '7000-0001'}
            value={value}
            onChange={(e) => setValue(e.target.value)}
            error={error}
          />
        </div>
        <Button type="submit" variant="primary" busy={lookup.isPending}>
          Find
        </Button>
      </form>
      {problem && problem.code !== 'CUSTOMER_NOT_FOUND' && !fieldError(lookup.error, by) && <FormError error={lookup.error} shownFields={[by]} />}
    </Card>
  );
}

function CustomerDetail({ customerId }: { customerId: string }) {
  const customer = useQuery({ queryKey: ['customer', customerId, 'get'], queryFn: () => api.customers.get.query({ customerId }) });
  return <QueryView query={customer}>{(data) => <CustomerView customer={data} />}</QueryView>;
}

function CustomerView({ customer }: { customer: Customer }) {
  const session = useSession();
  const timeZone = session.tenant?.timezone;
  const customerId = customer.id;
  const balance = useQuery({ queryKey: ['customer', customerId, 'balance'], queryFn: () => api.customers.balance.query({ customerId }) });
  const campaigns = useQuery({ queryKey: ['campaigns.list'], queryFn: () => api.campaigns.list.query() });
  const campaignNames = new Map<string, string>([...(campaigns.data?.campaigns ?? []).map((c) => [c.id, c.name] as const), ...(balance.data?.campaigns ?? []).map((c) => [c.campaignId, c.name] as const)]);
  const nameOf = (id: string) => campaignNames.get(id) ?? id;

  return (
    <>
      <Card
        title={
          <span className="row">
            {customer.cardNumber ? `Card ${customer.cardNumber}` : customer.phoneHint ? `Phone ${customer.phoneHint}` : 'Customer'}
            {customer.blocked ? <Badge tone="bad">Blocked</Badge> : <StatusBadge status="active" />}
          </span>
        }
        actions={<CopyButton value={customer.id} label="Copy customer ID" />}
      >
        {customer.blocked && (
          <Alert tone="bad" title="This customer is blocked">
            Purchases earn no stickers and exchanges are refused.{customer.blockedReason && <> Reason: {customer.blockedReason}</>}
          </Alert>
        )}
        <dl className="kv">
          <dt>Customer ID</dt>
          <dd>
            <code>{customer.id}</code>
          </dd>
          <dt>Card number</dt>
          <dd>{customer.cardNumber ?? '—'}</dd>
          <dt>Phone</dt>
          <dd>{customer.phoneHint ?? '—'}</dd>
          <dt>Enrolled</dt>
          <dd>
            {formatDate(customer.createdAt, timeZone)} <span className="muted">via {customer.enrolledVia}</span>
          </dd>
        </dl>
      </Card>

      <QueryView query={balance}>
        {(b) => {
          const nextRelease = [...b.pendingReleases].sort((x, y) => x.availableAt.localeCompare(y.availableAt))[0];
          const expiring = b.expiringSoon.reduce((sum, e) => sum + e.stickers, 0);
          const firstBurn = [...b.expiringSoon].sort((x, y) => x.burnAt.localeCompare(y.burnAt))[0];
          return (
            <>
              <StatGrid>
                <Stat label="Available stickers" value={formatNumber(b.available)} tone={b.available < 0 ? 'bad' : 'good'} hint={b.available < 0 ? 'Negative after a return of spent stickers' : 'Can be exchanged now'} />
                <Stat
                  label="Pending stickers"
                  value={formatNumber(b.pending)}
                  tone={b.heldForReview > 0 ? 'warn' : undefined}
                  hint={
                    b.heldForReview > 0
                      ? `${plural(b.heldForReview, 'sticker')} held for a fraud review`
                      : nextRelease
                        ? `Next ${plural(nextRelease.stickers, 'sticker')} on ${formatDate(nextRelease.availableAt, timeZone)}`
                        : 'Nothing on hold'
                  }
                />
                <Stat label="Expiring soon" value={formatNumber(expiring)} tone={expiring > 0 ? 'warn' : undefined} hint={firstBurn ? `Burn on ${formatDate(firstBurn.burnAt, timeZone)}` : 'Nothing burns soon'} />
              </StatGrid>
              {b.expiringSoon.map((e) => (
                <Alert key={e.campaignId} tone="warn" title={`${plural(e.stickers, 'sticker')} of “${nameOf(e.campaignId)}” burn on ${formatDateTime(e.burnAt, timeZone)}`}>
                  Unspent stickers, pending ones included, are gone after that moment.
                </Alert>
              ))}
              <div className="grid-2 card-grid">
                <Card title="By campaign">
                  <DataTable
                    caption="Balance by campaign"
                    rows={b.campaigns}
                    rowKey={(c) => c.campaignId}
                    empty={<EmptyState title="No stickers yet" description="Stickers appear here after the first purchase in a campaign." />}
                    columns={[
                      { key: 'name', header: 'Campaign', render: (c) => c.name },
                      { key: 'status', header: 'Status', render: (c) => <Badge tone={c.status === 'running' ? 'good' : c.status === 'ended' ? 'warn' : c.status === 'scheduled' ? 'info' : 'neutral'}>{humanize(c.status)}</Badge> },
                      { key: 'available', header: 'Available', align: 'right', render: (c) => formatNumber(c.available) },
                      { key: 'pending', header: 'Pending', align: 'right', render: (c) => formatNumber(c.pending) },
                      { key: 'burn', header: 'Burn', wide: true, render: (c) => formatDate(c.burnAt, timeZone) },
                    ]}
                  />
                </Card>
                <Card title="Pending stickers">
                  <DataTable
                    caption="Pending stickers"
                    rows={b.pendingReleases}
                    rowKey={(r) => `${r.campaignId}-${r.availableAt}`}
                    empty={<p className="muted small">Nothing on hold: every sticker earned is available.</p>}
                    columns={[
                      { key: 'when', header: 'Available from', render: (r) => (r.heldForReview ? <Badge tone="warn">Held for fraud review</Badge> : formatDateTime(r.availableAt, timeZone)) },
                      { key: 'campaign', header: 'Campaign', wide: true, render: (r) => nameOf(r.campaignId) },
                      { key: 'stickers', header: 'Stickers', align: 'right', render: (r) => formatNumber(r.stickers) },
                    ]}
                  />
                </Card>
              </div>
            </>
          );
        }}
      </QueryView>

      <ProgressCard customerId={customerId} />
      <VouchersCard customerId={customerId} nameOf={nameOf} />
      <HistoryCard customerId={customerId} nameOf={nameOf} />
    </>
  );
}

const CUSTOMER_REASONS: Record<string, string> = {
  CUSTOMER_BLOCKED: 'customer blocked',
  LIMIT_REACHED: 'limit reached',
  INSUFFICIENT_STICKERS: 'not enough stickers',
};

function ProgressCard({ customerId }: { customerId: string }) {
  const catalog = useQuery({ queryKey: ['catalog', customerId], queryFn: () => api.catalog.query({ customerId }) });
  const progress = useQuery({ queryKey: ['customer', customerId, 'progress'], queryFn: () => api.customers.progress.query({ customerId }) });
  return (
    <Card title="Progress">
      <QueryView query={catalog}>
        {(data) => (
          <>
            {data.rewards.length === 0 && (progress.data?.goals.length ?? 0) === 0 && <EmptyState title="No goals" description="Rewards in the catalog and campaign milestones show here with this customer's progress." />}
            {data.rewards.length > 0 && (
              <div className="goal-list">
                {data.rewards.map((r) => {
                  const c = r.customer;
                  if (!c) return null;
                  const state = c.canExchange ? 'can exchange now' : c.reason ? (c.reason === 'INSUFFICIENT_STICKERS' ? `${plural(c.stickersNeeded, 'sticker')} to go` : CUSTOMER_REASONS[c.reason]) : 'reward unavailable now';
                  return (
                    <div key={r.id}>
                      <ProgressBar label={`${r.title}: ${formatNumber(Math.max(0, c.availableStickers))} / ${formatNumber(r.stickerCost)}`} value={c.percent} />
                      <div className="muted small">
                        {r.partner.displayName} · {formatOfferValue(r.offer)} · {state}
                      </div>
                    </div>
                  );
                })}
              </div>
            )}
          </>
        )}
      </QueryView>
      {progress.isError && <ErrorState error={progress.error} retry={() => void progress.refetch()} title="Milestones could not be loaded" />}
      {progress.data && progress.data.goals.length > 0 && (
        <>
          <h3 className="subheading">Campaign milestones</h3>
          <div className="goal-list">
            {progress.data.goals.map((g) => (
              <div key={`${g.campaignId}-${g.label}-${g.stickers}`}>
                <ProgressBar label={`${g.label}: ${formatNumber(Math.max(0, g.available))} / ${formatNumber(g.stickers)}`} value={g.percent} />
                <div className="muted small">{g.stickersNeeded > 0 ? `${plural(g.stickersNeeded, 'sticker')} to go` : 'Reached'}</div>
              </div>
            ))}
          </div>
        </>
      )}
    </Card>
  );
}

const VOUCHER_TONES: Record<Voucher['status'], Tone> = { issued: 'info', redeemed: 'good', expired: 'warn', cancelled: 'bad' };

function VouchersCard({ customerId, nameOf }: { customerId: string; nameOf: (id: string) => string }) {
  const session = useSession();
  const timeZone = session.tenant?.timezone;
  const can = useCan();
  const toast = useToast();
  const queryClient = useQueryClient();
  const [cancelling, setCancelling] = useState<Voucher | null>(null);
  const agreements = useQuery({ queryKey: ['agreements.list', { side: 'issuer' }], queryFn: () => api.agreements.list.query({ side: 'issuer' }), enabled: can({ scopes: ['agreements:read'] }) });
  const partnerNames = new Map((agreements.data?.agreements ?? []).map((a) => [a.partner.slug, a.partner.displayName]));
  const partnerOf = (slug: string) => partnerNames.get(slug) ?? slug;
  const [reason, setReason] = useState('');
  const [reasonError, setReasonError] = useState<string | undefined>();
  const vouchers = useInfiniteQuery({
    queryKey: ['customer', customerId, 'vouchers'],
    queryFn: ({ pageParam }) => api.vouchers.listForCustomer.query({ customerId, limit: VOUCHER_PAGE, ...(pageParam && { cursor: pageParam }) }),
    initialPageParam: '' as string,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  });
  const cancel = useMutation({
    mutationFn: (input: RouterInputs['vouchers']['cancel']) => api.vouchers.cancel.mutate(input),
    onSuccess: (voucher) => {
      void queryClient.invalidateQueries({ queryKey: ['customer', customerId] });
      void queryClient.invalidateQueries({ queryKey: ['catalog'] });
      const refunded = voucher.cancellation?.stickersRefunded ?? 0;
      toast(refunded > 0 ? `Voucher cancelled: ${plural(refunded, 'sticker')} back on the balance` : 'Voucher cancelled (the campaign has burned: no stickers to give back)');
      close();
    },
  });
  const close = () => {
    setCancelling(null);
    setReason('');
    setReasonError(undefined);
    cancel.reset();
  };

  const columns: Column<Voucher>[] = [
    {
      key: 'reward',
      header: 'Voucher',
      render: (v) => (
        <div>
          <strong>{v.offer.title}</strong>
          <div className="muted small">
            {formatOfferValue(v.offer)} at {partnerOf(v.partner)}
          </div>
        </div>
      ),
    },
    { key: 'code', header: 'Code', wide: true, render: (v) => <code>{v.codeMask}</code> },
    { key: 'stickers', header: 'Stickers', align: 'right', render: (v) => formatNumber(v.stickers) },
    {
      key: 'status',
      header: 'Status',
      render: (v) => (
        <div>
          <Badge tone={VOUCHER_TONES[v.status]}>{humanize(v.status)}</Badge>
          {v.cancellation && <div className="muted small">{v.cancellation.reason}</div>}
        </div>
      ),
    },
    { key: 'issued', header: 'Issued', wide: true, render: (v) => formatDateTime(v.issuedAt, timeZone) },
    { key: 'expires', header: 'Expires / used', render: (v) => (v.redeemedAt ? `Used ${formatDate(v.redeemedAt, timeZone)}` : v.cancellation ? `Cancelled ${formatDate(v.cancellation.at, timeZone)}` : formatDate(v.expiresAt, timeZone)) },
    {
      key: 'actions',
      header: <span className="visually-hidden">Actions</span>,
      align: 'right',
      render: (v) =>
        v.status === 'issued' && can(CANCEL) ? (
          <Button size="sm" variant="danger" onClick={() => setCancelling(v)} aria-label={`Cancel voucher ${v.codeMask}`}>
            Cancel
          </Button>
        ) : null,
    },
  ];

  const rows = vouchers.data?.pages.flatMap((page) => page.vouchers) ?? [];
  return (
    <Card title="Vouchers">
      {vouchers.isPending ? (
        <Loading />
      ) : vouchers.isError ? (
        <ErrorState error={vouchers.error} retry={() => void vouchers.refetch()} />
      ) : (
        <>
          <DataTable caption="Vouchers" columns={columns} rows={rows} rowKey={(v) => v.id} empty={<EmptyState title="No vouchers" description="Vouchers appear here when the customer exchanges stickers for a reward." />} />
          <LoadMore hasMore={vouchers.hasNextPage} loading={vouchers.isFetchingNextPage} onLoad={() => void vouchers.fetchNextPage()} />
        </>
      )}
      <ConfirmDialog
        open={cancelling !== null}
        title="Cancel this voucher?"
        confirmLabel="Cancel voucher and refund"
        danger
        busy={cancel.isPending}
        onClose={close}
        onConfirm={() => {
          if (!cancelling) return;
          if (!reason.trim()) {
            setReasonError('Say why: it is kept with the voucher and in the audit trail.');
            return;
          }
          setReasonError(undefined);
          cancel.mutate({ voucherId: cancelling.id, reason: reason.trim() });
        }}
      >
        {cancelling && (
          <>
            <p>
              <strong>{plural(cancelling.stickers, 'sticker')}</strong> go back to the customer's balance in “{nameOf(cancelling.campaignId)}” at once, and the code <code>{cancelling.codeMask}</code> stops working for them: it returns to{' '}
              {partnerOf(cancelling.partner)}'s pool or is voided, as the partner's offer decides.
            </p>
            <p className="muted small">This cannot be undone. If the campaign has already burned its stickers, none come back.</p>
            <TextAreaField label="Reason" rows={2} value={reason} onChange={(e) => setReason(e.target.value)} error={reasonError ?? fieldError(cancel.error, 'reason')} maxLength={500} autoFocus hint="E.g. customer complaint, issued by mistake." />
            {cancel.error && !fieldError(cancel.error, 'reason') && <FormError error={cancel.error} shownFields={['reason']} />}
          </>
        )}
      </ConfirmDialog>
    </Card>
  );
}

const KIND_TONES: Record<HistoryEntry['kind'], Tone> = { accrual: 'good', refund: 'good', spend: 'info', reversal: 'warn', expiry: 'neutral', adjustment: 'neutral' };

function HistoryCard({ customerId, nameOf }: { customerId: string; nameOf: (id: string) => string }) {
  const session = useSession();
  const timeZone = session.tenant?.timezone;
  const history = useInfiniteQuery({
    queryKey: ['customer', customerId, 'history'],
    queryFn: ({ pageParam }) => api.customers.history.query({ customerId, limit: HISTORY_PAGE, ...(pageParam && { cursor: pageParam }) }),
    initialPageParam: '' as string,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  });
  const columns: Column<HistoryEntry>[] = [
    { key: 'when', header: 'When', render: (e) => formatDateTime(e.recordedAt, timeZone) },
    { key: 'kind', header: 'Type', render: (e) => <Badge tone={KIND_TONES[e.kind]}>{humanize(e.kind)}</Badge> },
    { key: 'what', header: 'What happened', render: (e) => e.description },
    { key: 'campaign', header: 'Campaign', wide: true, render: (e) => nameOf(e.campaignId) },
    { key: 'available', header: 'Available from', wide: true, render: (e) => (new Date(e.availableAt) > new Date(e.recordedAt) ? formatDate(e.availableAt, timeZone) : '—') },
    { key: 'stickers', header: 'Stickers', align: 'right', render: (e) => <span className={e.stickers >= 0 ? 'sticker-plus' : 'sticker-minus'}>{e.stickers > 0 ? `+${formatNumber(e.stickers)}` : formatNumber(e.stickers)}</span> },
  ];
  const rows = history.data?.pages.flatMap((page) => page.entries) ?? [];
  return (
    <Card title="Sticker history">
      {history.isPending ? (
        <Loading />
      ) : history.isError ? (
        <ErrorState error={history.error} retry={() => void history.refetch()} />
      ) : (
        <>
          <DataTable caption="Sticker history" columns={columns} rows={rows} rowKey={(e) => e.id} empty={<EmptyState title="No history yet" description="Every sticker earned, spent, refunded or burned is listed here." />} />
          <LoadMore hasMore={history.hasNextPage} loading={history.isFetchingNextPage} onLoad={() => void history.fetchNextPage()} />
        </>
      )}
    </Card>
  );
}
