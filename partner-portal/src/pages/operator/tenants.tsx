import { monthInZone } from '../finance/finance-shared.tsx';
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, type RouterOutputs } from '../../api.ts';
import { Alert, Badge, Button, Card, CheckboxGroup, EmptyState, ErrorState, fieldError, FormError, Loading, PageHeader, QueryView, SecretReveal, Stat, StatGrid, StatusBadge, TextField } from '../../ui/components.tsx';
import { ConfirmDialog, Dialog } from '../../ui/dialog.tsx';
import { formatDate, formatDateTime, formatMoney, formatNumber, formatPeriod } from '../../ui/format.ts';
import { DataTable, LoadMore, type Column } from '../../ui/table.tsx';
import { useToast } from '../../ui/toast.tsx';
import { invitationLink } from '../shared/admin-common.tsx';
import { AgreementDialog, AgreementsTable, filterAgreements, StatusTabs } from '../shared/agreements.tsx';
import '../shared/admin.css';

type Tenant = RouterOutputs['operator']['tenants']['list']['tenants'][number];
type TenantRole = 'issuer' | 'partner';

// ---- tenants ---------------------------------------------------------------------------

export function TenantsPage() {
  const tenants = useInfiniteQuery({
    queryKey: ['operator.tenants.list'],
    queryFn: ({ pageParam }) => api.operator.tenants.list.query({ limit: 100, ...(pageParam && { cursor: pageParam }) }),
    initialPageParam: '' as string,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  });
  const [creating, setCreating] = useState(false);
  const [inviting, setInviting] = useState<Tenant | null>(null);
  const [toggling, setToggling] = useState<Tenant | null>(null);
  const rows = tenants.data?.pages.flatMap((page) => page.tenants) ?? [];

  const columns: Column<Tenant>[] = [
    {
      key: 'name',
      header: 'Tenant',
      render: (tenant) => (
        <div className="cell-stack">
          <strong>{tenant.displayName}</strong>
          <span className="cell-sub mono">{tenant.slug}</span>
        </div>
      ),
    },
    {
      key: 'roles',
      header: 'Roles',
      render: (tenant) => (
        <span className="badge-list">
          {tenant.roles.map((role) => (
            <Badge key={role} tone={role === 'issuer' ? 'info' : 'neutral'}>
              {role === 'issuer' ? 'Issuer' : 'Partner'}
            </Badge>
          ))}
        </span>
      ),
    },
    { key: 'currency', header: 'Currency', render: (tenant) => tenant.currency },
    { key: 'timezone', header: 'Time zone', wide: true, render: (tenant) => tenant.timezone },
    { key: 'rate', header: 'Rate limit', align: 'right', wide: true, render: (tenant) => (tenant.rateLimitPerMinute === null ? <span className="muted">Default</span> : `${formatNumber(tenant.rateLimitPerMinute)}/min`) },
    { key: 'status', header: 'Status', render: (tenant) => <StatusBadge status={tenant.status} /> },
    { key: 'created', header: 'Created', wide: true, render: (tenant) => <span className="nowrap">{formatDate(tenant.createdAt)}</span> },
    {
      key: 'actions',
      header: <span className="visually-hidden">Actions</span>,
      align: 'right',
      render: (tenant) => (
        <div className="cell-actions">
          <Button size="sm" onClick={() => setInviting(tenant)} aria-label={`Invite an admin of ${tenant.displayName}`}>
            Invite admin
          </Button>
          <Button size="sm" variant={tenant.status === 'active' ? 'danger' : 'secondary'} onClick={() => setToggling(tenant)} aria-label={`${tenant.status === 'active' ? 'Suspend' : 'Reactivate'} ${tenant.displayName}`}>
            {tenant.status === 'active' ? 'Suspend' : 'Reactivate'}
          </Button>
        </div>
      ),
    },
  ];

  return (
    <>
      <PageHeader
        title="Tenants"
        description="The retailers of the coalition. Register a retailer, then invite its first admin: they invite their own colleagues and create their API keys."
        actions={
          <Button variant="primary" onClick={() => setCreating(true)}>
            Create tenant
          </Button>
        }
      />
      <Card>
        {tenants.isPending ? (
          <Loading rows={5} />
        ) : tenants.isError ? (
          <ErrorState error={tenants.error} retry={() => void tenants.refetch()} />
        ) : (
          <DataTable
            caption="Tenants"
            columns={columns}
            rows={rows}
            rowKey={(tenant) => tenant.slug}
            empty={<EmptyState title="No tenants yet" description="Create the first retailer of the coalition." action={<Button onClick={() => setCreating(true)}>Create tenant</Button>} />}
          />
        )}
        <LoadMore hasMore={Boolean(tenants.hasNextPage)} loading={tenants.isFetchingNextPage} onLoad={() => void tenants.fetchNextPage()} />
      </Card>
      <CreateTenantDialog open={creating} onClose={() => setCreating(false)} />
      <InviteAdminDialog tenant={inviting} onClose={() => setInviting(null)} />
      <ToggleTenantDialog tenant={toggling} onClose={() => setToggling(null)} />
    </>
  );
}

const ROLE_CHOICES: { value: TenantRole; label: string; hint: string }[] = [
  { value: 'issuer', label: 'Issuer', hint: 'credits its customers with stickers and gives out partner offers as rewards' },
  { value: 'partner', label: 'Partner', hint: 'supplies offers and promo codes, redeems them at checkout' },
];

function browserTimeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

/** Register a tenant; then invite its first admin in the same dialog. */
function CreateTenantDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const queryClient = useQueryClient();
  const toast = useToast();
  const [slug, setSlug] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [roles, setRoles] = useState<TenantRole[]>([]);
  const [timezone, setTimezone] = useState(browserTimeZone);
  const [currency, setCurrency] = useState('');
  const [rateLimit, setRateLimit] = useState('');
  const [checked, setChecked] = useState(false);
  const create = useMutation({
    mutationFn: () =>
      api.operator.tenants.create.mutate({
        slug: slug.trim(),
        displayName: displayName.trim(),
        roles,
        timezone: timezone.trim(),
        currency: currency.trim().toUpperCase(),
        ...(rateLimit.trim() && { rateLimitPerMinute: Number(rateLimit) }),
      }),
    onSuccess: (tenant) => {
      void queryClient.invalidateQueries({ queryKey: ['operator.tenants.list'] });
      toast(`${tenant.displayName} created`);
    },
  });
  const close = () => {
    setSlug('');
    setDisplayName('');
    setRoles([]);
    setCurrency('');
    setRateLimit('');
    setChecked(false);
    create.reset();
    onClose();
  };
  const rolesMissing = checked && roles.length === 0 ? 'Choose issuer, partner or both.' : undefined;
  const rateProblem = rateLimit.trim() && !/^[1-9]\d*$/.test(rateLimit.trim()) ? 'A whole number of requests per minute, or empty for the default.' : undefined;

  if (create.data) {
    return <InviteAdminForm tenant={create.data} created onClose={close} />;
  }
  return (
    <Dialog
      open={open}
      wide
      title="Create tenant"
      onClose={close}
      onSubmit={() => {
        setChecked(true);
        if (roles.length === 0 || rateProblem) return;
        create.mutate();
      }}
      footer={
        <>
          <Button onClick={close}>Cancel</Button>
          <Button type="submit" variant="primary" busy={create.isPending}>
            Create tenant
          </Button>
        </>
      }
    >
      <FormError error={create.error} shownFields={['slug', 'displayName', 'roles', 'timezone', 'currency', 'rateLimitPerMinute']} />
      <div className="form-row">
        <TextField label="Display name" required autoFocus maxLength={200} placeholder="Green Grocer" value={displayName} onChange={(e) => setDisplayName(e.target.value)} error={fieldError(create.error, 'displayName')} />
        <TextField
          label="Tenant id (slug)"
          required
          placeholder="green-grocer"
          hint="Permanent: lowercase letters, digits and hyphens, 3–32 characters. Others use it to propose agreements."
          value={slug}
          onChange={(e) => setSlug(e.target.value.toLowerCase())}
          error={fieldError(create.error, 'slug') ?? (create.error && create.error.message.includes('already exists') ? create.error.message : undefined)}
        />
      </div>
      <CheckboxGroup legend="Roles" options={ROLE_CHOICES} value={roles} onChange={setRoles} error={rolesMissing ?? fieldError(create.error, 'roles')} />
      <div className="form-row">
        <TextField label="Currency" required maxLength={3} placeholder="RUB" hint="ISO 4217; fixed once created." value={currency} onChange={(e) => setCurrency(e.target.value.toUpperCase())} error={fieldError(create.error, 'currency')} />
        <TextField label="Time zone" required placeholder="Europe/Moscow" hint="Reports and settlement months follow it." value={timezone} onChange={(e) => setTimezone(e.target.value)} error={fieldError(create.error, 'timezone')} />
        <TextField label="Rate limit (optional)" inputMode="numeric" placeholder="Server default" hint="Requests per minute per API key." value={rateLimit} onChange={(e) => setRateLimit(e.target.value)} error={(checked ? rateProblem : undefined) ?? fieldError(create.error, 'rateLimitPerMinute')} />
      </div>
    </Dialog>
  );
}

function InviteAdminDialog({ tenant, onClose }: { tenant: Tenant | null; onClose: () => void }) {
  if (!tenant) return <Dialog open={false} title="" onClose={onClose}>{null}</Dialog>;
  return <InviteAdminForm key={tenant.slug} tenant={tenant} onClose={onClose} />;
}

/** Invite a tenant's admin; the one-time link is shown once. */
function InviteAdminForm({ tenant, created = false, onClose }: { tenant: Tenant; created?: boolean; onClose: () => void }) {
  const toast = useToast();
  const [email, setEmail] = useState('');
  const invite = useMutation({
    mutationFn: () => api.operator.users.invite.mutate({ tenantSlug: tenant.slug, email: email.trim(), roles: ['admin'] }),
    onSuccess: (result) => toast(`Invitation for ${result.invitation.email} created`),
  });
  if (invite.data) {
    return (
      <Dialog open title={`Admin invitation for ${tenant.displayName}`} onClose={onClose} footer={<Button variant="primary" onClick={onClose}>Done</Button>}>
        <p>
          Send this link to <strong>{invite.data.invitation.email}</strong>. Opening it, they set a password and become an admin of {tenant.displayName}.
        </p>
        <SecretReveal label="One-time invitation link" value={invitationLink(invite.data.path)}>
          Shown once, valid until {formatDateTime(invite.data.invitation.expiresAt)} and usable once. Lost it? Invite the same address again: the new link replaces this one.
        </SecretReveal>
      </Dialog>
    );
  }
  return (
    <Dialog
      open
      title={created ? `${tenant.displayName} created` : `Invite an admin of ${tenant.displayName}`}
      onClose={onClose}
      onSubmit={() => invite.mutate()}
      footer={
        <>
          <Button onClick={onClose}>{created ? 'Skip for now' : 'Cancel'}</Button>
          <Button type="submit" variant="primary" busy={invite.isPending}>
            Create invitation
          </Button>
        </>
      }
    >
      {created && (
        <Alert tone="good" title="The tenant is ready.">
          Invite its first admin now: they manage the rest of their team themselves.
        </Alert>
      )}
      <FormError error={invite.error} shownFields={['email']} />
      <TextField label="Admin's email" type="email" required autoFocus autoComplete="off" placeholder="ana@green-grocer.example" value={email} onChange={(e) => setEmail(e.target.value)} error={fieldError(invite.error, 'email')} />
    </Dialog>
  );
}

function ToggleTenantDialog({ tenant, onClose }: { tenant: Tenant | null; onClose: () => void }) {
  const queryClient = useQueryClient();
  const toast = useToast();
  const suspending = tenant?.status === 'active';
  const change = useMutation({
    mutationFn: (target: Tenant) => api.operator.tenants.update.mutate({ slug: target.slug, status: target.status === 'active' ? 'suspended' : 'active' }),
    onSuccess: (updated) => {
      void queryClient.invalidateQueries({ queryKey: ['operator.tenants.list'] });
      void queryClient.invalidateQueries({ queryKey: ['operator.agreements.list'] });
      toast(`${updated.displayName} ${updated.status === 'suspended' ? 'suspended' : 'reactivated'}`);
      close();
    },
  });
  const close = () => {
    change.reset();
    onClose();
  };
  return (
    <ConfirmDialog
      open={tenant !== null}
      title={suspending ? `Suspend ${tenant?.displayName ?? ''}?` : `Reactivate ${tenant?.displayName ?? ''}?`}
      confirmLabel={suspending ? 'Suspend tenant' : 'Reactivate tenant'}
      danger={suspending}
      busy={change.isPending}
      onConfirm={() => tenant && change.mutate(tenant)}
      onClose={close}
    >
      <FormError error={change.error} />
      {suspending ? (
        <p>Its API keys and portal users are refused every change, and no exchange happens under its agreements until it is reactivated. Nothing is deleted.</p>
      ) : (
        <p>Its keys, users and agreements work again at once.</p>
      )}
    </ConfirmDialog>
  );
}

// ---- agreements ------------------------------------------------------------------------

export function OperatorAgreementsPage() {
  const [tenant, setTenant] = useState('');
  const [applied, setApplied] = useState('');
  const [filter, setFilter] = useState<Parameters<typeof filterAgreements>[1]>('all');
  const [openId, setOpenId] = useState<string | null>(null);
  const agreements = useQuery({
    queryKey: ['operator.agreements.list', applied],
    queryFn: () => api.operator.agreements.list.query(applied ? { tenant: applied } : {}),
  });
  const open = agreements.data?.agreements.find((agreement) => agreement.id === openId) ?? null;
  return (
    <>
      <PageHeader title="Agreements" description="Every agreement between the coalition's issuers and partners. You can suspend, resume or end any of them, for example while a dispute is settled." />
      <form
        className="filters"
        onSubmit={(event) => {
          event.preventDefault();
          setApplied(tenant.trim());
        }}
      >
        <TextField label="Tenant" placeholder="Any tenant (slug)" value={tenant} onChange={(e) => setTenant(e.target.value.toLowerCase())} />
        <Button type="submit">Filter</Button>
        {applied && (
          <Button
            variant="ghost"
            onClick={() => {
              setTenant('');
              setApplied('');
            }}
          >
            Clear
          </Button>
        )}
      </form>
      <QueryView query={agreements}>
        {(data) => (
          <>
            <StatusTabs value={filter} onChange={setFilter} rows={data.agreements} />
            <Card>
              <AgreementsTable
                rows={filterAgreements(data.agreements, filter)}
                viewer={null}
                onOpen={(agreement) => setOpenId(agreement.id)}
                empty={<EmptyState title="No agreements" description={applied ? `${applied} is party to none${filter === 'all' ? '' : ' with this status'}.` : 'Members propose agreements to each other in the portal or the API.'} />}
              />
            </Card>
          </>
        )}
      </QueryView>
      <AgreementDialog agreement={open} viewer={null} canWrite onClose={() => setOpenId(null)} />
    </>
  );
}

// ---- netting ---------------------------------------------------------------------------

export function OperatorNettingPage() {
  // The coalition's months are UTC's here, as on the operator's dashboard.
  const [period, setPeriod] = useState(() => monthInZone('UTC', -1));
  const netting = useQuery({
    queryKey: ['operator.settlement.netting', period],
    queryFn: () => api.operator.settlement.netting.query({ period }),
    enabled: /^\d{4}-\d{2}$/.test(period),
  });
  return (
    <>
      <PageHeader
        title="Netting"
        description="The coalition's month in one view: what each tenant owes and is owed across all its statements, and the fewest transfers that settle everything, per currency."
      />
      <div className="filters">
        <TextField label="Month" type="month" value={period} max={new Date().toISOString().slice(0, 7)} onChange={(e) => setPeriod(e.target.value)} />
      </div>
      {/^\d{4}-\d{2}$/.test(period) ? (
        <QueryView query={netting}>
          {(data) => {
            const currencies = [...new Set(data.positions.map((position) => position.currency))];
            return (
              <>
                <StatGrid>
                  <Stat label="Statements" value={formatNumber(data.statements)} hint={formatPeriod(data.period)} />
                  <Stat label="Still drafts" value={formatNumber(data.draftStatements)} tone={data.draftStatements > 0 ? 'warn' : 'good'} hint={data.draftStatements > 0 ? 'amounts may still change' : 'all finalized'} />
                  <Stat label="Tenants with a balance" value={formatNumber(new Set(data.positions.filter((position) => position.netMinor !== 0).map((position) => position.tenant)).size)} />
                  <Stat label="Transfers" value={formatNumber(data.transfers.length)} hint={currencies.length > 1 ? `${currencies.length} currencies` : undefined} />
                </StatGrid>
                {data.draftStatements > 0 && (
                  <Alert tone="warn" title={`${data.draftStatements} of ${data.statements} statements are drafts.`}>
                    The tenants have not finalized them yet: these balances and transfers can still change.
                  </Alert>
                )}
                <Card title="Balances">
                  <DataTable
                    caption="Balances"
                    columns={[
                      { key: 'tenant', header: 'Tenant', render: (position) => <span className="mono">{position.tenant}</span> },
                      { key: 'currency', header: 'Currency', render: (position) => position.currency },
                      { key: 'owes', header: 'Owes', align: 'right', render: (position) => formatMoney(position.owesMinor, position.currency) },
                      { key: 'owed', header: 'Is owed', align: 'right', render: (position) => formatMoney(position.owedMinor, position.currency) },
                      {
                        key: 'net',
                        header: 'Net',
                        align: 'right',
                        render: (position) => (
                          <span className={position.netMinor > 0 ? 'net-pos' : position.netMinor < 0 ? 'net-neg' : 'muted'}>
                            {position.netMinor > 0 ? 'receives ' : position.netMinor < 0 ? 'pays ' : ''}
                            {formatMoney(Math.abs(position.netMinor), position.currency)}
                          </span>
                        ),
                      },
                    ]}
                    rows={data.positions}
                    rowKey={(position) => `${position.tenant}:${position.currency}`}
                    empty={<EmptyState title={`Nothing to settle for ${formatPeriod(data.period)}`} description="No statement of this month has amounts yet. Statements are built when the month closes." />}
                  />
                </Card>
                <Card title="Transfers that settle the month">
                  <DataTable
                    caption="Transfers"
                    columns={[
                      {
                        key: 'route',
                        header: 'From → to',
                        render: (transfer) => (
                          <span>
                            <span className="mono">{transfer.from}</span>
                            <span className="transfer-arrow" aria-label="pays">
                              →
                            </span>
                            <span className="mono">{transfer.to}</span>
                          </span>
                        ),
                      },
                      { key: 'currency', header: 'Currency', render: (transfer) => transfer.currency },
                      { key: 'amount', header: 'Amount', align: 'right', render: (transfer) => formatMoney(transfer.amountMinor, transfer.currency) },
                    ]}
                    rows={data.transfers}
                    rowKey={(transfer) => `${transfer.currency}:${transfer.from}:${transfer.to}`}
                    empty={<EmptyState title="No transfers needed" description="Every balance is zero for this month." />}
                  />
                  {Object.entries(data.optimal).length > 0 && (
                    <p className="muted small section-gap">
                      {Object.entries(data.optimal)
                        .map(([currency, optimal]) => `${currency}: ${optimal ? 'the fewest transfers possible' : 'few transfers (not proven minimal: many tenants have a balance)'}`)
                        .join(' · ')}
                    </p>
                  )}
                </Card>
              </>
            );
          }}
        </QueryView>
      ) : (
        <Alert tone="info" title="Choose a month." />
      )}
    </>
  );
}
