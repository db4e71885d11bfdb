import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, type RouterOutputs } from '../../api.ts';
import type { TenantScope } from '../../../../server/src/auth/scopes.ts';
import { Badge, Button, Card, CheckboxGroup, EmptyState, fieldError, FormError, PageHeader, QueryView, SecretReveal, StatusBadge, TextField } from '../../ui/components.tsx';
import { ConfirmDialog, Dialog } from '../../ui/dialog.tsx';
import { formatDateTime } from '../../ui/format.ts';
import { DataTable, type Column } from '../../ui/table.tsx';
import { useToast } from '../../ui/toast.tsx';
import { SCOPE_OPTIONS, useActorNames } from './admin-common.tsx';

type ApiKey = RouterOutputs['apiKeys']['list']['apiKeys'][number];

export function ApiKeysPage() {
  const keys = useQuery({ queryKey: ['apiKeys.list'], queryFn: () => api.apiKeys.list.query() });
  const [creating, setCreating] = useState(false);
  const [revoking, setRevoking] = useState<ApiKey | null>(null);
  const actor = useActorNames();

  const columns: Column<ApiKey>[] = [
    {
      key: 'name',
      header: 'Name',
      render: (key) => (
        <div className="cell-stack">
          <strong>{key.name}</strong>
          <span className="cell-sub mono">{key.prefix}…</span>
        </div>
      ),
    },
    {
      key: 'scopes',
      header: 'Scopes',
      render: (key) => (
        <span className="badge-list">
          {key.scopes.map((scope) => (
            <Badge key={scope} tone={scope === 'admin' ? 'warn' : 'neutral'}>
              {scope}
            </Badge>
          ))}
        </span>
      ),
    },
    { key: 'status', header: 'Status', render: (key) => <StatusBadge status={key.revokedAt ? 'revoked' : 'active'} /> },
    { key: 'lastUsed', header: 'Last used', render: (key) => (key.lastUsedAt ? formatDateTime(key.lastUsedAt) : <span className="muted">Never</span>) },
    {
      key: 'created',
      header: 'Created',
      wide: true,
      render: (key) => (
        <div className="cell-stack">
          <span>{formatDateTime(key.createdAt)}</span>
          {key.createdBy && <span className="cell-sub">by {actor(key.createdBy, true)}</span>}
        </div>
      ),
    },
    {
      key: 'actions',
      header: <span className="visually-hidden">Actions</span>,
      align: 'right',
      render: (key) =>
        key.revokedAt ? (
          <span className="muted small">Revoked {formatDateTime(key.revokedAt)}</span>
        ) : (
          <Button size="sm" variant="danger" onClick={() => setRevoking(key)} aria-label={`Revoke ${key.name}`}>
            Revoke
          </Button>
        ),
    },
  ];

  return (
    <>
      <PageHeader
        title="API keys"
        description="Keys let your systems (tills, apps, back ends) call the Coalition Exchange API. Give each system its own key with only the scopes it needs; revoke a key the moment it may have leaked."
        actions={
          <Button variant="primary" onClick={() => setCreating(true)}>
            Create API key
          </Button>
        }
      />
      <Card>
        <QueryView query={keys}>
          {(data) => (
            <DataTable
              caption="API keys"
              columns={columns}
              rows={[...data.apiKeys].sort((a, b) => Number(Boolean(a.revokedAt)) - Number(Boolean(b.revokedAt)))}
              rowKey={(key) => key.id}
              empty={<EmptyState title="No API keys yet" description="Create a key for each system that calls the API." action={<Button onClick={() => setCreating(true)}>Create API key</Button>} />}
            />
          )}
        </QueryView>
      </Card>
      <CreateKeyDialog open={creating} onClose={() => setCreating(false)} />
      <RevokeKeyDialog apiKey={revoking} onClose={() => setRevoking(null)} />
    </>
  );
}

function CreateKeyDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const queryClient = useQueryClient();
  const toast = useToast();
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<TenantScope[]>([]);
  const [checked, setChecked] = useState(false);
  const create = useMutation({
    mutationFn: () => api.apiKeys.create.mutate({ name, scopes }),
    onSuccess: (created) => {
      void queryClient.invalidateQueries({ queryKey: ['apiKeys.list'] });
      toast(`API key “${created.apiKey.name}” created`);
    },
  });
  const close = () => {
    setName('');
    setScopes([]);
    setChecked(false);
    create.reset();
    onClose();
  };
  const created = create.data;
  const scopesMissing = checked && scopes.length === 0 ? 'Choose at least one scope.' : undefined;
  const nameMissing = checked && !name.trim() ? 'Name the key after the system that uses it.' : undefined;

  if (created) {
    return (
      <Dialog open={open} title="API key created" onClose={close} footer={<Button variant="primary" onClick={close}>Done</Button>}>
        <p>
          <strong>{created.apiKey.name}</strong> can now call the API with the scopes {created.apiKey.scopes.join(', ')}.
        </p>
        <SecretReveal label="Your new API key" value={created.secret}>
          Shown once. Copy it into the system that uses it now: only a hash is stored, so it cannot be shown again. Lost it? Revoke this key and create another.
        </SecretReveal>
        <p className="muted small">
          Send it as <code>Authorization: Bearer &lt;key&gt;</code>.
        </p>
      </Dialog>
    );
  }
  return (
    <Dialog
      open={open}
      title="Create API key"
      wide
      onClose={close}
      onSubmit={() => {
        setChecked(true);
        if (!name.trim() || scopes.length === 0) return;
        create.mutate();
      }}
      footer={
        <>
          <Button onClick={close}>Cancel</Button>
          <Button type="submit" variant="primary" busy={create.isPending}>
            Create key
          </Button>
        </>
      }
    >
      <FormError error={create.error} shownFields={['name', 'scopes']} />
      <TextField label="Name" autoFocus required maxLength={100} placeholder="POS back end, store 12" hint="What uses the key, so you recognise it later." value={name} onChange={(e) => setName(e.target.value)} error={nameMissing ?? fieldError(create.error, 'name')} />
      <div className="scope-columns">
        <CheckboxGroup legend="Scopes" options={SCOPE_OPTIONS.map((option) => ({ ...option }))} value={scopes} onChange={setScopes} error={scopesMissing ?? fieldError(create.error, 'scopes')} />
      </div>
      {scopes.includes('admin') && (
        <p className="muted small">
          <strong>admin</strong> allows everything, creating more keys and inviting users included. Prefer narrower scopes for machines.
        </p>
      )}
    </Dialog>
  );
}

function RevokeKeyDialog({ apiKey, onClose }: { apiKey: ApiKey | null; onClose: () => void }) {
  const queryClient = useQueryClient();
  const toast = useToast();
  const revoke = useMutation({
    mutationFn: (keyId: string) => api.apiKeys.revoke.mutate({ keyId }),
    onSuccess: (key) => {
      void queryClient.invalidateQueries({ queryKey: ['apiKeys.list'] });
      toast(`API key “${key.name}” revoked`);
      close();
    },
  });
  const close = () => {
    revoke.reset();
    onClose();
  };
  return (
    <ConfirmDialog open={apiKey !== null} title="Revoke API key?" confirmLabel="Revoke key" danger busy={revoke.isPending} onConfirm={() => apiKey && revoke.mutate(apiKey.id)} onClose={close}>
      <FormError error={revoke.error} />
      <p>
        Every request with <strong>{apiKey?.name}</strong> (<code>{apiKey?.prefix}…</code>) is refused from now on with 401. This cannot be undone: the systems using it need a new key.
      </p>
    </ConfirmDialog>
  );
}
