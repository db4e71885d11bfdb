import { EmptyState, PageHeader } from '../../ui/components.tsx';

export function OfferDetailPage() {
  return (
    <>
      <PageHeader title="Offer" />
      <EmptyState title="Coming soon" />
    </>
  );
}
