import { Queue, type JobsOptions } from 'bullmq';
import { Redis } from 'ioredis';
import type { JobDefinition } from './job-definition.ts';

/**
 * The producer side of BullMQ: adds jobs after the transaction that calls for them has
 * committed. Postgres stays the source of truth: a job that could not be added (Redis
 * away) is found again by the sweep of whatever state it was meant to move on.
 */
export class JobQueues {
  private connection: Redis | undefined;
  private readonly queues = new Map<string, Queue>();

  constructor(
    private readonly redisUrl: string,
    private readonly prefix: string,
  ) {}

  async enqueue<Payload>(definition: JobDefinition<Payload>, payload: Payload, options: JobsOptions = {}): Promise<void> {
    const parsed = definition.payload.parse(payload);
    await this.queue(definition.queue).add(definition.name, parsed, { removeOnComplete: 1000, removeOnFail: 5000, ...options });
  }

  /** Adds many jobs in one round trip; a job whose jobId is already in the queue is not added twice. */
  async enqueueMany<Payload>(definition: JobDefinition<Payload>, jobs: ReadonlyArray<{ payload: Payload; jobId: string }>, options: JobsOptions = {}): Promise<void> {
    if (jobs.length === 0) return;
    await this.queue(definition.queue).addBulk(
      jobs.map((job) => ({ name: definition.name, data: definition.payload.parse(job.payload), opts: { removeOnComplete: true, removeOnFail: true, ...options, jobId: job.jobId } })),
    );
  }

  private queue(name: string): Queue {
    let queue = this.queues.get(name);
    if (!queue) {
      // Fails fast while Redis is away instead of buffering commands in memory.
      this.connection ??= new Redis(this.redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 5_000 });
      this.connection.on('error', () => {});
      queue = new Queue(name, { connection: this.connection, prefix: this.prefix });
      queue.on('error', () => {});
      this.queues.set(name, queue);
    }
    return queue;
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((queue) => queue.close().catch(() => {})));
    this.queues.clear();
    await this.connection?.quit().catch(() => this.connection?.disconnect());
    this.connection = undefined;
  }
}
