import { EmptyState, PageHeader } from '../../ui/components.tsx';

export function ApiKeysPage() {
  return (
    <>
      <PageHeader title="API keys" />
      <EmptyState title="Coming soon" />
    </>
  );
}
