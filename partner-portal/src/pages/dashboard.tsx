import { EmptyState, PageHeader } from '../ui/components.tsx';

export function DashboardPage() {
  return (
    <>
      <PageHeader title="Dashboard" />
      <EmptyState title="Coming soon" />
    </>
  );
}
