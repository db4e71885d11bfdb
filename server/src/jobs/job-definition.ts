import type { z } from 'zod';
import type { Logger } from '../logging/logger.ts';
import type { AppServices } from '../system/services.ts';

/** A kind of background job: where it runs, what its payload looks like, what it does. */
export interface JobDefinition<Payload = any> {
  queue: string;
  name: string;
  payload: z.ZodType<Payload>;
  /** Set for scheduled work: the worker host keeps one BullMQ job scheduler for it. */
  repeatEveryMs?: number;
  /** Jobs of this queue run at once per worker process (the largest of the queue's definitions; default 4). */
  concurrency?: number;
  handle(payload: Payload, context: { services: AppServices; logger: Logger }): Promise<void>;
}
