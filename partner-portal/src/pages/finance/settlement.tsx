import { useEffect, useState, type FormEvent } from 'react';
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { api, type RouterInputs } from '../../api.ts';
import { useCan, useSession } from '../../session.tsx';
import { Alert, Button, Card, EmptyState, ErrorState, FormError, Loading, PageHeader, SelectField, Stat, StatGrid, StatusBadge, TextField, fieldError } from '../../ui/components.tsx';
import { Dialog } from '../../ui/dialog.tsx';
import { DataTable, LoadMore, type Column } from '../../ui/table.tsx';
import { useToast } from '../../ui/toast.tsx';
import { formatDateTime, formatMoney, formatNumber, formatPeriod } from '../../ui/format.ts';
import {
  MoneyList,
  NetAmount,
  PERIOD_PATTERN,
  ReconciledBadge,
  STATEMENT_STATUS_OPTIONS,
  STATUS_MEANING,
  monthInZone,
  owedSentence,
  partiesOf,
  sumByCurrency,
  type SettlementRun,
  type Statement,
  type StatementStatus,
} from './finance-shared.tsx';

type ListInput = RouterInputs['settlement']['list'];

/**
 * Settlement: every statement of the tenant's agreements, newest month first, with
 * who owes whom; filters by month, agreement and status (kept in the address so a
 * filtered list can be shared); building a draft now, or a run over all agreements.
 */
export function SettlementPage() {
  const session = useSession();
  const can = useCan();
  const canWrite = can({ scopes: ['settlement:write'] });
  const canAgreements = can({ scopes: ['agreements:read'] });
  const [params, setParams] = useSearchParams();
  const period = params.get('period') ?? '';
  const agreementId = params.get('agreement') ?? '';
  const status = (params.get('status') ?? '') as StatementStatus | '';
  const [buildOpen, setBuildOpen] = useState(false);
  const [runOpen, setRunOpen] = useState(false);
  const [runId, setRunId] = useState<string | null>(null);
  const lastClosed = monthInZone(session.tenant?.timezone, -1);
  const navigate = useNavigate();

  const setFilter = (name: string, value: string) => {
    const next = new URLSearchParams(params);
    if (value) next.set(name, value);
    else next.delete(name);
    setParams(next, { replace: true });
  };

  const input: Omit<ListInput, 'cursor'> = {
    limit: 50,
    ...(PERIOD_PATTERN.test(period) && { period }),
    ...(agreementId && { agreementId }),
    ...(status && { status }),
  };
  const statements = useInfiniteQuery({
    queryKey: ['settlement.list', 'pages', input],
    queryFn: ({ pageParam }) => api.settlement.list.query({ ...input, ...(pageParam && { cursor: pageParam }) }),
    initialPageParam: '' as string,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  });
  const agreements = useQuery({ queryKey: ['agreements.list', {}], queryFn: () => api.agreements.list.query({}), enabled: canAgreements });
  const agreementOptions = (agreements.data?.agreements ?? []).filter((agreement) => !['proposed', 'declined', 'withdrawn'].includes(agreement.status));

  const rows = statements.data?.pages.flatMap((page) => page.statements) ?? [];
  const filtered = Boolean(period || agreementId || status);

  const columns: Column<Statement>[] = [
    { key: 'period', header: 'Month', render: (row) => <Link to={`/settlement/${row.id}`}>{formatPeriod(row.period)}</Link> },
    {
      key: 'agreement',
      header: 'Agreement',
      render: (row) => (
        <div>
          <div>{row.agreementName}</div>
          <div className="muted small">with {partiesOf(row).other}</div>
        </div>
      ),
    },
    { key: 'status', header: 'Status', render: (row) => <StatusBadge status={row.status} /> },
    { key: 'entries', header: 'Entries', align: 'right', wide: true, render: (row) => formatNumber(row.entryCount) },
    {
      key: 'owed',
      header: 'Who owes whom',
      wide: true,
      render: (row) => (
        <span className="money-list money-list-start">
          {row.totals.length === 0 ? <span className="muted">No entries</span> : row.totals.map((total) => <span key={total.currency}>{owedSentence(row, total)}</span>)}
        </span>
      ),
    },
    {
      key: 'net',
      header: 'Your net',
      align: 'right',
      render: (row) => <MoneyList sums={sumByCurrency(row.yourNet)} empty={<span className="muted">—</span>} render={(amount, currency) => <NetAmount amountMinor={amount} currency={currency} />} />,
    },
    { key: 'reconciled', header: 'Your reconciliation', wide: true, render: (row) => <ReconciledBadge reconciliation={row.reconciliation[row.yourSide]} /> },
    { key: 'built', header: 'Built', wide: true, render: (row) => <span className="small">{formatDateTime(row.builtAt)}</span> },
  ];

  return (
    <>
      <PageHeader
        title="Settlement"
        description="Monthly statements of your agreements: what each side owes, from draft to paid. Open a statement to review its lines, finalize it, record the payment, download it or reconcile it with your own records."
        actions={
          canWrite && (
            <>
              <Button onClick={() => setRunOpen(true)}>Build all agreements…</Button>
              <Button variant="primary" onClick={() => setBuildOpen(true)}>
                Build statement
              </Button>
            </>
          )
        }
      />

      {runId && <RunStatus runId={runId} onDismiss={() => setRunId(null)} />}

      <div className="filters" role="search" aria-label="Filter statements">
        <TextField label="Month" type="month" value={period} max={monthInZone(session.tenant?.timezone)} onChange={(event) => setFilter('period', event.target.value)} />
        {canAgreements && (
          <SelectField
            label="Agreement"
            value={agreementId}
            onChange={(event) => setFilter('agreement', event.target.value)}
            options={[{ value: '', label: agreements.isPending ? 'Loading…' : 'All agreements' }, ...(agreements.data?.agreements ?? []).map((agreement) => ({ value: agreement.id, label: agreement.name }))]}
          />
        )}
        <SelectField label="Status" value={status} onChange={(event) => setFilter('status', event.target.value)} options={[{ value: '', label: 'Any status' }, ...STATEMENT_STATUS_OPTIONS]} />
        <div className="row">
          <Button size="sm" variant="ghost" onClick={() => setFilter('period', lastClosed)} disabled={period === lastClosed}>
            Last closed month
          </Button>
          {filtered && (
            <Button size="sm" variant="ghost" onClick={() => setParams(new URLSearchParams(), { replace: true })}>
              Clear filters
            </Button>
          )}
        </div>
      </div>

      {statements.isPending ? (
        <Card>
          <Loading label="Loading statements…" rows={5} />
        </Card>
      ) : statements.isError ? (
        <ErrorState error={statements.error} retry={() => void statements.refetch()} />
      ) : (
        <>
          <Summary rows={rows} partial={statements.hasNextPage} />
          {PERIOD_PATTERN.test(period) && <NettingCard period={period} />}
          <Card title={filtered ? 'Statements matching the filters' : 'All statements'}>
            <DataTable
              caption="Settlement statements"
              columns={columns}
              rows={rows}
              rowKey={(row) => row.id}
              onRowClick={(row) => void navigate(`/settlement/${row.id}`)}
              empty={
                <EmptyState
                  title={filtered ? 'No statement matches these filters' : 'No statements yet'}
                  description={
                    filtered
                      ? 'Statements exist for the months an agreement was in force. Try another month or clear the filters.'
                      : 'Statements are built automatically on the 1st of each month for the month that ended. You can also build one now for an agreement and a month.'
                  }
                  action={
                    canWrite && (
                      <Button variant="primary" onClick={() => setBuildOpen(true)}>
                        Build statement
                      </Button>
                    )
                  }
                />
              }
            />
            <LoadMore hasMore={statements.hasNextPage} loading={statements.isFetchingNextPage} onLoad={() => void statements.fetchNextPage()} />
          </Card>
          <p className="muted small">
            Statuses: <strong>Draft</strong> — {STATUS_MEANING.draft} <strong>Finalized</strong> — {STATUS_MEANING.finalized} <strong>Paid</strong> — {STATUS_MEANING.paid}{' '}
            <strong>Disputed</strong> — {STATUS_MEANING.disputed}
          </p>
        </>
      )}

      {canWrite && (
        <>
          <BuildDialog open={buildOpen} onClose={() => setBuildOpen(false)} agreements={agreementOptions} agreementsLoading={agreements.isPending && canAgreements} defaultPeriod={lastClosed} initialAgreementId={agreementId} />
          <RunDialog
            open={runOpen}
            onClose={() => setRunOpen(false)}
            defaultPeriod={lastClosed}
            onStarted={(run) => {
              setRunId(run.id);
              setRunOpen(false);
            }}
          />
        </>
      )}
    </>
  );
}

/** Counts by status and the net per currency of the statements shown. */
function Summary({ rows, partial }: { rows: Statement[]; partial: boolean }) {
  const currency = useSession().tenant?.currency ?? 'EUR';
  if (rows.length === 0) return null;
  const count = (status: StatementStatus) => rows.filter((row) => row.status === status).length;
  const nets = sumByCurrency(rows.flatMap((row) => row.yourNet));
  const receive = new Map([...nets].filter(([, amount]) => amount > 0));
  const pay = new Map([...nets].filter(([, amount]) => amount < 0).map(([currency, amount]) => [currency, -amount]));
  const scope = partial ? 'of the statements loaded' : 'of the statements shown';
  return (
    <div className="settlement-summary">
    <StatGrid>
      <Stat label="Drafts" value={formatNumber(count('draft'))} hint="to review and finalize" tone={count('draft') ? 'warn' : undefined} />
      <Stat label="Finalized, unpaid" value={formatNumber(count('finalized'))} hint="waiting for payment" />
      <Stat label="Paid" value={formatNumber(count('paid'))} tone={count('paid') ? 'good' : undefined} />
      <Stat label="Disputed" value={formatNumber(count('disputed'))} tone={count('disputed') ? 'bad' : undefined} />
      <Stat label="Net owed to you" value={<MoneyList sums={receive} empty={formatMoney(0, currency)} />} hint={scope} tone={receive.size ? 'good' : undefined} />
      <Stat label="Net you owe" value={<MoneyList sums={pay} empty={formatMoney(0, currency)} />} hint={scope} tone={pay.size ? 'warn' : undefined} />
    </StatGrid>
    </div>
  );
}

/** The coalition's netting for the month, as it concerns this tenant: its balance and its transfers. */
function NettingCard({ period }: { period: string }) {
  const session = useSession();
  const netting = useQuery({ queryKey: ['settlement.netting', { period }], queryFn: () => api.settlement.netting.query({ period }) });
  const me = session.tenant?.slug;
  return (
    <Card title={`Netting for ${formatPeriod(period)}`}>
      {netting.isPending ? (
        <Loading rows={2} />
      ) : netting.isError ? (
        <ErrorState error={netting.error} retry={() => void netting.refetch()} />
      ) : netting.data.positions.length === 0 ? (
        <p className="muted">Nothing to net for this month: no statement of yours has an amount owed.</p>
      ) : (
        <div className="stack">
          {netting.data.draftStatements > 0 && (
            <Alert tone="warn">
              {netting.data.draftStatements} of your {netting.data.statements} statements of this month are still drafts: these figures can change until they are finalized.
            </Alert>
          )}
          <dl className="kv">
            {netting.data.positions.map((position) => (
              <div key={position.currency} className="kv-row">
                <dt>Your balance ({position.currency})</dt>
                <dd>
                  <NetAmount amountMinor={position.netMinor} currency={position.currency} />{' '}
                  <span className="muted small">
                    (owed to you {formatMoney(position.owedMinor, position.currency)}, you owe {formatMoney(position.owesMinor, position.currency)})
                  </span>
                </dd>
              </div>
            ))}
            <dt>Transfers</dt>
            <dd>
              {netting.data.transfers.length === 0 ? (
                <span className="muted">None: your balance is zero.</span>
              ) : (
                <ul className="plain-list">
                  {netting.data.transfers.map((transfer, index) => (
                    <li key={index}>
                      {transfer.from === me ? `You pay ${transfer.to}` : transfer.to === me ? `${transfer.from} pays you` : `${transfer.from} pays ${transfer.to}`}{' '}
                      <strong>{formatMoney(transfer.amountMinor, transfer.currency)}</strong>
                    </li>
                  ))}
                </ul>
              )}
            </dd>
          </dl>
        </div>
      )}
    </Card>
  );
}

function BuildDialog({
  open,
  onClose,
  agreements,
  agreementsLoading,
  defaultPeriod,
  initialAgreementId,
}: {
  open: boolean;
  onClose: () => void;
  agreements: { id: string; name: string; status: string; issuer: { slug: string }; partner: { slug: string } }[];
  agreementsLoading: boolean;
  defaultPeriod: string;
  initialAgreementId: string;
}) {
  const navigate = useNavigate();
  const toast = useToast();
  const queryClient = useQueryClient();
  const [agreementId, setAgreementId] = useState(initialAgreementId);
  const [period, setPeriod] = useState(defaultPeriod);
  const [touched, setTouched] = useState(false);
  useEffect(() => {
    if (open) {
      setAgreementId(initialAgreementId || (agreements.length === 1 ? agreements[0]!.id : ''));
      setPeriod(defaultPeriod);
      setTouched(false);
    }
    // Reset only when the dialog opens, not when the agreements load or change.
  }, [open]);
  const build = useMutation({
    mutationFn: (input: RouterInputs['settlement']['build']) => api.settlement.build.mutate(input),
    onSuccess: (statement) => {
      void queryClient.invalidateQueries({ queryKey: ['settlement.list'] });
      queryClient.setQueryData(['settlement.get', statement.id], statement);
      toast(statement.status === 'draft' ? `Draft for ${formatPeriod(statement.period)} built` : `${formatPeriod(statement.period)} is already ${statement.status}: shown as it is`);
      onClose();
      build.reset();
      void navigate(`/settlement/${statement.id}`);
    },
  });
  const clientErrors = {
    agreementId: touched && !agreementId ? 'Choose the agreement to settle' : undefined,
    period: touched && !PERIOD_PATTERN.test(period) ? 'Choose a month' : undefined,
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setTouched(true);
    if (!agreementId || !PERIOD_PATTERN.test(period)) return;
    build.mutate({ agreementId, period });
  };
  // Cancel, ×, Escape: the next opening starts without the last answer's error.
  const close = () => {
    build.reset();
    onClose();
  };
  return (
    <Dialog
      open={open}
      title="Build a statement"
      onClose={close}
      onSubmit={submit}
      footer={
        <>
          <Button onClick={close}>Cancel</Button>
          <Button type="submit" variant="primary" busy={build.isPending}>
            Build draft
          </Button>
        </>
      }
    >
      <p className="muted">
        Builds the draft of one agreement for one month from its settlement entries now, or refreshes it if it exists. Rebuilding with nothing new changes nothing; a finalized statement is shown as it is.
      </p>
      <SelectField
        label="Agreement"
        value={agreementId}
        onChange={(event) => setAgreementId(event.target.value)}
        error={clientErrors.agreementId ?? fieldError(build.error, 'agreementId')}
        options={[
          { value: '', label: agreementsLoading ? 'Loading agreements…' : agreements.length ? 'Choose an agreement' : 'No agreement in force' },
          ...agreements.map((agreement) => ({ value: agreement.id, label: `${agreement.name} (${agreement.issuer.slug} ↔ ${agreement.partner.slug})` })),
        ]}
        required
      />
      <TextField
        label="Month"
        type="month"
        value={period}
        onChange={(event) => setPeriod(event.target.value)}
        hint="In the agreement's time zone. The current month gives a preview that cannot be finalized yet."
        error={clientErrors.period ?? fieldError(build.error, 'period')}
        required
      />
      <FormError error={build.error} shownFields={['agreementId', 'period']} />
    </Dialog>
  );
}

function RunDialog({ open, onClose, defaultPeriod, onStarted }: { open: boolean; onClose: () => void; defaultPeriod: string; onStarted: (run: SettlementRun) => void }) {
  const toast = useToast();
  const [period, setPeriod] = useState('');
  useEffect(() => {
    if (open) setPeriod('');
  }, [open]);
  const start = useMutation({
    mutationFn: (input: RouterInputs['settlement']['startRun']) => api.settlement.startRun.mutate(input),
    onSuccess: (run) => {
      toast('Settlement run started');
      start.reset();
      onStarted(run);
    },
  });
  const close = () => {
    start.reset();
    onClose();
  };
  return (
    <Dialog
      open={open}
      title="Build the drafts of all your agreements"
      onClose={close}
      onSubmit={() => start.mutate(period ? { period } : {})}
      footer={
        <>
          <Button onClick={close}>Cancel</Button>
          <Button type="submit" variant="primary" busy={start.isPending}>
            Start run
          </Button>
        </>
      }
    >
      <p className="muted">
        A run builds or refreshes the draft statement of every agreement of yours in the background. Finalized statements are never touched. This page shows its progress.
      </p>
      <TextField
        label="Month (optional)"
        type="month"
        value={period}
        onChange={(event) => setPeriod(event.target.value)}
        hint={`Leave empty for each agreement's last closed month (usually ${formatPeriod(defaultPeriod)}).`}
        error={fieldError(start.error, 'period')}
      />
      <FormError error={start.error} shownFields={['period']} />
    </Dialog>
  );
}

/** A run in progress: polled until it has finished, then the list is refreshed. */
function RunStatus({ runId, onDismiss }: { runId: string; onDismiss: () => void }) {
  const queryClient = useQueryClient();
  const run = useQuery({
    queryKey: ['settlement.getRun', runId],
    queryFn: () => api.settlement.getRun.query({ runId }),
    refetchInterval: (query) => (query.state.data && ['succeeded', 'failed'].includes(query.state.data.status) ? false : 1500),
  });
  const finished = run.data?.status === 'succeeded';
  useEffect(() => {
    if (finished) void queryClient.invalidateQueries({ queryKey: ['settlement.list'] });
  }, [finished, queryClient]);
  return (
    <Card
      title="Settlement run"
      actions={
        <Button size="sm" variant="ghost" onClick={onDismiss}>
          Dismiss
        </Button>
      }
    >
      {run.isPending ? (
        <Loading rows={1} />
      ) : run.isError ? (
        <ErrorState error={run.error} retry={() => void run.refetch()} />
      ) : (
        <div className="run-status" aria-live="polite">
          <StatusBadge status={run.data.status} />
          <span>
            {run.data.period ? formatPeriod(run.data.period) : "Each agreement's last closed month"}
            {' · '}
            {run.data.status === 'queued' && 'waiting for a worker…'}
            {run.data.status === 'running' && `building… ${run.data.statementsBuilt} built so far`}
            {run.data.status === 'succeeded' && `${formatNumber(run.data.statementsBuilt)} built or changed, ${formatNumber(run.data.statementsUnchanged)} unchanged`}
            {run.data.status === 'failed' && `failed after ${run.data.attempts} attempts: ${run.data.error ?? 'unknown error'}`}
          </span>
          {(run.data.status === 'queued' || run.data.status === 'running') && <span className="spinner" aria-hidden="true" />}
          <span className="muted small">started {formatDateTime(run.data.createdAt)}</span>
        </div>
      )}
    </Card>
  );
}
