import { EmptyState, PageHeader } from '../../ui/components.tsx';

export function CustomersPage() {
  return (
    <>
      <PageHeader title="Customers" />
      <EmptyState title="Coming soon" />
    </>
  );
}
