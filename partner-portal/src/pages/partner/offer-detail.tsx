import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useCallback, useState } from 'react';
import { Link, useParams } from 'react-router';
import { api, problemOf, type RouterInputs } from '../../api.ts';
import { useCan } from '../../session.tsx';
import { Alert, Button, Card, EmptyState, ErrorState, Loading, PageHeader, StatusBadge } from '../../ui/components.tsx';
import { ConfirmDialog } from '../../ui/dialog.tsx';
import { formatDateTime, formatMoney, formatNumber, humanize } from '../../ui/format.ts';
import { useToast } from '../../ui/toast.tsx';
import { CodeBatches } from './code-batches.tsx';
import { describeValue, type Offer } from './money.ts';
import { OfferFormDialog } from './offer-form.tsx';
import { PoolStock } from './pool-stock.tsx';
import './partner.css';

type Status = Offer['status'];

const STATUS_HELP: Record<Status, string> = {
  draft: 'Draft: not handed out yet. Fill its pool, then activate it.',
  active: 'Active: issuers with an agreement covering it hand out its codes.',
  paused: 'Paused: no code is handed out until you resume it. Codes already issued stay valid.',
  closed: 'Closed: takes no new codes and no changes. Codes already issued stay valid until they expire.',
};

export function OfferDetailPage() {
  const { offerId = '' } = useParams();
  const can = useCan();
  const canWrite = can({ tenantRole: 'partner', scopes: ['pools:write'] });
  const toast = useToast();
  const queryClient = useQueryClient();
  const [editing, setEditing] = useState(false);
  const [closing, setClosing] = useState(false);
  const [pending, setPending] = useState(false);

  const offer = useQuery({ queryKey: ['offers.get', offerId], queryFn: () => api.offers.get.query({ offerId }) });
  const batches = useQuery({ queryKey: ['codeBatches.list', offerId], queryFn: () => api.codeBatches.list.query({ offerId }), enabled: offer.isSuccess });

  const refreshPool = useCallback(() => {
    void queryClient.invalidateQueries({ queryKey: ['offers.poolState', offerId] });
    void queryClient.invalidateQueries({ queryKey: ['offers.get', offerId] });
    void queryClient.invalidateQueries({ queryKey: ['offers.list'] });
  }, [queryClient, offerId]);

  const adopt = (updated: Offer) => {
    queryClient.setQueryData(['offers.get', offerId], updated);
    void queryClient.invalidateQueries({ queryKey: ['offers.list'] });
    void queryClient.invalidateQueries({ queryKey: ['offers.poolState', offerId] });
  };

  const setStatus = useMutation({
    mutationFn: (status: Status) => api.offers.setStatus.mutate({ offerId, status }),
    onSuccess: (updated) => {
      adopt(updated);
      setClosing(false);
      toast(
        { active: `“${updated.title}” is active`, paused: `“${updated.title}” is paused`, closed: `“${updated.title}” is closed`, draft: 'Saved' }[updated.status],
        updated.status === 'active' ? 'good' : 'warn',
      );
    },
    onError: (error) => toast(problemOf(error).message, 'bad'),
  });
  const update = useMutation({
    mutationFn: (patch: Omit<RouterInputs['offers']['update'], 'offerId'>) => api.offers.update.mutate({ offerId, ...patch }),
    onSuccess: (updated) => {
      adopt(updated);
      setEditing(false);
      toast('Offer saved');
    },
  });

  if (offer.isPending) {
    return (
      <>
        <PageHeader title="Offer" back={<Link to="/offers">← Offers & pools</Link>} />
        <Loading rows={5} />
      </>
    );
  }
  if (offer.isError) {
    const notFound = problemOf(offer.error).code === 'OFFER_NOT_FOUND' || problemOf(offer.error).code === 'VALIDATION_FAILED';
    return (
      <>
        <PageHeader title="Offer" back={<Link to="/offers">← Offers & pools</Link>} />
        {notFound ? (
          <EmptyState title="No such offer" description="It may have been created in another tenant, or the link is mistyped." action={<Link to="/offers">Back to all offers</Link>} />
        ) : (
          <ErrorState error={offer.error} retry={() => void offer.refetch()} />
        )}
      </>
    );
  }

  const data = offer.data;
  const status = data.status;
  const busy = (target: Status) => setStatus.isPending && setStatus.variables === target;
  return (
    <>
      <PageHeader
        back={<Link to="/offers">← Offers & pools</Link>}
        title={
          <span className="row">
            {data.title} <StatusBadge status={status} />
          </span>
        }
        description={`${describeValue(data)}${data.minOrderMinor !== null ? ` on orders from ${formatMoney(data.minOrderMinor, data.currency)}` : ''} · ${STATUS_HELP[status]}`}
        actions={
          canWrite &&
          status !== 'closed' && (
            <>
              <Button onClick={() => setEditing(true)}>Edit</Button>
              {status === 'draft' && (
                <Button variant="primary" busy={busy('active')} onClick={() => setStatus.mutate('active')}>
                  Activate
                </Button>
              )}
              {status === 'active' && (
                <Button busy={busy('paused')} onClick={() => setStatus.mutate('paused')}>
                  Pause
                </Button>
              )}
              {status === 'paused' && (
                <Button variant="primary" busy={busy('active')} onClick={() => setStatus.mutate('active')}>
                  Resume
                </Button>
              )}
              <Button variant="danger" onClick={() => setClosing(true)}>
                Close offer
              </Button>
            </>
          )
        }
      />
      {status === 'closed' && <Alert tone="neutral" title="This offer is closed.">It takes no new codes and no changes. You can still read its batches, void them and download reject reports.</Alert>}

      <PoolStock offer={data} canWrite={canWrite} pending={pending} />
      <CodeBatches offer={data} canWrite={canWrite} onChanged={refreshPool} onPendingChange={setPending} />

      <Card title="Offer details">
        <dl className="kv partner-kv-wide">
          <dt>Offer id</dt>
          <dd className="partner-mono">{data.id}</dd>
          <dt>Discount</dt>
          <dd>{describeValue(data)}</dd>
          <dt>Minimum order</dt>
          <dd>{data.minOrderMinor === null ? 'None' : formatMoney(data.minOrderMinor, data.currency)}</dd>
          <dt>Description</dt>
          <dd>{data.description || <span className="muted">None</span>}</dd>
          <dt>Terms</dt>
          <dd>
            {data.termsUrl ? (
              <a href={data.termsUrl} rel="noreferrer noopener" target="_blank">
                {data.termsUrl}
              </a>
            ) : (
              <span className="muted">None</span>
            )}
          </dd>
          <dt>Codes valid until</dt>
          <dd>{data.codesValidUntil ? formatDateTime(data.codesValidUntil) : 'No end date'}</dd>
          <dt>Low-stock alert at</dt>
          <dd>{formatNumber(data.lowStockThreshold)} available codes</dd>
          <dt>Cancelled vouchers</dt>
          <dd>{data.onVoucherCancelled === 'void' ? 'Their codes are voided' : 'Their codes return to the pool'}</dd>
          <dt>Code rules</dt>
          <dd>
            {humanize(data.codeRules.case)} case, {data.codeRules.minLength}–{data.codeRules.maxLength} characters from <code className="partner-mono">{data.codeRules.characters}</code>
          </dd>
          <dt>Created</dt>
          <dd>{formatDateTime(data.createdAt)}</dd>
          <dt>Updated</dt>
          <dd>{formatDateTime(data.updatedAt)}</dd>
        </dl>
      </Card>

      {editing && (
        <OfferFormDialog
          open
          offer={data}
          hasBatches={Boolean(batches.data?.batches.some((batch) => batch.status !== 'failed'))}
          busy={update.isPending}
          error={update.error}
          onClose={() => {
            setEditing(false);
            update.reset();
          }}
          onUpdate={(patch) => update.mutate(patch)}
        />
      )}
      <ConfirmDialog
        open={closing}
        danger
        title={`Close “${data.title}”?`}
        confirmLabel="Close offer"
        busy={busy('closed')}
        onClose={() => setClosing(false)}
        onConfirm={() => setStatus.mutate('closed')}
      >
        <p>A closed offer hands out no more codes, takes no new codes and can no longer be edited. Closing is final: it cannot be reopened.</p>
        <p className="muted small">Codes already issued to customers stay valid until they expire and can still be redeemed.</p>
      </ConfirmDialog>
    </>
  );
}
