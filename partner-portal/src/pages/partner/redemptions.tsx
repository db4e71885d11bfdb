import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { Link } from 'react-router';
import { api, type RouterInputs, type RouterOutputs } from '../../api.ts';
import { useCan } from '../../session.tsx';
import { Button, EmptyState, FormError, PageHeader, QueryView, SelectField, StatusBadge, TextField, fieldError } from '../../ui/components.tsx';
import { ConfirmDialog } from '../../ui/dialog.tsx';
import { formatDateTime, formatMoney } from '../../ui/format.ts';
import { DataTable, LoadMore, type Column } from '../../ui/table.tsx';
import { useToast } from '../../ui/toast.tsx';
import './partner.css';

type Redemption = RouterOutputs['redemptions']['get'];
type ListInput = RouterInputs['redemptions']['list'];

interface Filters {
  code: string;
  orderRef: string;
  status: '' | 'redeemed' | 'reversed';
  offerId: string;
  from: string;
  to: string;
}

const NO_FILTERS: Filters = { code: '', orderRef: '', status: '', offerId: '', from: '', to: '' };
const PAGE_SIZE = 50;

/** A date input (the browser's day) as the start of that day, as an ISO time. */
function dayStart(value: string, plusDays = 0): string | undefined {
  if (!value) return undefined;
  const [year, month, day] = value.split('-').map(Number);
  const date = new Date(year!, month! - 1, day! + plusDays);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

function toInput(filters: Filters): Omit<ListInput, 'cursor'> {
  return {
    limit: PAGE_SIZE,
    ...(filters.code.trim() && { code: filters.code.trim() }),
    ...(filters.orderRef.trim() && { orderRef: filters.orderRef.trim() }),
    ...(filters.status && { status: filters.status }),
    ...(filters.offerId && { offerId: filters.offerId }),
    ...(filters.from && { from: dayStart(filters.from) }),
    // "To" includes that whole day: the server's `to` is exclusive.
    ...(filters.to && { to: dayStart(filters.to, 1) }),
  };
}

function reversible(redemption: Redemption, now: number): boolean {
  return redemption.status === 'redeemed' && redemption.reversibleUntil !== null && new Date(redemption.reversibleUntil).getTime() > now;
}

export function RedemptionsPage() {
  const can = useCan();
  const canRedeem = can({ tenantRole: 'partner', scopes: ['codes:redeem'] });
  const canReadOffers = can({ tenantRole: 'partner', scopes: ['pools:write'] });
  const [draft, setDraft] = useState<Filters>(NO_FILTERS);
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  const [reversing, setReversing] = useState<Redemption | null>(null);
  const [dateProblem, setDateProblem] = useState<string>();

  const input = useMemo(() => toInput(filters), [filters]);
  const redemptions = useInfiniteQuery({
    queryKey: ['redemptions.list', input],
    queryFn: ({ pageParam }) => api.redemptions.list.query({ ...input, ...(pageParam && { cursor: pageParam }) }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (page) => page.nextCursor ?? undefined,
  });
  const offers = useQuery({ queryKey: ['offers.list', {}], queryFn: () => api.offers.list.query(undefined), enabled: canReadOffers });
  const offerTitles = useMemo(() => new Map((offers.data?.offers ?? []).map((offer) => [offer.id, offer.title])), [offers.data]);

  const filtered = JSON.stringify(filters) !== JSON.stringify(NO_FILTERS);
  const now = Date.now();

  const columns: Column<Redemption>[] = [
    { key: 'redeemedAt', header: 'Redeemed', render: (r) => formatDateTime(r.redeemedAt) },
    { key: 'code', header: 'Code', render: (r) => <span className="partner-mono partner-nowrap">{r.codeMask}</span> },
    { key: 'order', header: 'Order', render: (r) => <span className="partner-nowrap">{r.orderRef}</span> },
    {
      key: 'offer',
      header: 'Offer',
      wide: true,
      render: (r) =>
        canReadOffers ? (
          <Link to={`/offers/${r.offerId}`} onClick={(event) => event.stopPropagation()}>
            {offerTitles.get(r.offerId) ?? r.offerId}
          </Link>
        ) : (
          <span className="partner-mono">{r.offerId}</span>
        ),
    },
    { key: 'issuer', header: 'Issuer', wide: true, render: (r) => r.issuer },
    { key: 'amount', header: 'Order amount', align: 'right', wide: true, render: (r) => <span className="partner-nowrap">{formatMoney(r.orderAmountMinor, r.currency)}</span> },
    { key: 'discount', header: 'Discount', align: 'right', render: (r) => <span className="partner-nowrap">{formatMoney(r.discountMinor, r.currency)}</span> },
    {
      key: 'status',
      header: 'Status',
      render: (r) => (
        <div className="partner-title-cell">
          <StatusBadge status={r.status} />
          {r.reversal && (
            <span className="partner-subtle" title={formatDateTime(r.reversal.at)}>
              {r.reversal.reason}
            </span>
          )}
        </div>
      ),
    },
    {
      key: 'actions',
      header: <span className="visually-hidden">Actions</span>,
      align: 'right',
      render: (r) =>
        canRedeem && reversible(r, now) ? (
          <Button size="sm" variant="danger" onClick={() => setReversing(r)} aria-label={`Reverse redemption of order ${r.orderRef}`}>
            Reverse
          </Button>
        ) : r.status === 'redeemed' ? (
          <span className="partner-subtle">Window closed</span>
        ) : null,
    },
  ];

  const rows = redemptions.data?.pages.flatMap((page) => page.redemptions) ?? [];
  return (
    <>
      <PageHeader
        title="Redemptions"
        description="Codes your shops redeemed for orders. Reverse a redemption when its order is cancelled or refunded: the code can be redeemed again and the charge is reversed in settlement."
      />
      <form
        className="filters"
        role="search"
        aria-label="Filter redemptions"
        onSubmit={(event) => {
          event.preventDefault();
          if (draft.from && draft.to && draft.to < draft.from) {
            setDateProblem('“To” is before “From”.');
            return;
          }
          setDateProblem(undefined);
          setFilters(draft);
        }}
      >
        <TextField label="Code" value={draft.code} onChange={(e) => setDraft({ ...draft, code: e.target.value })} placeholder="The full code" maxLength={128} />
        <TextField label="Order reference" value={draft.orderRef} onChange={(e) => setDraft({ ...draft, orderRef: e.target.value })} placeholder="e.g. ORD-1042" maxLength={200} />
        <SelectField
          label="Status"
          value={draft.status}
          onChange={(e) => setDraft({ ...draft, status: e.target.value as Filters['status'] })}
          options={[
            { value: '', label: 'All' },
            { value: 'redeemed', label: 'Redeemed' },
            { value: 'reversed', label: 'Reversed' },
          ]}
        />
        {canReadOffers && (
          <SelectField
            label="Offer"
            value={draft.offerId}
            onChange={(e) => setDraft({ ...draft, offerId: e.target.value })}
            options={[{ value: '', label: 'All offers' }, ...(offers.data?.offers ?? []).map((offer) => ({ value: offer.id, label: offer.title }))]}
          />
        )}
        <TextField label="From" type="date" value={draft.from} onChange={(e) => setDraft({ ...draft, from: e.target.value })} />
        <TextField label="To" type="date" value={draft.to} onChange={(e) => setDraft({ ...draft, to: e.target.value })} error={dateProblem} />
        <div className="row">
          <Button type="submit" variant="primary">
            Search
          </Button>
          {filtered && (
            <Button
              onClick={() => {
                setDraft(NO_FILTERS);
                setFilters(NO_FILTERS);
                setDateProblem(undefined);
              }}
            >
              Clear
            </Button>
          )}
        </div>
      </form>
      <section className="card">
        <QueryView query={redemptions}>
          {() => (
            <>
              <DataTable
                caption="Redemptions"
                columns={columns}
                rows={rows}
                rowKey={(r) => r.id}
                empty={
                  filtered ? (
                    <EmptyState title="No redemption matches" description="Codes are matched exactly as typed; order references too. Widen the dates or clear the filters." />
                  ) : (
                    <EmptyState title="No redemptions yet" description="When a shop redeems one of your codes at the till or online (POST /api/v1/redemptions), it appears here." />
                  )
                }
              />
              <LoadMore hasMore={Boolean(redemptions.hasNextPage)} loading={redemptions.isFetchingNextPage} onLoad={() => void redemptions.fetchNextPage()} />
            </>
          )}
        </QueryView>
      </section>
      {reversing && <ReverseDialog redemption={reversing} offerTitle={offerTitles.get(reversing.offerId)} onClose={() => setReversing(null)} />}
    </>
  );
}

function ReverseDialog({ redemption, offerTitle, onClose }: { redemption: Redemption; offerTitle: string | undefined; onClose: () => void }) {
  const toast = useToast();
  const queryClient = useQueryClient();
  const [reason, setReason] = useState('');
  const [problem, setProblem] = useState<string>();
  const reverse = useMutation({
    mutationFn: () => api.redemptions.reverse.mutate({ redemptionId: redemption.id, reason: reason.trim() }),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: ['redemptions.list'] });
      void queryClient.invalidateQueries({ queryKey: ['offers.poolState', redemption.offerId] });
      toast(`Redemption of order ${redemption.orderRef} reversed`);
      onClose();
    },
  });
  return (
    <ConfirmDialog
      open
      danger
      title="Reverse this redemption?"
      confirmLabel="Reverse redemption"
      busy={reverse.isPending}
      onClose={onClose}
      onConfirm={() => {
        if (!reason.trim()) {
          setProblem('Say why, e.g. “Order cancelled by the customer”. The issuer sees it.');
          return;
        }
        setProblem(undefined);
        reverse.mutate();
      }}
    >
      <p>
        Code <span className="partner-mono">{redemption.codeMask}</span> was redeemed for order <strong>{redemption.orderRef}</strong>
        {offerTitle && <> ({offerTitle})</>}, a discount of {formatMoney(redemption.discountMinor, redemption.currency)}.
      </p>
      <ul className="partner-reasons">
        <li>The code becomes valid again: the customer can use it on another order.</li>
        <li>The settlement charge for this redemption is reversed in the current open period.</li>
        <li>The issuer ({redemption.issuer}) is told, with your reason.</li>
      </ul>
      <FormError error={reverse.error} shownFields={['reason']} />
      <TextField label="Reason" value={reason} onChange={(e) => setReason(e.target.value)} error={problem ?? fieldError(reverse.error, 'reason')} maxLength={500} autoFocus />
    </ConfirmDialog>
  );
}
