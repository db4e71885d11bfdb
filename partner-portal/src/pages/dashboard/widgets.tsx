import type { ReactNode } from 'react';
import { useQueries, useQuery, type UseQueryResult } from '@tanstack/react-query';
import { Link } from 'react-router';
import { api } from '../../api.ts';
import { useSession } from '../../session.tsx';
import { Card, ErrorState, Loading, StatusBadge, type Tone } from '../../ui/components.tsx';
import { formatMoney, formatNumber, formatPeriod } from '../../ui/format.ts';
import { monthInZone } from '../finance/finance-shared.tsx';
import './dashboard.css';

const DAY_MS = 24 * 60 * 60 * 1000;
/** Lists are read a page at a time: a count at the page size reads "200+". */
const PAGE = 200;

/** A number people watch, linking to the page where they act on it. */
export function StatLink({ label, value, to, hint, tone, money }: { label: string; value: ReactNode; to: string; hint?: ReactNode; tone?: Tone | undefined; money?: boolean }) {
  return (
    <Link to={to} className={`stat-link ${tone ? `stat-${tone}` : ''}`}>
      <div className="stat-label">{label}</div>
      <div className={`stat-value ${money ? 'stat-value-money' : ''}`}>{value}</div>
      {hint && <div className="stat-hint">{hint}</div>}
    </Link>
  );
}

/** A dashboard card: loading and error states for the queries behind it, then its numbers. */
function Widget({ title, queries, children, actions }: { title: string; queries: UseQueryResult<unknown>[]; children: () => ReactNode; actions?: ReactNode }) {
  const failed = queries.find((query) => query.isError);
  return (
    <Card title={title} actions={actions}>
      {failed ? (
        <ErrorState error={failed.error} retry={() => queries.filter((query) => query.isError).forEach((query) => void query.refetch())} />
      ) : queries.some((query) => query.isPending) ? (
        <Loading rows={2} />
      ) : (
        children()
      )}
    </Card>
  );
}

const countLabel = (count: number, more: boolean) => `${formatNumber(count)}${more ? '+' : ''}`;
const sinceDays = (days: number) => new Date(Math.floor(Date.now() / 60_000) * 60_000 - days * DAY_MS).toISOString();

// ---- pool manager -----------------------------------------------------------------

export function PoolsWidget() {
  const offers = useQuery({ queryKey: ['offers.list', {}], queryFn: () => api.offers.list.query({}) });
  const all = offers.data?.offers ?? [];
  const live = all.filter((offer) => offer.status === 'active' || offer.status === 'paused');
  const short = live.filter((offer) => offer.stockState !== 'ok');
  const shown = [...short].sort((a, b) => (a.stockState === b.stockState ? 0 : a.stockState === 'empty' ? -1 : 1)).slice(0, 5);
  const pools = useQueries({ queries: shown.map((offer) => ({ queryKey: ['offers.poolState', offer.id], queryFn: () => api.offers.poolState.query({ offerId: offer.id }) })) });
  return (
    <Widget title="Offers and pools" queries={[offers]} actions={<Link to="/offers">All offers</Link>}>
      {() => (
        <>
          <div className="stat-links">
            <StatLink label="Active offers" value={formatNumber(all.filter((offer) => offer.status === 'active').length)} to="/offers" />
            <StatLink label="Low stock" value={formatNumber(live.filter((offer) => offer.stockState === 'low').length)} to="/offers" tone={live.some((offer) => offer.stockState === 'low') ? 'warn' : undefined} hint="at or below the threshold" />
            <StatLink label="Empty pools" value={formatNumber(live.filter((offer) => offer.stockState === 'empty').length)} to="/offers" tone={live.some((offer) => offer.stockState === 'empty') ? 'bad' : undefined} hint="no code to hand out" />
          </div>
          {shown.length > 0 ? (
            <ul className="widget-list" aria-label="Offers running out of codes">
              {shown.map((offer, index) => {
                const pool = pools[index]?.data;
                return (
                  <li key={offer.id}>
                    <Link to={`/offers/${offer.id}`}>{offer.title}</Link>
                    <span className="widget-list-value">
                      {pool ? (
                        <span className="small">
                          {formatNumber(pool.counts.available)} left
                          {pool.daysUntilEmpty !== null && pool.counts.available > 0 && <span className="muted">, ~{formatNumber(pool.daysUntilEmpty)} days</span>}
                        </span>
                      ) : (
                        <span className="muted small">…</span>
                      )}
                      <StatusBadge status={offer.stockState} />
                    </span>
                  </li>
                );
              })}
            </ul>
          ) : (
            live.length > 0 && <p className="widget-caption">Every live offer has codes above its low-stock threshold.</p>
          )}
          {all.length === 0 && <p className="widget-caption">No offers yet. Create one and upload codes to appear in issuers’ catalogs.</p>}
        </>
      )}
    </Widget>
  );
}

export function RedemptionsWidget() {
  const input = { from: sinceDays(7), limit: PAGE };
  const redemptions = useQuery({ queryKey: ['redemptions.list', input], queryFn: () => api.redemptions.list.query(input) });
  return (
    <Widget title="Redemptions, last 7 days" queries={[redemptions]} actions={<Link to="/redemptions">All redemptions</Link>}>
      {() => {
        const rows = redemptions.data!.redemptions;
        const more = redemptions.data!.nextCursor !== null;
        const redeemed = rows.filter((row) => row.status === 'redeemed');
        const discounts = new Map<string, number>();
        for (const row of redeemed) discounts.set(row.currency, (discounts.get(row.currency) ?? 0) + row.discountMinor);
        return (
          <div className="stat-links">
            <StatLink label="Redeemed" value={countLabel(redeemed.length, more)} to="/redemptions" hint="codes used at checkout" />
            <StatLink label="Reversed" value={countLabel(rows.length - redeemed.length, more)} to="/redemptions" hint="orders cancelled or refunded" tone={rows.length > redeemed.length ? 'warn' : undefined} />
            <StatLink
              label="Discounts given"
              money
              value={discounts.size === 0 ? '—' : [...discounts].map(([currency, amount]) => formatMoney(amount, currency)).join(' · ')}
              to="/redemptions"
              hint={more ? `of the latest ${PAGE}` : undefined}
            />
          </div>
        );
      }}
    </Widget>
  );
}

// ---- marketer -----------------------------------------------------------------------

export function CampaignsWidget({ withStock }: { withStock: boolean }) {
  const campaigns = useQuery({ queryKey: ['campaigns.list'], queryFn: () => api.campaigns.list.query() });
  const rewards = useQuery({ queryKey: ['rewards.list', { status: 'active' }], queryFn: () => api.rewards.list.query({ status: 'active' }) });
  const catalog = useQuery({ queryKey: ['catalog', {}], queryFn: () => api.catalog.query({}), enabled: withStock });
  return (
    <Widget title="Campaigns and rewards" queries={withStock ? [campaigns, rewards, catalog] : [campaigns, rewards]} actions={<Link to="/rewards">Reward catalog</Link>}>
      {() => {
        const list = campaigns.data!.campaigns;
        const running = list.filter((campaign) => campaign.status === 'running');
        const active = rewards.data!.rewards;
        const stock = catalog.data?.rewards ?? [];
        const unavailable = stock.filter((reward) => !reward.availability.exchangeable);
        const low = [...stock].sort((a, b) => a.availability.codesLeft - b.availability.codesLeft).slice(0, 5);
        return (
          <>
            <div className="stat-links">
              <StatLink label="Running campaigns" value={formatNumber(running.length)} to="/campaigns" hint={`${formatNumber(list.filter((campaign) => campaign.status === 'scheduled').length)} scheduled`} />
              <StatLink label="Active rewards" value={formatNumber(active.length)} to="/rewards" />
              {withStock && <StatLink label="Not exchangeable now" value={formatNumber(unavailable.length)} to="/rewards" tone={unavailable.length ? 'warn' : undefined} hint="out of codes, paused or capped" />}
            </div>
            {withStock && low.length > 0 && (
              <ul className="widget-list" aria-label="Reward stock">
                {low.map((reward) => (
                  <li key={reward.id}>
                    <Link to="/rewards">{reward.title}</Link>
                    <span className="widget-list-value small">
                      {reward.availability.codesLeftAtLeast ? `${formatNumber(reward.availability.codesLeft)}+` : formatNumber(reward.availability.codesLeft)} codes left
                      {!reward.availability.exchangeable && <StatusBadge status={reward.availability.reason === 'POOL_EXHAUSTED' ? 'empty' : 'paused'} />}
                    </span>
                  </li>
                ))}
              </ul>
            )}
            {list.length === 0 && <p className="widget-caption">No campaign yet: create one to start crediting stickers.</p>}
          </>
        );
      }}
    </Widget>
  );
}

// ---- agreements (every tenant role that reads them) ------------------------------------

export function AgreementsWidget() {
  const session = useSession();
  const agreements = useQuery({ queryKey: ['agreements.list', {}], queryFn: () => api.agreements.list.query({}) });
  return (
    <Widget title="Agreements" queries={[agreements]} actions={<Link to="/agreements">All agreements</Link>}>
      {() => {
        const list = agreements.data!.agreements;
        const me = session.tenant?.slug;
        const awaiting = list.filter((agreement) => agreement.status === 'proposed' && agreement.proposed.side !== (agreement.issuer.slug === me ? 'issuer' : 'partner'));
        return (
          <div className="stat-links">
            <StatLink label="In force" value={formatNumber(list.filter((agreement) => agreement.inForce).length)} to="/agreements" tone="good" />
            <StatLink label="Awaiting your answer" value={formatNumber(awaiting.length)} to="/agreements" tone={awaiting.length ? 'warn' : undefined} hint="proposals from the other side" />
            <StatLink label="Suspended" value={formatNumber(list.filter((agreement) => agreement.status === 'suspended').length)} to="/agreements" />
          </div>
        );
      }}
    </Widget>
  );
}

// ---- finance --------------------------------------------------------------------------

export function FinanceWidget() {
  const session = useSession();
  const period = monthInZone(session.tenant?.timezone, -1);
  const input = { period, limit: PAGE };
  const statements = useQuery({ queryKey: ['settlement.list', input], queryFn: () => api.settlement.list.query(input) });
  const open = useQuery({ queryKey: ['settlement.list', { status: 'disputed', limit: PAGE }], queryFn: () => api.settlement.list.query({ status: 'disputed', limit: PAGE }) });
  const link = (status?: string) => `/settlement?period=${period}${status ? `&status=${status}` : ''}`;
  return (
    <Widget title={`Settlement for ${formatPeriod(period)}`} queries={[statements, open]} actions={<Link to={link()}>Statements of the month</Link>}>
      {() => {
        const rows = statements.data!.statements;
        const count = (status: string) => rows.filter((row) => row.status === status).length;
        const nets = new Map<string, number>();
        for (const net of rows.flatMap((row) => row.yourNet)) nets.set(net.currency, (nets.get(net.currency) ?? 0) + net.amountMinor);
        const currency = session.tenant?.currency ?? 'EUR';
        const owedToYou = [...nets].filter(([, amount]) => amount > 0);
        const youOwe = [...nets].filter(([, amount]) => amount < 0);
        const money = (entries: [string, number][]) => (entries.length ? entries.map(([cur, amount]) => formatMoney(Math.abs(amount), cur)).join(' · ') : formatMoney(0, currency));
        const disputedAnyMonth = open.data!.statements.length;
        return (
          <>
            <div className="stat-links">
              <StatLink label="Drafts to finalize" value={formatNumber(count('draft'))} to={link('draft')} tone={count('draft') ? 'warn' : undefined} />
              <StatLink label="Finalized, unpaid" value={formatNumber(count('finalized'))} to={link('finalized')} />
              <StatLink label="Paid" value={formatNumber(count('paid'))} to={link('paid')} tone={count('paid') ? 'good' : undefined} />
              <StatLink label="Disputed" value={formatNumber(count('disputed'))} to={link('disputed')} tone={count('disputed') ? 'bad' : undefined} />
              <StatLink label="Owed to you" money value={money(owedToYou)} to={link()} tone={owedToYou.length ? 'good' : undefined} hint="net of the month's statements" />
              <StatLink label="You owe" money value={money(youOwe)} to={link()} tone={youOwe.length ? 'warn' : undefined} hint="net of the month's statements" />
            </div>
            {rows.length === 0 && <p className="widget-caption">No statement for {formatPeriod(period)} yet: drafts are built on the 1st at 03:00 in each agreement’s time zone.</p>}
            {disputedAnyMonth > 0 && (
              <p className="widget-caption">
                <Link to="/settlement?status=disputed">
                  {countLabel(disputedAnyMonth, open.data!.nextCursor !== null)} disputed statement{disputedAnyMonth === 1 ? '' : 's'} in all months
                </Link>{' '}
                need an answer.
              </p>
            )}
          </>
        );
      }}
    </Widget>
  );
}

// ---- admin ----------------------------------------------------------------------------

export function AdminWidget() {
  const users = useQuery({ queryKey: ['users.list'], queryFn: () => api.users.list.query({}) });
  const keys = useQuery({ queryKey: ['apiKeys.list'], queryFn: () => api.apiKeys.list.query() });
  return (
    <Widget title="People and access" queries={[users, keys]}>
      {() => {
        const people = users.data!.users;
        const pending = users.data!.invitations.filter((invitation) => invitation.status === 'pending');
        return (
          <div className="stat-links">
            <StatLink label="Active users" value={formatNumber(people.filter((user) => user.status === 'active').length)} to="/users" hint={`${formatNumber(people.filter((user) => user.status === 'disabled').length)} disabled`} />
            <StatLink label="Pending invitations" value={formatNumber(pending.length)} to="/users" tone={pending.length ? 'warn' : undefined} />
            <StatLink label="Active API keys" value={formatNumber(keys.data!.apiKeys.filter((key) => key.revokedAt === null).length)} to="/api-keys" />
          </div>
        );
      }}
    </Widget>
  );
}

export function WebhooksWidget() {
  const endpoints = useQuery({ queryKey: ['webhooks.listEndpoints'], queryFn: () => api.webhooks.listEndpoints.query({}) });
  const input = { status: 'failed' as const, since: sinceDays(7), limit: PAGE };
  const failed = useQuery({ queryKey: ['webhooks.listDeliveries', input], queryFn: () => api.webhooks.listDeliveries.query(input) });
  return (
    <Widget title="Webhooks" queries={[endpoints, failed]} actions={<Link to="/webhooks">Endpoints and deliveries</Link>}>
      {() => {
        const list = endpoints.data!.endpoints;
        const failing = list.filter((endpoint) => endpoint.status === 'enabled' && endpoint.failingSince !== null);
        const failedCount = failed.data!.deliveries.length;
        return (
          <div className="stat-links">
            <StatLink label="Enabled endpoints" value={formatNumber(list.filter((endpoint) => endpoint.status === 'enabled').length)} to="/webhooks" hint={`${formatNumber(list.filter((endpoint) => endpoint.status === 'disabled').length)} disabled`} />
            <StatLink label="Failing endpoints" value={formatNumber(failing.length)} to="/webhooks" tone={failing.length ? 'bad' : undefined} hint="last attempts failed" />
            <StatLink label="Failed deliveries" value={countLabel(failedCount, failed.data!.nextCursor !== null)} to="/webhooks" tone={failedCount ? 'bad' : undefined} hint="last 7 days" />
          </div>
        );
      }}
    </Widget>
  );
}

// ---- operator -------------------------------------------------------------------------

export function OperatorWidget() {
  const period = monthInZone('UTC', -1);
  const tenants = useQuery({ queryKey: ['operator.tenants.list', { limit: 500 }], queryFn: () => api.operator.tenants.list.query({ limit: 500 }) });
  const agreements = useQuery({ queryKey: ['operator.agreements.list', {}], queryFn: () => api.operator.agreements.list.query({}) });
  const netting = useQuery({ queryKey: ['operator.settlement.netting', { period }], queryFn: () => api.operator.settlement.netting.query({ period }) });
  return (
    <Widget title="Coalition" queries={[tenants, agreements, netting]}>
      {() => {
        const list = tenants.data!.tenants;
        const more = tenants.data!.nextCursor !== null;
        const deals = agreements.data!.agreements;
        const net = netting.data!;
        return (
          <>
            <div className="stat-links">
              <StatLink label="Active tenants" value={countLabel(list.filter((tenant) => tenant.status === 'active').length, more)} to="/operator/tenants" hint={`${formatNumber(list.filter((tenant) => tenant.status === 'suspended').length)} suspended`} />
              <StatLink label="Agreements in force" value={formatNumber(deals.filter((agreement) => agreement.inForce).length)} to="/operator/agreements" hint={`${formatNumber(deals.filter((agreement) => agreement.status === 'proposed').length)} proposed`} />
              <StatLink label={`Statements, ${formatPeriod(period)}`} value={formatNumber(net.statements)} to="/operator/netting" hint={`${formatNumber(net.draftStatements)} still drafts`} tone={net.draftStatements ? 'warn' : undefined} />
              <StatLink label="Netting transfers" value={formatNumber(net.transfers.length)} to="/operator/netting" hint="to settle every balance" />
            </div>
          </>
        );
      }}
    </Widget>
  );
}

// ---- fraud reviewer ---------------------------------------------------------------

export function FraudWidget() {
  const open = useQuery({ queryKey: ['fraud.cases.list', { status: 'open', limit: PAGE }], queryFn: () => api.fraud.cases.list.query({ status: 'open', limit: PAGE }) });
  const cases = open.data?.cases ?? [];
  const holds = cases.filter((c) => c.action === 'hold');
  const held = holds.reduce((sum, c) => sum + c.heldStickers, 0);
  const oldest = [...cases].sort((a, b) => a.openedAt.localeCompare(b.openedAt))[0];
  return (
    <Widget title="Fraud review" queries={[open]} actions={<Link to="/fraud">Review queue</Link>}>
      {() => (
        <div className="stat-links">
          <StatLink label="Open cases" value={formatNumber(open.data?.openCount ?? 0)} to="/fraud" tone={(open.data?.openCount ?? 0) > 0 ? 'warn' : undefined} hint={oldest ? `oldest opened ${oldest.openedAt.slice(0, 10)}` : 'nothing to review'} />
          <StatLink label="Holding stickers" value={countLabel(holds.length, cases.length === PAGE)} to="/fraud?action=hold" tone={holds.length > 0 ? 'warn' : undefined} hint={`${formatNumber(held)} stickers wait for a decision`} />
        </div>
      )}
    </Widget>
  );
}
