import { EmptyState, PageHeader } from '../../ui/components.tsx';

export function TenantsPage() {
  return (
    <>
      <PageHeader title="Tenants" />
      <EmptyState title="Coming soon" />
    </>
  );
}

export function OperatorAgreementsPage() {
  return <PageHeader title="Agreements" />;
}

export function OperatorNettingPage() {
  return <PageHeader title="Netting" />;
}
