import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/setup/global-setup.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Each file gets its own database and queue prefix (test/support/test-system.ts),
    // so files run in parallel without seeing each other's data.
    fileParallelism: true,
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
