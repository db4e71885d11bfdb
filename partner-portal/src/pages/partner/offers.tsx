import { EmptyState, PageHeader } from '../../ui/components.tsx';

export function OffersPage() {
  return (
    <>
      <PageHeader title="Offers & pools" />
      <EmptyState title="Coming soon" />
    </>
  );
}
