import { defineConfig } from 'vitest/config';
import { LONG_TEST_FILES } from './test/long-files.js';

// `npm run test:long`: the files `npm test` leaves out (test/long-files.ts
// says which and why). CI runs them after the main suite.
export default defineConfig({
  test: {
    include: LONG_TEST_FILES,
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 180_000,
    hookTimeout: 60_000,
  },
});
