import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { requestJson, setCsrfToken } from './api.ts';
import type { TenantScope } from '../../server/src/auth/scopes.ts';

export interface Session {
  user: { id: string; email: string; displayName: string; roles: string[] };
  operator: boolean;
  tenant: { slug: string; displayName: string; roles: ('issuer' | 'partner')[]; currency: string; timezone: string; status: 'active' | 'suspended' } | null;
  /** What the signed-in user may do: the API-key scopes of their roles (admin: all). */
  scopes: TenantScope[];
  csrfToken: string;
  expiresAt: string;
}

/** Who may open a page: the server checks the same scopes and tenant role on every call. */
export interface Access {
  scopes?: TenantScope[];
  tenantRole?: 'issuer' | 'partner';
  /** A coalition operator's page (operators have no tenant pages). */
  operator?: boolean;
}

export function allows(session: Session, access: Access): boolean {
  if (access.operator) return session.operator;
  if (!access.scopes?.length && !access.tenantRole) return true;
  if (!session.tenant) return false;
  if (access.tenantRole && !session.tenant.roles.includes(access.tenantRole)) return false;
  return (access.scopes ?? []).every((scope) => session.scopes.includes(scope));
}

interface SessionState {
  status: 'loading' | 'signed-out' | 'signed-in';
  session: Session | null;
  signIn(email: string, password: string): Promise<void>;
  /** Accepts an invitation (with the new user's name) or a password reset (without). */
  acceptInvitation(token: string, displayName: string | undefined, password: string): Promise<void>;
  signOut(): Promise<void>;
  /** The server said the session is gone (expired, revoked): back to the sign-in page. */
  expire(): void;
}

const SessionContext = createContext<SessionState | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [status, setStatus] = useState<SessionState['status']>('loading');
  const [session, setSession] = useState<Session | null>(null);
  const queryClient = useQueryClient();

  const adopt = useCallback((next: Session | null) => {
    setCsrfToken(next?.csrfToken ?? '');
    setSession(next);
    setStatus(next ? 'signed-in' : 'signed-out');
  }, []);

  useEffect(() => {
    requestJson<Session>('GET', '/auth/session').then(adopt, () => adopt(null));
  }, [adopt]);

  const value = useMemo<SessionState>(
    () => ({
      status,
      session,
      async signIn(email, password) {
        queryClient.clear();
        adopt(await requestJson<Session>('POST', '/auth/sign-in', { email, password }));
      },
      async acceptInvitation(token, displayName, password) {
        queryClient.clear();
        adopt(await requestJson<Session>('POST', '/auth/invitations/accept', { token, displayName, password }));
      },
      async signOut() {
        await requestJson('POST', '/auth/sign-out').catch(() => undefined);
        queryClient.clear();
        adopt(null);
      },
      expire() {
        queryClient.clear();
        adopt(null);
      },
    }),
    [status, session, adopt, queryClient],
  );
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSessionState(): SessionState {
  const state = useContext(SessionContext);
  if (!state) throw new Error('useSessionState outside SessionProvider');
  return state;
}

/** The signed-in session (pages render only when there is one). */
export function useSession(): Session {
  const { session } = useSessionState();
  if (!session) throw new Error('useSession without a session');
  return session;
}

/** Whether the signed-in user may do what `access` describes: for hiding buttons a role cannot use. */
export function useCan(): (access: Access) => boolean {
  const session = useSession();
  return useCallback((access: Access) => allows(session, access), [session]);
}
