import { MutationCache, QueryCache, QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { useState } from 'react';
import { BrowserRouter, Navigate, Route, Routes, useLocation } from 'react-router';
import { problemOf } from './api.ts';
import { Layout } from './layout.tsx';
import { DashboardPage } from './pages/dashboard.tsx';
import { NotFoundPage } from './pages/not-found.tsx';
import { AcceptInvitationPage, SignInPage } from './pages/sign-in.tsx';
import { OffersPage } from './pages/partner/offers.tsx';
import { OfferDetailPage } from './pages/partner/offer-detail.tsx';
import { RedemptionsPage } from './pages/partner/redemptions.tsx';
import { CampaignsPage } from './pages/issuer/campaigns.tsx';
import { RewardsPage } from './pages/issuer/rewards.tsx';
import { CustomersPage } from './pages/issuer/customers.tsx';
import { FraudCasesPage } from './pages/fraud/cases.tsx';
import { FraudCasePage } from './pages/fraud/case-detail.tsx';
import { FraudRulesPage } from './pages/fraud/rules.tsx';
import { AgreementsPage } from './pages/shared/agreements.tsx';
import { WebhooksPage } from './pages/shared/webhooks.tsx';
import { ApiKeysPage } from './pages/shared/api-keys.tsx';
import { UsersPage } from './pages/shared/users.tsx';
import { AuditLogPage } from './pages/shared/audit-log.tsx';
import { SettlementPage } from './pages/finance/settlement.tsx';
import { StatementPage } from './pages/finance/statement.tsx';
import { OperatorAgreementsPage, OperatorNettingPage, TenantsPage } from './pages/operator/tenants.tsx';
import { SessionProvider, useSessionState } from './session.tsx';
import { Loading } from './ui/components.tsx';
import { ToastProvider } from './ui/toast.tsx';

let onSessionLost: () => void = () => {};

function createQueryClient(): QueryClient {
  const lost = (error: unknown) => {
    if (problemOf(error).code === 'UNAUTHENTICATED') onSessionLost();
  };
  return new QueryClient({
    queryCache: new QueryCache({ onError: lost }),
    mutationCache: new MutationCache({ onError: lost }),
    defaultOptions: {
      queries: {
        staleTime: 15_000,
        refetchOnWindowFocus: false,
        // Refusals are answers, not glitches: retry only what may pass on a second try.
        retry: (count, error) => count < 2 && ['NETWORK_ERROR', 'SERVICE_UNAVAILABLE', 'INTERNAL_ERROR'].includes(problemOf(error).code),
      },
    },
  });
}

export function App() {
  const [queryClient] = useState(createQueryClient);
  return (
    <QueryClientProvider client={queryClient}>
      <SessionProvider>
        <ToastProvider>
          <BrowserRouter basename="/portal">
            <Routed />
          </BrowserRouter>
        </ToastProvider>
      </SessionProvider>
    </QueryClientProvider>
  );
}

function Routed() {
  const state = useSessionState();
  const location = useLocation();
  onSessionLost = state.expire;
  if (location.pathname.startsWith('/invite/')) {
    return (
      <Routes>
        <Route path="/invite/:token" element={<AcceptInvitationPage />} />
      </Routes>
    );
  }
  if (state.status === 'loading') return <Loading label="Loading the portal…" />;
  if (state.status === 'signed-out') {
    return location.pathname === '/sign-in' ? <SignInPage /> : <Navigate to="/sign-in" replace state={{ from: location.pathname + location.search }} />;
  }
  return (
    <Layout>
      <Routes>
        <Route path="/" element={<DashboardPage />} />
        <Route path="/sign-in" element={<Navigate to={(location.state as { from?: string } | null)?.from ?? '/'} replace />} />
        <Route path="/offers" element={<OffersPage />} />
        <Route path="/offers/:offerId" element={<OfferDetailPage />} />
        <Route path="/redemptions" element={<RedemptionsPage />} />
        <Route path="/campaigns" element={<CampaignsPage />} />
        <Route path="/rewards" element={<RewardsPage />} />
        <Route path="/customers" element={<CustomersPage />} />
        <Route path="/fraud" element={<FraudCasesPage />} />
        <Route path="/fraud/cases/:caseId" element={<FraudCasePage />} />
        <Route path="/fraud/rules" element={<FraudRulesPage />} />
        <Route path="/agreements" element={<AgreementsPage />} />
        <Route path="/settlement" element={<SettlementPage />} />
        <Route path="/settlement/:statementId" element={<StatementPage />} />
        <Route path="/webhooks" element={<WebhooksPage />} />
        <Route path="/api-keys" element={<ApiKeysPage />} />
        <Route path="/users" element={<UsersPage />} />
        <Route path="/audit-log" element={<AuditLogPage />} />
        <Route path="/operator/tenants" element={<TenantsPage />} />
        <Route path="/operator/agreements" element={<OperatorAgreementsPage />} />
        <Route path="/operator/netting" element={<OperatorNettingPage />} />
        <Route path="/operator/audit-log" element={<AuditLogPage trail="operator" />} />
        <Route path="*" element={<NotFoundPage />} />
      </Routes>
    </Layout>
  );
}
