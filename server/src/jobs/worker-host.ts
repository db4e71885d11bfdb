import { Queue, UnrecoverableError, Worker } from 'bullmq';
import type { AppServices } from '../system/services.ts';
import { createWorkerRedis } from '../redis/redis.ts';
import type { JobDefinition } from './job-definition.ts';

export interface WorkerHost {
  queues: string[];
  close(): Promise<void>;
}

/**
 * One BullMQ worker per queue that has job definitions. Handlers get a payload that
 * has been validated against the definition's schema; a payload that fails validation
 * is a bug upstream and is failed without retries.
 */
export async function startWorkerHost(options: { services: AppServices; definitions: readonly JobDefinition[]; concurrency?: number }): Promise<WorkerHost> {
  const { services } = options;
  const logger = services.logger;
  const byQueue = new Map<string, JobDefinition[]>();
  for (const definition of options.definitions) byQueue.set(definition.queue, [...(byQueue.get(definition.queue) ?? []), definition]);

  const workers = [...byQueue].map(([queue, definitions]) => {
    const connection = createWorkerRedis(services.config.redisUrl);
    const worker = new Worker(
      queue,
      async (job) => {
        const definition = definitions.find((candidate) => candidate.name === job.name);
        if (!definition) throw new UnrecoverableError(`No handler for job ${job.name} on queue ${queue}`);
        const payload = definition.payload.safeParse(job.data);
        // Retrying cannot fix a malformed payload: fail it for good, visibly.
        if (!payload.success) throw new UnrecoverableError(`Invalid payload for job ${job.name}: ${payload.error.message}`);
        await definition.handle(payload.data, { services, logger: logger.child({ queue, job: job.name, jobId: job.id }) });
      },
      {
        connection,
        prefix: services.config.queuePrefix,
        concurrency: options.concurrency ?? Math.max(4, ...definitions.map((definition) => definition.concurrency ?? 0)),
        // A worker that dies mid-job loses its lock after lockDuration; the next stalled
        // check (any worker) puts the job back in the queue.
        lockDuration: services.config.workerLockMs,
        stalledInterval: services.config.workerLockMs,
      },
    );
    worker.on('failed', (job, error) => logger.warn({ queue, job: job?.name, jobId: job?.id, err: error }, 'job failed'));
    // Connection trouble is reported here; without a listener it would crash the process.
    worker.on('error', (error) => logger.error({ queue, err: error }, 'worker error'));
    return { worker, connection };
  });
  // Scheduled jobs: one scheduler per definition, upserted, so any number of worker
  // processes agree on a single schedule.
  for (const definition of options.definitions.filter((candidate) => candidate.repeatEveryMs)) {
    const connection = createWorkerRedis(services.config.redisUrl);
    const queue = new Queue(definition.queue, { connection, prefix: services.config.queuePrefix });
    await queue.upsertJobScheduler(definition.name, { every: definition.repeatEveryMs! }, { name: definition.name, data: {}, opts: { removeOnComplete: 100, removeOnFail: 1000 } });
    await queue.close();
    await connection.quit();
  }
  logger.info({ queues: [...byQueue.keys()] }, workers.length ? 'worker host started' : 'worker host started with no job definitions');

  return {
    queues: [...byQueue.keys()],
    close: async () => {
      // Worker.close() waits for running jobs to finish before resolving.
      await Promise.all(workers.map(({ worker }) => worker.close()));
      await Promise.all(workers.map(({ connection }) => connection.quit().catch(() => connection.disconnect())));
    },
  };
}
