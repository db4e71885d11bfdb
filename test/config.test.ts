import { describe, expect, it } from 'vitest';
import { loadConfig } from '../server/src/config/config.ts';
import { ConfigError, parseEnv } from '../server/src/config/env.ts';
import { runCli } from './support/cli.ts';

describe('configuration', () => {
  it('starts on defaults with nothing set: embedded services, port 3000, loopback', () => {
    const config = loadConfig({});
    expect(config.databaseUrl).toBeUndefined();
    expect(config.redisUrl).toBeUndefined();
    expect(config.http).toMatchObject({ host: '127.0.0.1', port: 3000, bodyLimitBytes: 1_048_576 });
    expect(config.rateLimits).toEqual({ perKeyPerMinute: 1200, perIpPerMinute: 120 });
  });

  it('names every wrong variable in one message, without echoing values', () => {
    let message = '';
    try {
      parseEnv({ PORT: 'eighty', DATABASE_URL: 'mysql://user:hunter2@db/x', LOG_LEVEL: 'loud', TRUST_PROXY: 'maybe' });
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      message = (error as Error).message;
    }
    expect(message).toContain('PORT: must be a whole number between 0 and 65535');
    expect(message).toContain('DATABASE_URL: must be a URL starting with postgres:// or postgresql://');
    expect(message).toContain('LOG_LEVEL: must be one of');
    expect(message).toContain('TRUST_PROXY: must be false, the number of proxies in front of the server');
    expect(message).not.toContain('hunter2');
  });

  it('trusts no proxy by default, and only a hop count or named proxies when told', () => {
    expect(loadConfig({}).http.trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: '1' }).http.trustProxy).toBe(1);
    expect(loadConfig({ TRUST_PROXY: 'loopback, 10.0.0.0/8' }).http.trustProxy).toEqual(['loopback', '10.0.0.0/8']);
    // "true" would believe the client-written left end of X-Forwarded-For.
    expect(() => parseEnv({ TRUST_PROXY: 'true' })).toThrow(/TRUST_PROXY/);
  });

  it('makes the CLI exit non-zero with that message before touching anything', async () => {
    const result = await runCli(['tenant', 'list'], { DATABASE_URL: 'not-a-url', RATE_LIMIT_KEY_PER_MINUTE: '0' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Invalid configuration');
    expect(result.stderr).toContain('DATABASE_URL: must be a URL');
    expect(result.stderr).toContain('RATE_LIMIT_KEY_PER_MINUTE: must be at least 1');
  });
});
