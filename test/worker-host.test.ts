import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { JobDefinition } from '../server/src/jobs/job-definition.ts';
import { startWorkerHost, type WorkerHost } from '../server/src/jobs/worker-host.ts';
import { createWorkerRedis } from '../server/src/redis/redis.ts';
import { startCoalition } from './support/process.ts';
import { startTestSystem, type TestSystem } from './support/test-system.ts';

let system: TestSystem;
let queue: Queue;
let queueConnection: ReturnType<typeof createWorkerRedis>;
let host: WorkerHost | undefined;
const handled: { greeting: string }[] = [];
let releaseSlowJob: () => void = () => {};

// A job kind that exists only in this test: it records what it was given, and the
// 'slow' variant holds until the test releases it.
const greet: JobDefinition<{ greeting: string }> = {
  queue: 'test-greetings',
  name: 'greet',
  payload: z.object({ greeting: z.string().min(1) }),
  async handle(payload) {
    if (payload.greeting === 'slow') await new Promise<void>((resolve) => (releaseSlowJob = resolve));
    handled.push(payload);
  },
};

beforeAll(async () => {
  system = await startTestSystem();
  queueConnection = createWorkerRedis(system.config.redisUrl);
  queue = new Queue(greet.queue, { connection: queueConnection, prefix: system.config.queuePrefix });
});
afterAll(async () => {
  await host?.close();
  await queue.close();
  await queueConnection.quit();
  await system.stop();
});

async function start(): Promise<WorkerHost> {
  host = await startWorkerHost({ services: system.services, definitions: [greet] });
  return host;
}

describe('worker host', () => {
  it('runs a job with a valid payload', async () => {
    await start();
    await queue.add('greet', { greeting: 'hello' });
    await expect.poll(() => handled.map((p) => p.greeting)).toContain('hello');
  });

  it('fails a malformed payload for good instead of retrying it', async () => {
    const job = await queue.add('greet', { greeting: '' }, { attempts: 5, backoff: { type: 'fixed', delay: 10 } });
    await expect.poll(async () => (await queue.getJob(job.id!))?.finishedOn).toBeDefined();
    const failed = (await queue.getJob(job.id!))!;
    expect(await failed.getState()).toBe('failed');
    expect(failed.attemptsMade).toBe(1);
    expect(failed.failedReason).toContain('Invalid payload for job greet');
  });

  it('on close, lets the running job finish before it resolves', async () => {
    const job = await queue.add('greet', { greeting: 'slow' });
    await expect.poll(async () => (await queue.getJob(job.id!))?.getState()).toBe('active');
    let closed = false;
    const closing = host!.close().then(() => (closed = true));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(closed).toBe(false);
    releaseSlowJob();
    await closing;
    host = undefined;
    expect(handled.map((p) => p.greeting)).toContain('slow');
    expect(await (await queue.getJob(job.id!))!.getState()).toBe('completed');
  });
});

describe('coalition worker', () => {
  it('starts against the configured services and stops cleanly on SIGTERM', async () => {
    const worker = startCoalition(['worker'], { ...process.env, ...system.env });
    await worker.waitFor(/worker host started/);
    // The scheduled sticker work is registered once, whatever the number of workers.
    for (const [queueName, expected] of [
      ['stickers', [['expire-campaigns', 60_000]]],
      [
        'maintenance',
        [
          ['prune-idempotency-keys', 3_600_000],
          ['prune-webhook-deliveries', 3_600_000],
        ],
      ],
    ] as const) {
      const queue = new Queue(queueName, { connection: queueConnection, prefix: system.config.queuePrefix });
      const schedulers = await queue.getJobSchedulers();
      expect(schedulers.map((scheduler) => [scheduler.key, scheduler.every]).sort()).toEqual(expected);
      await queue.close();
    }
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    expect(worker.output()).toContain('"msg":"stopped"');
  });

  it('refuses to run without DATABASE_URL and REDIS_URL', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, ...system.env };
    delete env.REDIS_URL;
    const worker = startCoalition(['worker'], env);
    expect(await worker.exited).toBe(1);
    expect(worker.output()).toContain('"coalition worker" needs DATABASE_URL and REDIS_URL');
  });
});
