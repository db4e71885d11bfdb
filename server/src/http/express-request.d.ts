import type { Logger } from '../logging/logger.ts';

declare global {
  namespace Express {
    interface Request {
      /** Set by the request-id middleware before any route runs. */
      requestId: string;
      log: Logger;
    }
  }
}

export {};
