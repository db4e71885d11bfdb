import { EmptyState, PageHeader } from '../../ui/components.tsx';

export function AgreementsPage() {
  return (
    <>
      <PageHeader title="Agreements" />
      <EmptyState title="Coming soon" />
    </>
  );
}
