import { execFileSync } from 'node:child_process';
import type { Logger } from '../logging/logger.ts';

export interface EmbeddedRedis {
  url: string;
  stop(): Promise<void>;
}

function findRedisServerBinary(): string | undefined {
  if (process.env.REDIS_SERVER_BINARY) return process.env.REDIS_SERVER_BINARY;
  try {
    return execFileSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * A throwaway redis-server (redis-memory-server driving the machine's binary). Nothing
 * it holds is precious: Postgres is the source of truth and the outbox refills queues.
 */
export async function startEmbeddedRedis(options: { logger: Logger }): Promise<EmbeddedRedis> {
  const systemBinary = findRedisServerBinary();
  if (!systemBinary) {
    throw new Error('No redis-server binary found. Install it (Debian/Ubuntu: apt-get install redis-server) or set REDIS_URL.');
  }
  const { RedisMemoryServer } = await import('redis-memory-server');
  const server = new RedisMemoryServer({
    binary: { systemBinary },
    instance: { ip: '127.0.0.1', args: ['--save', '', '--appendonly', 'no'] },
    // Own process group: a Ctrl-C in the terminal reaches us, not Redis, so Redis
    // stays up while in-flight work drains.
    spawn: { detached: true },
  });
  await server.start();
  const host = await server.getHost();
  const port = await server.getPort();
  options.logger.debug({ port }, 'embedded Redis started');
  return {
    url: `redis://${host}:${port}`,
    stop: async () => {
      await server.stop();
    },
  };
}
