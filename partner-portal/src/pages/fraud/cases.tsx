import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { api, type RouterInputs } from '../../api.ts';
import { useSession } from '../../session.tsx';
import { Button, EmptyState, PageHeader, QueryView, SelectField } from '../../ui/components.tsx';
import { formatDateTime, formatNumber } from '../../ui/format.ts';
import { DataTable, LoadMore, type Column } from '../../ui/table.tsx';
import { ACTION_OPTIONS, ActionBadge, CaseStatusBadge, FraudTabs, SubjectCell, type CaseAction, type FraudCase } from './fraud-shared.tsx';

type ListInput = RouterInputs['fraud']['cases']['list'];
type StatusFilter = 'open' | 'closed' | 'any';

const PAGE_SIZE = 50;

/**
 * The review queue: the cases the anti-fraud rules opened, newest first. Open cases by
 * default; filters by status, rule and action are kept in the address, so a filtered
 * queue can be shared or reloaded.
 */
export function FraudCasesPage() {
  const session = useSession();
  const timeZone = session.tenant?.timezone;
  const navigate = useNavigate();
  const [params, setParams] = useSearchParams();
  const statusParam = params.get('status');
  const status: StatusFilter = statusParam === 'closed' || statusParam === 'any' ? statusParam : 'open';
  const ruleId = params.get('rule') ?? '';
  const actionParam = params.get('action') ?? '';
  const action = ACTION_OPTIONS.some((option) => option.value === actionParam) ? (actionParam as CaseAction) : '';

  const setFilter = (name: string, value: string) => {
    const next = new URLSearchParams(params);
    if (value) next.set(name, value);
    else next.delete(name);
    setParams(next, { replace: true });
  };

  const rules = useQuery({ queryKey: ['fraud.rules.list'], queryFn: () => api.fraud.rules.list.query() });
  const knownRule = (rules.data?.rules ?? []).some((rule) => rule.id === ruleId);
  const input: Omit<ListInput, 'cursor'> = {
    limit: PAGE_SIZE,
    ...(status !== 'any' && { status }),
    ...(ruleId && knownRule && { ruleId: ruleId as ListInput['ruleId'] }),
    ...(action && { action }),
  };
  const cases = useInfiniteQuery({
    queryKey: ['fraud.cases.list', input],
    queryFn: ({ pageParam }) => api.fraud.cases.list.query({ ...input, ...(pageParam && { cursor: pageParam }) }),
    initialPageParam: '' as string,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
    // Rules open cases while tills ring up receipts: keep a queue left open current.
    refetchInterval: 30_000,
  });
  const rows = cases.data?.pages.flatMap((page) => page.cases) ?? [];
  const openCount = cases.data?.pages[0]?.openCount;
  const filtered = Boolean(ruleId || action || status !== 'open');

  const columns: Column<FraudCase>[] = [
    {
      key: 'opened',
      header: 'Opened',
      render: (c) => (
        <span className="fraud-cell">
          <Link to={`/fraud/cases/${c.id}`} onClick={(event) => event.stopPropagation()} className="fraud-when">
            {formatDateTime(c.openedAt, timeZone)}
          </Link>
          {c.lastHitAt !== c.openedAt && <span className="fraud-sub fraud-when">last hit {formatDateTime(c.lastHitAt, timeZone)}</span>}
        </span>
      ),
    },
    {
      key: 'rule',
      header: 'Rule',
      render: (c) => (
        <span className="fraud-rule-title" title={c.ruleId}>
          {c.ruleTitle}
        </span>
      ),
    },
    { key: 'subject', header: 'Card / subject', render: (c) => <SubjectCell fraudCase={c} /> },
    { key: 'action', header: 'Action', render: (c) => <ActionBadge action={c.action} /> },
    { key: 'hits', header: 'Hits', align: 'right', render: (c) => formatNumber(c.hits) },
    { key: 'held', header: 'Held', align: 'right', wide: true, render: (c) => (c.heldStickers > 0 ? formatNumber(c.heldStickers) : <span className="muted">—</span>) },
    { key: 'summary', header: 'What it saw', wide: true, render: (c) => <span className="fraud-summary" title={c.summary}>{c.summary}</span> },
    { key: 'status', header: 'Status', render: (c) => <CaseStatusBadge fraudCase={c} /> },
  ];

  return (
    <>
      <PageHeader
        title="Fraud review"
        description="Cases the anti-fraud rules opened on purchases, returns, exchanges and redemptions. Open a case to read what the rule saw and decide: release or reverse held stickers, block the card, or dismiss a false alarm."
        actions={
          <Button onClick={() => void cases.refetch()} busy={cases.isRefetching && !cases.isFetchingNextPage}>
            Refresh
          </Button>
        }
      />
      <FraudTabs current="queue" openCount={openCount} />
      <div className="filters fraud-filters" role="search" aria-label="Filter cases">
        <SelectField
          label="Status"
          value={status}
          onChange={(event) => setFilter('status', event.target.value === 'open' ? '' : event.target.value)}
          options={[
            { value: 'open', label: 'Open' },
            { value: 'closed', label: 'Closed' },
            { value: 'any', label: 'Open and closed' },
          ]}
        />
        <SelectField
          label="Rule"
          value={knownRule ? ruleId : ''}
          onChange={(event) => setFilter('rule', event.target.value)}
          options={[{ value: '', label: rules.isPending ? 'Loading…' : 'All rules' }, ...(rules.data?.rules ?? []).map((rule) => ({ value: rule.id, label: rule.title }))]}
        />
        <SelectField label="Action" value={action} onChange={(event) => setFilter('action', event.target.value)} options={[{ value: '', label: 'Any action' }, ...ACTION_OPTIONS]} />
        {filtered && (
          <div className="row">
            <Button onClick={() => setParams(new URLSearchParams(), { replace: true })}>Show open cases</Button>
          </div>
        )}
      </div>
      <section className="card">
        <QueryView query={cases}>
          {() => (
            <>
              <DataTable
                caption="Fraud cases"
                columns={columns}
                rows={rows}
                rowKey={(c) => c.id}
                onRowClick={(c) => navigate(`/fraud/cases/${c.id}`)}
                empty={
                  !filtered ? (
                    <EmptyState title="No open cases" description="Nothing is waiting for review. A case opens here when a rule flags, holds or blocks a request; see the Rules tab for what each rule looks for." />
                  ) : (
                    <EmptyState title="No case matches" description="No case has this status, rule and action." action={<Button onClick={() => setParams(new URLSearchParams(), { replace: true })}>Show open cases</Button>} />
                  )
                }
              />
              <LoadMore hasMore={Boolean(cases.hasNextPage)} loading={cases.isFetchingNextPage} onLoad={() => void cases.fetchNextPage()} />
            </>
          )}
        </QueryView>
      </section>
    </>
  );
}
