import { defineConfig } from 'vitest/config';
import { LONG_TEST_FILES } from './test/long-files.js';

// Tests that start worker threads oversubscribe a 2-core machine quickly:
// forks pool, two files at a time. The long runs are in
// vitest.long.config.ts (`npm run test:long`, run by CI after `npm test`).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['**/node_modules/**', ...LONG_TEST_FILES],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
