import { closeSettlementPeriodsJob, settlementRunJob } from '../settlement/settlement-runs.ts';
import { pruneIdempotencyKeysJob } from '../idempotency/prune-idempotency-keys.ts';
import { importCodeBatchJob } from '../pools/import-batch.ts';
import { sweepPoolsJob } from '../pools/sweep-pools.ts';
import { expireCampaignsJob } from '../stickers/expire-campaigns.ts';
import { deliverWebhookJob } from '../webhooks/deliver-webhook.ts';
import { pruneDeliveriesJob } from '../webhooks/prune-deliveries.ts';
import type { JobDefinition } from './job-definition.ts';

/**
 * Every job the workers run. Domains add their definitions here as they gain
 * background work (webhook delivery, code imports, hold releases, settlement runs).
 */
export const jobDefinitions: readonly JobDefinition[] = [expireCampaignsJob, pruneIdempotencyKeysJob, importCodeBatchJob, sweepPoolsJob, deliverWebhookJob, pruneDeliveriesJob, settlementRunJob, closeSettlementPeriodsJob];
