import { defineConfig } from 'vitest/config';

// Tests that start worker threads oversubscribe a 2-core machine quickly:
// forks pool, two files at a time.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
