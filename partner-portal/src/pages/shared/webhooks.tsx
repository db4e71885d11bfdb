import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, type RouterInputs, type RouterOutputs } from '../../api.ts';
import {
  Alert,
  Badge,
  Button,
  Card,
  CheckboxGroup,
  EmptyState,
  ErrorState,
  fieldError,
  FormError,
  Loading,
  PageHeader,
  QueryView,
  SecretReveal,
  SelectField,
  StatusBadge,
  Tabs,
  TextField,
} from '../../ui/components.tsx';
import { ConfirmDialog, Dialog } from '../../ui/dialog.tsx';
import { formatDateTime, formatNumber } from '../../ui/format.ts';
import { DataTable, LoadMore, type Column } from '../../ui/table.tsx';
import { useToast } from '../../ui/toast.tsx';
import './admin.css';

type Endpoint = RouterOutputs['webhooks']['listEndpoints']['endpoints'][number];
type Delivery = RouterOutputs['webhooks']['listDeliveries']['deliveries'][number];
type DeliveryStatus = NonNullable<RouterInputs['webhooks']['listDeliveries']['status']>;

/** The webhook event catalog (server/src/outbox/events.ts plus webhook.test), grouped as docs/webhooks.md lists it. */
const EVENT_GROUPS: { label: string; types: string[] }[] = [
  { label: 'Stickers', types: ['stickers.credited', 'stickers.reversed', 'stickers.expiring_soon', 'stickers.expired', 'reward.reachable'] },
  { label: 'Pools', types: ['pool.low', 'pool.empty', 'pool.refilled'] },
  { label: 'Vouchers', types: ['voucher.issued', 'voucher.cancelled', 'voucher.redeemed', 'voucher.redemption_reversed'] },
  { label: 'Agreements', types: ['agreement.proposed', 'agreement.accepted', 'agreement.declined', 'agreement.withdrawn', 'agreement.suspended', 'agreement.resumed', 'agreement.ended'] },
  {
    label: 'Settlement',
    types: ['settlement.statement_finalized', 'settlement.statement_paid', 'settlement.statement_disputed', 'settlement.dispute_resolved', 'settlement.adjustment_recorded'],
  },
  { label: 'Webhooks', types: ['webhook.delivery_exhausted', 'webhook.endpoint_disabled', 'webhook.test'] },
];
const ALL_EVENT_TYPES = EVENT_GROUPS.flatMap((group) => group.types);

const DISABLED_REASONS: Record<string, string> = {
  manual: 'disabled by your team',
  gone: 'the receiver answered 410 Gone',
  failing: 'every attempt failed for 5 days',
};

function refreshWebhooks(queryClient: ReturnType<typeof useQueryClient>) {
  void queryClient.invalidateQueries({ queryKey: ['webhooks.listEndpoints'] });
  void queryClient.invalidateQueries({ queryKey: ['webhooks.listDeliveries'] });
  void queryClient.invalidateQueries({ queryKey: ['webhooks.getDelivery'] });
}

export function WebhooksPage() {
  const [tab, setTab] = useState<'endpoints' | 'deliveries'>('endpoints');
  // Re-read every 30 s: the server turns an endpoint off by itself (410 Gone, or failing for days).
  const endpoints = useQuery({ queryKey: ['webhooks.listEndpoints'], queryFn: () => api.webhooks.listEndpoints.query(), refetchInterval: 30_000 });
  const [creating, setCreating] = useState(false);
  return (
    <>
      <PageHeader
        title="Webhooks"
        description="Your systems hear about events (a code redeemed, a pool running low, a statement finalized) the moment they happen: each event is POSTed, signed, to your endpoints and retried until they answer 2xx."
        actions={
          <Button variant="primary" onClick={() => setCreating(true)}>
            Add endpoint
          </Button>
        }
      />
      <Tabs
        tabs={[
          { id: 'endpoints', label: 'Endpoints' },
          { id: 'deliveries', label: 'Delivery log' },
        ]}
        value={tab}
        onChange={setTab}
      />
      {tab === 'endpoints' ? <EndpointsSection endpoints={endpoints} onCreate={() => setCreating(true)} /> : <DeliveriesSection endpoints={endpoints.data?.endpoints ?? []} />}
      <EndpointDialog open={creating} onClose={() => setCreating(false)} />
    </>
  );
}

function EndpointsSection({ endpoints, onCreate }: { endpoints: ReturnType<typeof useQuery<RouterOutputs['webhooks']['listEndpoints']>>; onCreate: () => void }) {
  const queryClient = useQueryClient();
  const toast = useToast();
  const [editing, setEditing] = useState<Endpoint | null>(null);
  const [rotating, setRotating] = useState<Endpoint | null>(null);
  const [disabling, setDisabling] = useState<Endpoint | null>(null);
  const test = useMutation({
    mutationFn: (endpointId: string) => api.webhooks.sendTest.mutate({ endpointId }),
    onSuccess: () => {
      refreshWebhooks(queryClient);
      toast('Test event queued: see the delivery log');
    },
    onError: (error) => toast(`Test not sent: ${error.message}`, 'bad'),
  });
  const enable = useMutation({
    mutationFn: (endpointId: string) => api.webhooks.enableEndpoint.mutate({ endpointId }),
    onSuccess: () => {
      refreshWebhooks(queryClient);
      toast('Endpoint enabled: new events are delivered again');
    },
    onError: (error) => toast(`Not enabled: ${error.message}`, 'bad'),
  });

  const columns: Column<Endpoint>[] = [
    {
      key: 'url',
      header: 'Endpoint',
      render: (endpoint) => (
        <div className="cell-stack">
          <span className="mono url-cell">{endpoint.url}</span>
          {endpoint.description && <span className="cell-sub">{endpoint.description}</span>}
        </div>
      ),
    },
    {
      key: 'events',
      header: 'Events',
      render: (endpoint) =>
        endpoint.eventTypes === null ? (
          <Badge tone="info">All events</Badge>
        ) : (
          <span title={endpoint.eventTypes.join(', ')}>
            {endpoint.eventTypes.length <= 2 ? endpoint.eventTypes.join(', ') : `${endpoint.eventTypes.slice(0, 2).join(', ')} +${endpoint.eventTypes.length - 2} more`}
          </span>
        ),
    },
    {
      key: 'status',
      header: 'Status',
      render: (endpoint) => (
        <div className="cell-stack">
          <span>
            <StatusBadge status={endpoint.status} /> {endpoint.status === 'enabled' && endpoint.failingSince && <Badge tone="warn">Failing</Badge>}
          </span>
          {endpoint.disabled && <span className="cell-sub">{DISABLED_REASONS[endpoint.disabled.reason] ?? endpoint.disabled.reason}</span>}
          {endpoint.status === 'enabled' && endpoint.failingSince && <span className="cell-sub">failing since {formatDateTime(endpoint.failingSince)}</span>}
          {endpoint.secretRotation && <span className="cell-sub">old secret signs until {formatDateTime(endpoint.secretRotation.previousValidUntil)}</span>}
        </div>
      ),
    },
    { key: 'sent', header: 'Events queued', align: 'right', wide: true, render: (endpoint) => formatNumber(endpoint.lastSequence) },
    {
      key: 'actions',
      header: <span className="visually-hidden">Actions</span>,
      align: 'right',
      render: (endpoint) => (
        <div className="cell-actions">
          {endpoint.status === 'enabled' && (
            <Button size="sm" onClick={() => test.mutate(endpoint.id)} busy={test.isPending && test.variables === endpoint.id} aria-label={`Send test event to ${endpoint.url}`}>
              Send test
            </Button>
          )}
          <Button size="sm" onClick={() => setEditing(endpoint)} aria-label={`Edit ${endpoint.url}`}>
            Edit
          </Button>
          <Button size="sm" onClick={() => setRotating(endpoint)} aria-label={`Rotate the secret of ${endpoint.url}`}>
            Rotate secret
          </Button>
          {endpoint.status === 'enabled' ? (
            <Button size="sm" variant="danger" onClick={() => setDisabling(endpoint)} aria-label={`Disable ${endpoint.url}`}>
              Disable
            </Button>
          ) : (
            <Button size="sm" onClick={() => enable.mutate(endpoint.id)} busy={enable.isPending && enable.variables === endpoint.id} aria-label={`Enable ${endpoint.url}`}>
              Enable
            </Button>
          )}
        </div>
      ),
    },
  ];

  return (
    <Card>
      <QueryView query={endpoints}>
        {(data) => (
          <DataTable
            caption="Webhook endpoints"
            columns={columns}
            rows={data.endpoints}
            rowKey={(endpoint) => endpoint.id}
            empty={
              <EmptyState
                title="No endpoints yet"
                description="Add the https address of a receiver in your systems, then send it a test event."
                action={<Button onClick={onCreate}>Add endpoint</Button>}
              />
            }
          />
        )}
      </QueryView>
      <EndpointDialog open={editing !== null} endpoint={editing} onClose={() => setEditing(null)} />
      <RotateSecretDialog endpoint={rotating} onClose={() => setRotating(null)} />
      <DisableEndpointDialog endpoint={disabling} onClose={() => setDisabling(null)} />
    </Card>
  );
}

/** Create (secret shown once afterwards) or edit an endpoint. */
function EndpointDialog({ open, endpoint, onClose }: { open: boolean; endpoint?: Endpoint | null; onClose: () => void }) {
  const queryClient = useQueryClient();
  const toast = useToast();
  const editing = Boolean(endpoint);
  const [form, setForm] = useState<{ url: string; description: string; all: boolean; types: string[] } | null>(null);
  const values = form ?? { url: endpoint?.url ?? '', description: endpoint?.description ?? '', all: endpoint ? endpoint.eventTypes === null : true, types: endpoint?.eventTypes ?? [] };
  const set = (patch: Partial<typeof values>) => setForm({ ...values, ...patch });
  const [checked, setChecked] = useState(false);
  type EventType = NonNullable<RouterInputs['webhooks']['createEndpoint']['eventTypes']>[number];
  const save = useMutation({
    mutationFn: async () => {
      const eventTypes = values.all ? null : (values.types as EventType[]);
      if (endpoint) return { updated: await api.webhooks.updateEndpoint.mutate({ endpointId: endpoint.id, url: values.url, description: values.description, eventTypes }) };
      return { created: await api.webhooks.createEndpoint.mutate({ url: values.url, description: values.description, eventTypes }) };
    },
    onSuccess: (result) => {
      refreshWebhooks(queryClient);
      toast(result.created ? 'Endpoint added' : 'Endpoint saved');
      if (result.updated) close();
    },
  });
  const close = () => {
    setForm(null);
    setChecked(false);
    save.reset();
    onClose();
  };
  const typesMissing = checked && !values.all && values.types.length === 0 ? 'Choose at least one event type, or send all events.' : undefined;
  const created = save.data?.created;

  if (created) {
    return (
      <Dialog open={open} title="Endpoint added" onClose={close} footer={<Button variant="primary" onClick={close}>Done</Button>}>
        <p>
          Events now go to <span className="mono url-cell">{created.url}</span>. Check each delivery's <code>webhook-signature</code> header with this secret (Standard Webhooks) before trusting it.
        </p>
        <SecretReveal label="Signing secret" value={created.secret}>
          Shown once. Store it in the receiver's configuration now; if it is lost, rotate the secret to get a new one.
        </SecretReveal>
      </Dialog>
    );
  }
  return (
    <Dialog
      open={open}
      wide
      title={editing ? 'Edit endpoint' : 'Add endpoint'}
      onClose={close}
      onSubmit={() => {
        setChecked(true);
        if (!values.all && values.types.length === 0) return;
        save.mutate();
      }}
      footer={
        <>
          <Button onClick={close}>Cancel</Button>
          <Button type="submit" variant="primary" busy={save.isPending}>
            {editing ? 'Save' : 'Add endpoint'}
          </Button>
        </>
      }
    >
      <FormError error={save.error} shownFields={['url', 'description', 'eventTypes']} />
      <TextField
        label="URL"
        type="url"
        required
        autoFocus
        placeholder="https://hooks.shop.example/coalition"
        hint="An https address your receiver listens on. Deliveries come from the Coalition Exchange server."
        value={values.url}
        onChange={(e) => set({ url: e.target.value })}
        error={fieldError(save.error, 'url')}
      />
      <TextField label="Description" maxLength={500} placeholder="Order system, production" value={values.description} onChange={(e) => set({ description: e.target.value })} error={fieldError(save.error, 'description')} />
      <fieldset className="field">
        <legend>Events to send</legend>
        <div className="choice-row">
          <label>
            <input type="radio" name="event-scope" checked={values.all} onChange={() => set({ all: true })} /> All events, including types added later
          </label>
          <label>
            <input type="radio" name="event-scope" checked={!values.all} onChange={() => set({ all: false })} /> Only the types I choose
          </label>
        </div>
        {!values.all && (
          <div className="grid-3">
            {EVENT_GROUPS.map((group) => (
              <CheckboxGroup
                key={group.label}
                legend={group.label}
                options={group.types.map((type) => ({ value: type, label: type }))}
                value={values.types.filter((type) => group.types.includes(type))}
                onChange={(chosen) => set({ types: [...values.types.filter((type) => !group.types.includes(type)), ...chosen].sort((a, b) => ALL_EVENT_TYPES.indexOf(a) - ALL_EVENT_TYPES.indexOf(b)) })}
              />
            ))}
          </div>
        )}
        {(typesMissing ?? fieldError(save.error, 'eventTypes')) && (
          <div className="field-error" role="alert">
            {typesMissing ?? fieldError(save.error, 'eventTypes')}
          </div>
        )}
      </fieldset>
    </Dialog>
  );
}

function RotateSecretDialog({ endpoint, onClose }: { endpoint: Endpoint | null; onClose: () => void }) {
  const queryClient = useQueryClient();
  const toast = useToast();
  const rotate = useMutation({
    mutationFn: (endpointId: string) => api.webhooks.rotateSecret.mutate({ endpointId }),
    onSuccess: () => {
      refreshWebhooks(queryClient);
      toast('Signing secret rotated');
    },
  });
  const close = () => {
    rotate.reset();
    onClose();
  };
  if (rotate.data) {
    return (
      <Dialog open={endpoint !== null} title="New signing secret" onClose={close} footer={<Button variant="primary" onClick={close}>Done</Button>}>
        <SecretReveal label="Signing secret" value={rotate.data.secret}>
          Shown once. Until {rotate.data.secretRotation ? formatDateTime(rotate.data.secretRotation.previousValidUntil) : 'tomorrow'} deliveries carry signatures by both the old and the new secret, so
          switch your receiver to this one before then.
        </SecretReveal>
      </Dialog>
    );
  }
  return (
    <ConfirmDialog open={endpoint !== null} title="Rotate the signing secret?" confirmLabel="Rotate secret" busy={rotate.isPending} onConfirm={() => endpoint && rotate.mutate(endpoint.id)} onClose={close}>
      <FormError error={rotate.error} />
      <p>
        A new secret is made and shown once. For 24 hours every delivery to <span className="mono url-cell">{endpoint?.url}</span> is signed with both secrets, so the receiver keeps working while you switch it over.
      </p>
    </ConfirmDialog>
  );
}

function DisableEndpointDialog({ endpoint, onClose }: { endpoint: Endpoint | null; onClose: () => void }) {
  const queryClient = useQueryClient();
  const toast = useToast();
  const disable = useMutation({
    mutationFn: (endpointId: string) => api.webhooks.disableEndpoint.mutate({ endpointId }),
    onSuccess: () => {
      refreshWebhooks(queryClient);
      toast('Endpoint disabled');
      close();
    },
  });
  const close = () => {
    disable.reset();
    onClose();
  };
  return (
    <ConfirmDialog open={endpoint !== null} title="Disable endpoint?" confirmLabel="Disable endpoint" danger busy={disable.isPending} onConfirm={() => endpoint && disable.mutate(endpoint.id)} onClose={close}>
      <FormError error={disable.error} />
      <p>
        Nothing more is sent to <span className="mono url-cell">{endpoint?.url}</span>. Pending deliveries and events that happen while it is off are kept as failed: after enabling it again, use “Replay failed” in the delivery log to send them.
      </p>
    </ConfirmDialog>
  );
}

// ---- delivery log --------------------------------------------------------------------

function DeliveriesSection({ endpoints }: { endpoints: Endpoint[] }) {
  const [endpointId, setEndpointId] = useState('');
  const [status, setStatus] = useState<DeliveryStatus | ''>('');
  const [openId, setOpenId] = useState<string | null>(null);
  const [replayingFailed, setReplayingFailed] = useState(false);
  const filter = { ...(endpointId && { endpointId }), ...(status && { status }) };
  const deliveries = useInfiniteQuery({
    queryKey: ['webhooks.listDeliveries', filter],
    queryFn: ({ pageParam }) => api.webhooks.listDeliveries.query({ ...filter, limit: 50, ...(pageParam && { cursor: pageParam }) }),
    initialPageParam: '' as string,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
    // While something is on its way, watch it arrive.
    refetchInterval: (query) => (query.state.data?.pages.some((page) => page.deliveries.some((delivery) => delivery.status === 'pending')) ? 2_000 : false),
  });
  const rows = deliveries.data?.pages.flatMap((page) => page.deliveries) ?? [];
  const urlOf = (id: string) => endpoints.find((endpoint) => endpoint.id === id)?.url ?? id;

  const columns: Column<Delivery>[] = [
    {
      key: 'event',
      header: 'Event',
      render: (delivery) => (
        <div className="cell-stack">
          <span className="mono">{delivery.eventType}</span>
          <span className="cell-sub mono">{delivery.id}</span>
        </div>
      ),
    },
    { key: 'endpoint', header: 'Endpoint', wide: true, render: (delivery) => <span className="mono url-cell small">{urlOf(delivery.endpointId)}</span> },
    { key: 'status', header: 'Status', render: (delivery) => <StatusBadge status={delivery.status} /> },
    { key: 'attempts', header: 'Attempts', align: 'right', render: (delivery) => formatNumber(delivery.attempts) },
    {
      key: 'response',
      header: 'Last response',
      render: (delivery) =>
        delivery.lastStatusCode !== null ? (
          <span className={delivery.lastStatusCode < 300 ? 'attempt-ok' : 'attempt-error'}>HTTP {delivery.lastStatusCode}</span>
        ) : delivery.lastError ? (
          <span className="attempt-error small">{delivery.lastError}</span>
        ) : (
          <span className="muted">—</span>
        ),
    },
    { key: 'created', header: 'Created', render: (delivery) => formatDateTime(delivery.createdAt) },
    { key: 'next', header: 'Next attempt', wide: true, render: (delivery) => (delivery.nextAttemptAt ? formatDateTime(delivery.nextAttemptAt) : <span className="muted">—</span>) },
  ];

  return (
    <Card
      title="Delivery log"
      actions={
        <>
          <Button size="sm" onClick={() => void deliveries.refetch()} busy={deliveries.isRefetching && !deliveries.isFetchingNextPage}>
            Refresh
          </Button>
          <Button size="sm" onClick={() => setReplayingFailed(true)}>
            Replay failed…
          </Button>
        </>
      }
    >
      <div className="filters">
        <SelectField
          label="Endpoint"
          value={endpointId}
          onChange={(e) => setEndpointId(e.target.value)}
          options={[{ value: '', label: 'All endpoints' }, ...endpoints.map((endpoint) => ({ value: endpoint.id, label: endpoint.description || endpoint.url }))]}
        />
        <SelectField
          label="Status"
          value={status}
          onChange={(e) => setStatus(e.target.value as DeliveryStatus | '')}
          options={[
            { value: '', label: 'Any status' },
            { value: 'pending', label: 'Pending' },
            { value: 'succeeded', label: 'Succeeded' },
            { value: 'failed', label: 'Failed' },
          ]}
        />
      </div>
      {deliveries.isPending ? (
        <Loading rows={5} />
      ) : deliveries.isError ? (
        <ErrorState error={deliveries.error} retry={() => void deliveries.refetch()} />
      ) : (
        <DataTable
          caption="Webhook deliveries"
          columns={columns}
          rows={rows}
          rowKey={(delivery) => delivery.id}
          onRowClick={(delivery) => setOpenId(delivery.id)}
          empty={<EmptyState title="No deliveries" description={endpointId || status ? 'None match these filters.' : 'Events sent to your endpoints appear here with every attempt. Send a test event to see one.'} />}
        />
      )}
      <LoadMore hasMore={Boolean(deliveries.hasNextPage)} loading={deliveries.isFetchingNextPage} onLoad={() => void deliveries.fetchNextPage()} />
      <DeliveryDialog deliveryId={openId} endpointUrl={openId ? urlOf(rows.find((row) => row.id === openId)?.endpointId ?? '') : ''} onClose={() => setOpenId(null)} />
      <ReplayFailedDialog open={replayingFailed} endpoints={endpoints} onClose={() => setReplayingFailed(false)} />
    </Card>
  );
}

function DeliveryDialog({ deliveryId, endpointUrl, onClose }: { deliveryId: string | null; endpointUrl: string; onClose: () => void }) {
  const queryClient = useQueryClient();
  const toast = useToast();
  const delivery = useQuery({
    queryKey: ['webhooks.getDelivery', deliveryId],
    queryFn: () => api.webhooks.getDelivery.query({ deliveryId: deliveryId! }),
    enabled: deliveryId !== null,
    refetchInterval: (query) => (query.state.data?.status === 'pending' ? 2_000 : false),
  });
  const replay = useMutation({
    mutationFn: (id: string) => api.webhooks.replayDelivery.mutate({ deliveryId: id }),
    onSuccess: () => {
      refreshWebhooks(queryClient);
      toast('Delivery queued again, with the same webhook-id');
    },
  });
  const close = () => {
    replay.reset();
    onClose();
  };
  return (
    <Dialog
      open={deliveryId !== null}
      wide
      title="Delivery"
      onClose={close}
      footer={
        <>
          <Button onClick={close}>Close</Button>
          <Button variant="primary" busy={replay.isPending} disabled={!delivery.data} onClick={() => deliveryId && replay.mutate(deliveryId)}>
            Replay
          </Button>
        </>
      }
    >
      <FormError error={replay.error} />
      <QueryView query={delivery}>
        {(data) => (
          <div className="stack">
            <dl className="kv">
              <dt>Event</dt>
              <dd className="mono">{data.eventType}</dd>
              <dt>Status</dt>
              <dd>
                <StatusBadge status={data.status} />
                {data.deliveredAt && <span className="muted small"> delivered {formatDateTime(data.deliveredAt)}</span>}
                {data.failedAt && <span className="muted small"> gave up {formatDateTime(data.failedAt)}</span>}
                {data.nextAttemptAt && <span className="muted small"> next attempt {formatDateTime(data.nextAttemptAt)}</span>}
              </dd>
              <dt>Endpoint</dt>
              <dd className="mono url-cell">{endpointUrl || data.endpointId}</dd>
              <dt>webhook-id</dt>
              <dd className="mono">{data.id}</dd>
              <dt>Sequence</dt>
              <dd>{data.sequence}</dd>
              <dt>Occurred</dt>
              <dd>{formatDateTime(data.occurredAt)}</dd>
            </dl>
            <div>
              <h3>Attempts</h3>
              {data.attemptLog.length === 0 ? (
                <p className="muted">{data.status === 'failed' ? `Not attempted: ${data.lastError ?? 'the endpoint was disabled'}.` : 'No attempt yet: it is queued.'}</p>
              ) : (
                <DataTable
                  caption="Attempts"
                  columns={[
                    { key: 'n', header: '#', align: 'right', render: (attempt) => attempt.attempt },
                    { key: 'at', header: 'Started', render: (attempt) => formatDateTime(attempt.startedAt) },
                    {
                      key: 'result',
                      header: 'Result',
                      render: (attempt) =>
                        attempt.statusCode !== null ? (
                          <span className={attempt.statusCode < 300 ? 'attempt-ok' : 'attempt-error'}>HTTP {attempt.statusCode}</span>
                        ) : (
                          <span className="attempt-error">{attempt.error ?? 'no response'}</span>
                        ),
                    },
                    { key: 'duration', header: 'Duration', align: 'right', render: (attempt) => `${formatNumber(attempt.durationMs)} ms` },
                    {
                      key: 'response',
                      header: 'Response',
                      wide: true,
                      render: (attempt) => (attempt.responseBody ? <span className="mono small">{attempt.responseBody.slice(0, 120)}</span> : <span className="muted">—</span>),
                    },
                  ]}
                  rows={data.attemptLog}
                  rowKey={(attempt) => String(attempt.attempt)}
                  empty={null}
                />
              )}
            </div>
            <div>
              <h3>Body</h3>
              <pre className="payload">{JSON.stringify(data.payload, null, 2)}</pre>
            </div>
          </div>
        )}
      </QueryView>
    </Dialog>
  );
}

function localInputValue(date: Date): string {
  const shifted = new Date(date.getTime() - date.getTimezoneOffset() * 60_000);
  return shifted.toISOString().slice(0, 16);
}

function ReplayFailedDialog({ open, endpoints, onClose }: { open: boolean; endpoints: Endpoint[]; onClose: () => void }) {
  const queryClient = useQueryClient();
  const toast = useToast();
  const dayAgo = () => localInputValue(new Date(Date.now() - 24 * 60 * 60 * 1000));
  const [since, setSince] = useState(dayAgo);
  const [endpointId, setEndpointId] = useState('');
  const replay = useMutation({
    mutationFn: () => api.webhooks.replayFailed.mutate({ since: new Date(since).toISOString(), ...(endpointId && { endpointId }) }),
    onSuccess: (result) => {
      refreshWebhooks(queryClient);
      toast(result.replayed === 0 ? 'No failed deliveries to replay' : `${formatNumber(result.replayed)} failed ${result.replayed === 1 ? 'delivery' : 'deliveries'} queued again`);
      close();
    },
  });
  // Each opening offers the last 24 hours again, for every endpoint.
  const close = () => {
    replay.reset();
    setSince(dayAgo());
    setEndpointId('');
    onClose();
  };
  return (
    <Dialog
      open={open}
      title="Replay failed deliveries"
      onClose={close}
      onSubmit={() => replay.mutate()}
      footer={
        <>
          <Button onClick={close}>Cancel</Button>
          <Button type="submit" variant="primary" busy={replay.isPending}>
            Replay
          </Button>
        </>
      }
    >
      <FormError error={replay.error} shownFields={['since', 'endpointId']} />
      <p>Every delivery that failed since the moment you choose is sent again, with the same webhook-id (receivers that dedupe on it stay safe). Disabled endpoints are skipped.</p>
      <TextField label="Failed since" type="datetime-local" required value={since} onChange={(e) => setSince(e.target.value)} error={fieldError(replay.error, 'since')} />
      <SelectField
        label="Endpoint"
        value={endpointId}
        onChange={(e) => setEndpointId(e.target.value)}
        options={[{ value: '', label: 'Every enabled endpoint' }, ...endpoints.map((endpoint) => ({ value: endpoint.id, label: endpoint.description || endpoint.url }))]}
        error={fieldError(replay.error, 'endpointId')}
      />
      {endpoints.every((endpoint) => endpoint.status === 'disabled') && endpoints.length > 0 && <Alert tone="warn" title="Every endpoint is disabled: enable one first." />}
    </Dialog>
  );
}
