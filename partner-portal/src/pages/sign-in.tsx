import { useQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { useNavigate, useParams } from 'react-router';
import { problemOf, requestJson } from '../api.ts';
import { useSessionState } from '../session.tsx';
import { Button, ErrorState, fieldError, FormError, Loading, TextField } from '../ui/components.tsx';
import { formatDate, formatDateTime, humanize } from '../ui/format.ts';

function AuthCard({ title, children }: { title: string; children: React.ReactNode }) {
  return (
    <div className="auth-page">
      <div className="auth-card">
        <div className="brand auth-brand">
          <span className="brand-mark" aria-hidden="true">
            CX
          </span>
          <span>Coalition Exchange</span>
        </div>
        <h1>{title}</h1>
        {children}
      </div>
    </div>
  );
}

export function SignInPage() {
  const { signIn } = useSessionState();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signIn(email, password);
    } catch (failure) {
      setError(failure);
      setBusy(false);
    }
  };

  const problem = error ? problemOf(error) : null;
  return (
    <AuthCard title="Sign in">
      <form onSubmit={submit} noValidate>
        {problem && problem.code !== 'VALIDATION_FAILED' && (
          <div className="alert alert-bad" role="alert">
            <div>
              <strong>{problem.message}</strong>
            </div>
          </div>
        )}
        <TextField label="Email" type="email" name="email" autoComplete="username" required autoFocus value={email} onChange={(e) => setEmail(e.target.value)} error={fieldError(error, 'email')} />
        <TextField label="Password" type="password" name="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} error={fieldError(error, 'password')} />
        <Button type="submit" variant="primary" busy={busy} className="btn btn-primary btn-md btn-block">
          Sign in
        </Button>
      </form>
      <p className="muted small">New here? Your administrator sends you an invitation link.</p>
    </AuthCard>
  );
}

interface InvitationInfo {
  purpose: 'join' | 'reset';
  email: string;
  roles: string[];
  tenant: string | null;
  expiresAt: string;
}

export function AcceptInvitationPage() {
  const { token = '' } = useParams();
  const { acceptInvitation } = useSessionState();
  const navigate = useNavigate();
  const invitation = useQuery({ queryKey: ['invitation', token], queryFn: () => requestJson<InvitationInfo>('GET', `/auth/invitations/${encodeURIComponent(token)}`), retry: false });
  const [displayName, setDisplayName] = useState('');
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const mismatch = confirm.length > 0 && confirm !== password ? 'The passwords do not match.' : undefined;

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (mismatch) return;
    setBusy(true);
    setError(null);
    try {
      await acceptInvitation(token, invitation.data?.purpose === 'reset' ? undefined : displayName, password);
      navigate('/', { replace: true });
    } catch (failure) {
      setError(failure);
      setBusy(false);
    }
  };

  if (invitation.isPending) return <Loading label="Checking the invitation…" />;
  if (invitation.isError) {
    return (
      <AuthCard title="Invitation">
        <ErrorState error={invitation.error} title="This invitation cannot be used" />
        <p>
          <a href="/portal/sign-in">Go to sign-in</a>
        </p>
      </AuthCard>
    );
  }
  const info = invitation.data;
  const reset = info.purpose === 'reset';
  return (
    <AuthCard title={reset ? 'Set a new password' : 'Create your account'}>
      {reset ? (
        <p>
          Choose a new password for <strong>{info.email}</strong>. Setting it signs you out everywhere else. The link is valid until {formatDateTime(info.expiresAt)}.
        </p>
      ) : (
        <p>
          You were invited to {info.tenant ? <strong>{info.tenant}</strong> : 'the coalition'} as <strong>{info.roles.map(humanize).join(', ')}</strong>. You sign in with{' '}
          <strong>{info.email}</strong>. The link is valid until {formatDate(info.expiresAt)}.
        </p>
      )}
      <form onSubmit={submit} noValidate>
        <FormError error={error} shownFields={['displayName', 'password']} />
        {!reset && (
          <TextField label="Your name" name="displayName" autoComplete="name" required autoFocus value={displayName} onChange={(e) => setDisplayName(e.target.value)} error={fieldError(error, 'displayName')} />
        )}
        <TextField
          label="Password"
          type="password"
          name="password"
          autoComplete="new-password"
          required
          minLength={12}
          hint="At least 12 characters. A passphrase of four or five words is easy to remember and hard to guess."
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          error={fieldError(error, 'password')}
        />
        <TextField label="Repeat the password" type="password" name="confirm" autoComplete="new-password" required value={confirm} onChange={(e) => setConfirm(e.target.value)} error={mismatch} />
        <Button type="submit" variant="primary" busy={busy} disabled={Boolean(mismatch)}>
          {reset ? 'Set password and sign in' : 'Create account and sign in'}
        </Button>
      </form>
    </AuthCard>
  );
}
