import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { api, type RouterInputs } from '../../api.ts';
import { useCan } from '../../session.tsx';
import { Button, EmptyState, PageHeader, QueryView, StatusBadge, Tabs } from '../../ui/components.tsx';
import { formatDate, formatDateTime, formatMoney, formatNumber } from '../../ui/format.ts';
import { DataTable, type Column } from '../../ui/table.tsx';
import { useToast } from '../../ui/toast.tsx';
import { describeValue, type Offer } from './money.ts';
import { OfferFormDialog } from './offer-form.tsx';
import './partner.css';

type StatusFilter = 'all' | Offer['status'];

const STATUS_TABS: { id: StatusFilter; label: string }[] = [
  { id: 'all', label: 'All' },
  { id: 'active', label: 'Active' },
  { id: 'draft', label: 'Drafts' },
  { id: 'paused', label: 'Paused' },
  { id: 'closed', label: 'Closed' },
];

const STOCK_LABELS: Record<Offer['stockState'], string> = { ok: 'ok', low: 'low', empty: 'empty' };

export function OffersPage() {
  const can = useCan();
  const canWrite = can({ tenantRole: 'partner', scopes: ['pools:write'] });
  const navigate = useNavigate();
  const toast = useToast();
  const queryClient = useQueryClient();
  const [status, setStatus] = useState<StatusFilter>('all');
  const [creating, setCreating] = useState(false);

  const input = status === 'all' ? undefined : { status };
  const offers = useQuery({ queryKey: ['offers.list', input ?? {}], queryFn: () => api.offers.list.query(input) });
  const create = useMutation({
    mutationFn: (body: RouterInputs['offers']['create']) => api.offers.create.mutate(body),
    onSuccess: (offer) => {
      void queryClient.invalidateQueries({ queryKey: ['offers.list'] });
      setCreating(false);
      toast(`Offer “${offer.title}” created`);
      void navigate(`/offers/${offer.id}`);
    },
  });

  const columns: Column<Offer>[] = [
    {
      key: 'title',
      header: 'Offer',
      render: (offer) => (
        <div className="partner-title-cell">
          <Link to={`/offers/${offer.id}`} onClick={(event) => event.stopPropagation()}>
            {offer.title}
          </Link>
          <span className="partner-subtle partner-mono">{offer.id}</span>
        </div>
      ),
    },
    { key: 'value', header: 'Discount', render: (offer) => describeValue(offer) },
    { key: 'minOrder', header: 'Minimum order', align: 'right', wide: true, render: (offer) => (offer.minOrderMinor === null ? '—' : formatMoney(offer.minOrderMinor, offer.currency)) },
    { key: 'status', header: 'Status', render: (offer) => <StatusBadge status={offer.status} /> },
    { key: 'stock', header: 'Stock', render: (offer) => <StatusBadge status={STOCK_LABELS[offer.stockState]} /> },
    { key: 'threshold', header: 'Low-stock alert at', align: 'right', wide: true, render: (offer) => formatNumber(offer.lowStockThreshold) },
    { key: 'validUntil', header: 'Codes valid until', wide: true, render: (offer) => formatDate(offer.codesValidUntil) },
    { key: 'updated', header: 'Updated', wide: true, render: (offer) => formatDateTime(offer.updatedAt) },
  ];

  return (
    <>
      <PageHeader
        title="Offers & pools"
        description="The discounts your shop gives to the coalition's customers, and the pools of promo codes behind them. Open an offer to upload codes and watch its stock."
        actions={
          canWrite && (
            <Button variant="primary" onClick={() => setCreating(true)}>
              New offer
            </Button>
          )
        }
      />
      <Tabs tabs={STATUS_TABS} value={status} onChange={setStatus} />
      <section className="card">
        <QueryView query={offers}>
          {(data) => (
            <DataTable
              caption="Offers"
              columns={columns}
              rows={data.offers}
              rowKey={(offer) => offer.id}
              onRowClick={(offer) => void navigate(`/offers/${offer.id}`)}
              empty={
                status === 'all' ? (
                  <EmptyState
                    title="No offers yet"
                    description="Create an offer, then upload or generate its promo codes. Issuers can list it in their reward catalogs once an agreement covers it."
                    action={
                      canWrite && (
                        <Button variant="primary" onClick={() => setCreating(true)}>
                          Create your first offer
                        </Button>
                      )
                    }
                  />
                ) : (
                  <EmptyState title={`No ${status} offers`} description="Offers with other statuses are under the other tabs." />
                )
              }
            />
          )}
        </QueryView>
      </section>
      {creating && (
        <OfferFormDialog
          open
          offer={null}
          busy={create.isPending}
          error={create.error}
          onClose={() => {
            setCreating(false);
            create.reset();
          }}
          onCreate={(body) => create.mutate(body)}
        />
      )}
    </>
  );
}
