import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, problemOf, type RouterOutputs } from '../../api.ts';
import { useSession } from '../../session.tsx';
import { Alert, Badge, Button, Card, CheckboxGroup, EmptyState, fieldError, FormError, PageHeader, QueryView, SecretReveal, StatusBadge, TextField } from '../../ui/components.tsx';
import { ConfirmDialog, Dialog } from '../../ui/dialog.tsx';
import { formatDate, formatDateTime } from '../../ui/format.ts';
import { DataTable, type Column } from '../../ui/table.tsx';
import { useToast } from '../../ui/toast.tsx';
import { invitationLink, ROLE_OPTIONS, RoleBadges, type PortalRole } from './admin-common.tsx';

type UsersData = RouterOutputs['users']['list'];
type User = UsersData['users'][number];
type Invitation = UsersData['invitations'][number];

export function UsersPage() {
  const session = useSession();
  const users = useQuery({ queryKey: ['users.list'], queryFn: () => api.users.list.query() });
  const [inviting, setInviting] = useState(false);
  const [editing, setEditing] = useState<User | null>(null);
  const [toggling, setToggling] = useState<User | null>(null);
  const [revoking, setRevoking] = useState<Invitation | null>(null);
  const [resetting, setResetting] = useState<User | null>(null);

  const userColumns: Column<User>[] = [
    {
      key: 'user',
      header: 'User',
      render: (user) => (
        <div className="cell-stack">
          <strong>
            {user.displayName} {user.id === session.user.id && <Badge tone="info">You</Badge>}
          </strong>
          <span className="cell-sub">{user.email}</span>
        </div>
      ),
    },
    { key: 'roles', header: 'Roles', render: (user) => <RoleBadges roles={user.roles} /> },
    { key: 'status', header: 'Status', render: (user) => <StatusBadge status={user.status} /> },
    { key: 'lastSignIn', header: 'Last sign-in', wide: true, render: (user) => (user.lastSignInAt ? formatDateTime(user.lastSignInAt) : <span className="muted">Never</span>) },
    { key: 'created', header: 'Joined', wide: true, render: (user) => <span className="nowrap">{formatDate(user.createdAt)}</span> },
    {
      key: 'actions',
      header: <span className="visually-hidden">Actions</span>,
      align: 'right',
      render: (user) => (
        <div className="cell-actions">
          <Button size="sm" onClick={() => setEditing(user)} aria-label={`Change roles of ${user.email}`}>
            Change roles
          </Button>
          {user.id !== session.user.id && user.status === 'active' && (
            <Button size="sm" onClick={() => setResetting(user)} aria-label={`Reset the password of ${user.email}`}>
              Reset password
            </Button>
          )}
          {user.id !== session.user.id &&
            (user.status === 'active' ? (
              <Button size="sm" variant="danger" onClick={() => setToggling(user)} aria-label={`Disable ${user.email}`}>
                Disable
              </Button>
            ) : (
              <Button size="sm" onClick={() => setToggling(user)} aria-label={`Enable ${user.email}`}>
                Enable
              </Button>
            ))}
        </div>
      ),
    },
  ];

  const invitationColumns: Column<Invitation>[] = [
    { key: 'email', header: 'Email', render: (invitation) => invitation.email },
    { key: 'roles', header: 'Roles', render: (invitation) => <RoleBadges roles={invitation.roles} /> },
    { key: 'status', header: 'Status', render: (invitation) => <StatusBadge status={invitation.status} /> },
    { key: 'expires', header: 'Link valid until', wide: true, render: (invitation) => formatDateTime(invitation.expiresAt) },
    {
      key: 'actions',
      header: <span className="visually-hidden">Actions</span>,
      align: 'right',
      render: (invitation) =>
        invitation.status === 'pending' ? (
          <Button size="sm" variant="danger" onClick={() => setRevoking(invitation)} aria-label={`Revoke the invitation of ${invitation.email}`}>
            Revoke
          </Button>
        ) : null,
    },
  ];

  return (
    <>
      <PageHeader
        title="Users"
        description="People who sign in to the portal for your company. Each role opens its own pages; a user can hold several. Invite people with a one-time link."
        actions={
          <Button variant="primary" onClick={() => setInviting(true)}>
            Invite user
          </Button>
        }
      />
      <QueryView query={users}>
        {(data) => {
          const open = data.invitations.filter((invitation) => invitation.status !== 'accepted');
          return (
            <>
              <Card title="Users">
                <DataTable caption="Users" columns={userColumns} rows={data.users} rowKey={(user) => user.id} empty={<EmptyState title="No users yet" description="Invite your colleagues." />} />
              </Card>
              <Card title="Invitations">
                <DataTable
                  caption="Invitations"
                  columns={invitationColumns}
                  rows={open}
                  rowKey={(invitation) => invitation.id}
                  empty={<EmptyState title="No open invitations" description="Invitations waiting to be accepted appear here until the person sets a password." />}
                />
              </Card>
            </>
          );
        }}
      </QueryView>
      <InviteDialog open={inviting} onClose={() => setInviting(false)} />
      <RolesDialog user={editing} onClose={() => setEditing(null)} />
      <ToggleUserDialog user={toggling} onClose={() => setToggling(null)} />
      <RevokeInvitationDialog invitation={revoking} onClose={() => setRevoking(null)} />
      <ResetPasswordDialog user={resetting} onClose={() => setResetting(null)} />
    </>
  );
}

function useRefreshUsers() {
  const queryClient = useQueryClient();
  return () => {
    void queryClient.invalidateQueries({ queryKey: ['users.list'] });
    void queryClient.invalidateQueries({ queryKey: ['auditEvents.list'] });
  };
}

function RoleChoice({ value, onChange, error }: { value: PortalRole[]; onChange: (roles: PortalRole[]) => void; error?: string | undefined }) {
  return <CheckboxGroup legend="Roles" options={ROLE_OPTIONS} value={value} onChange={onChange} error={error} />;
}

/** Invite by email; the one-time link is shown once, to send it yourself. */
export function InviteDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const refresh = useRefreshUsers();
  const toast = useToast();
  const [email, setEmail] = useState('');
  const [roles, setRoles] = useState<PortalRole[]>([]);
  const [checked, setChecked] = useState(false);
  const invite = useMutation({
    mutationFn: () => api.users.invite.mutate({ email, roles }),
    onSuccess: (result) => {
      refresh();
      toast(`Invitation for ${result.invitation.email} created`);
    },
  });
  const close = () => {
    setEmail('');
    setRoles([]);
    setChecked(false);
    invite.reset();
    onClose();
  };
  const rolesMissing = checked && roles.length === 0 ? 'Give the person at least one role.' : undefined;

  if (invite.data) {
    const { invitation, path } = invite.data;
    return (
      <Dialog open={open} title="Invitation ready" onClose={close} footer={<Button variant="primary" onClick={close}>Done</Button>}>
        <p>
          Send this link to <strong>{invitation.email}</strong>. Opening it, they choose their name and password and are signed in as {invitation.roles.length > 1 ? 'roles' : 'role'}{' '}
          <RoleBadges roles={invitation.roles} />.
        </p>
        <SecretReveal label="One-time invitation link" value={invitationLink(path)}>
          Shown once, valid until {formatDateTime(invitation.expiresAt)} and usable once. Lost it? Invite the same address again: the new link replaces this one.
        </SecretReveal>
      </Dialog>
    );
  }
  return (
    <Dialog
      open={open}
      title="Invite user"
      onClose={close}
      onSubmit={() => {
        setChecked(true);
        if (roles.length === 0) return;
        invite.mutate();
      }}
      footer={
        <>
          <Button onClick={close}>Cancel</Button>
          <Button type="submit" variant="primary" busy={invite.isPending}>
            Create invitation
          </Button>
        </>
      }
    >
      <FormError error={invite.error} shownFields={['email', 'roles']} />
      <TextField label="Email" type="email" autoFocus required autoComplete="off" placeholder="ana@shop.example" value={email} onChange={(e) => setEmail(e.target.value)} error={fieldError(invite.error, 'email')} />
      <RoleChoice value={roles} onChange={setRoles} error={rolesMissing ?? fieldError(invite.error, 'roles')} />
    </Dialog>
  );
}

function RolesDialog({ user, onClose }: { user: User | null; onClose: () => void }) {
  const refresh = useRefreshUsers();
  const toast = useToast();
  const [roles, setRoles] = useState<PortalRole[] | null>(null);
  const current = roles ?? ((user?.roles ?? []) as PortalRole[]);
  const update = useMutation({
    mutationFn: (input: { userId: string; roles: PortalRole[] }) => api.users.update.mutate(input),
    onSuccess: (changed) => {
      refresh();
      toast(`Roles of ${changed.email} changed`);
      close();
    },
  });
  const close = () => {
    setRoles(null);
    update.reset();
    onClose();
  };
  return (
    <Dialog
      open={user !== null}
      title={`Roles of ${user?.displayName ?? ''}`}
      onClose={close}
      onSubmit={() => user && current.length > 0 && update.mutate({ userId: user.id, roles: current })}
      footer={
        <>
          <Button onClick={close}>Cancel</Button>
          <Button type="submit" variant="primary" busy={update.isPending} disabled={current.length === 0}>
            Save roles
          </Button>
        </>
      }
    >
      <LastAdminError error={update.error} />
      <RoleChoice value={current} onChange={setRoles} error={current.length === 0 ? 'Keep at least one role; to stop access, disable the user.' : fieldError(update.error, 'roles')} />
      <p className="muted small">{user?.email} is signed out of open sessions when the roles change, and signs in again with the new pages.</p>
    </Dialog>
  );
}

/** LAST_ADMIN said plainly: the tenant must keep an active admin. */
function LastAdminError({ error }: { error: unknown }) {
  if (!error) return null;
  const problem = problemOf(error);
  if (problem.code === 'LAST_ADMIN') {
    return (
      <Alert tone="bad" title="Your company must keep an active admin">
        {problem.message}
      </Alert>
    );
  }
  return <FormError error={error} shownFields={['roles']} />;
}

function ToggleUserDialog({ user, onClose }: { user: User | null; onClose: () => void }) {
  const refresh = useRefreshUsers();
  const toast = useToast();
  const disabling = user?.status === 'active';
  const change = useMutation({
    mutationFn: (target: User) => (target.status === 'active' ? api.users.disable.mutate({ userId: target.id }) : api.users.enable.mutate({ userId: target.id })),
    onSuccess: (changed) => {
      refresh();
      toast(`${changed.email} ${changed.status === 'disabled' ? 'disabled' : 'enabled'}`);
      close();
    },
  });
  const close = () => {
    change.reset();
    onClose();
  };
  return (
    <ConfirmDialog
      open={user !== null}
      title={disabling ? `Disable ${user?.email ?? ''}?` : `Enable ${user?.email ?? ''}?`}
      confirmLabel={disabling ? 'Disable user' : 'Enable user'}
      danger={disabling}
      busy={change.isPending}
      onConfirm={() => user && change.mutate(user)}
      onClose={close}
    >
      <LastAdminError error={change.error} />
      {disabling ? (
        <p>They are signed out at once, everywhere, and cannot sign in until enabled again. Their past actions stay in the audit log.</p>
      ) : (
        <p>They can sign in again with their password, with the roles they had.</p>
      )}
    </ConfirmDialog>
  );
}

function RevokeInvitationDialog({ invitation, onClose }: { invitation: Invitation | null; onClose: () => void }) {
  const refresh = useRefreshUsers();
  const toast = useToast();
  const revoke = useMutation({
    mutationFn: (invitationId: string) => api.users.revokeInvitation.mutate({ invitationId }),
    onSuccess: (revoked) => {
      refresh();
      toast(`Invitation for ${revoked.email} revoked`);
      close();
    },
  });
  const close = () => {
    revoke.reset();
    onClose();
  };
  return (
    <ConfirmDialog open={invitation !== null} title="Revoke invitation?" confirmLabel="Revoke invitation" danger busy={revoke.isPending} onConfirm={() => invitation && revoke.mutate(invitation.id)} onClose={close}>
      <FormError error={revoke.error} />
      <p>The link sent to {invitation?.email} stops working at once. You can invite the address again later.</p>
    </ConfirmDialog>
  );
}

/** A one-time link to set a new password, for someone who forgot theirs: shown once. */
function ResetPasswordDialog({ user, onClose }: { user: User | null; onClose: () => void }) {
  const refresh = useRefreshUsers();
  const reset = useMutation({
    mutationFn: (userId: string) => api.users.resetPassword.mutate({ userId }),
    onSuccess: refresh,
  });
  const close = () => {
    reset.reset();
    onClose();
  };
  if (reset.data) {
    return (
      <Dialog open={user !== null} title="Password reset link" onClose={close} footer={<Button variant="primary" onClick={close}>Done</Button>}>
        <p>
          Send this link to <strong>{user?.email}</strong>. Opening it, they choose a new password and are signed in. Their current password keeps working until then.
        </p>
        <SecretReveal label="One-time password reset link" value={invitationLink(reset.data.path)}>
          Shown once, valid until {formatDateTime(reset.data.expiresAt)} and usable once.
        </SecretReveal>
      </Dialog>
    );
  }
  return (
    <ConfirmDialog open={user !== null} title={`Reset the password of ${user?.email ?? ''}?`} confirmLabel="Make reset link" busy={reset.isPending} onConfirm={() => user && reset.mutate(user.id)} onClose={close}>
      <FormError error={reset.error} />
      <p>You get a one-time link to send them; with it they set a new password. Nothing changes until they use it.</p>
    </ConfirmDialog>
  );
}
