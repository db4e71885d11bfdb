import { EmptyState, PageHeader } from '../../ui/components.tsx';

export function UsersPage() {
  return (
    <>
      <PageHeader title="Users" />
      <EmptyState title="Coming soon" />
    </>
  );
}
