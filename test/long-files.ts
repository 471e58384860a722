// The test files `npm test` leaves to `npm run test:long` (which CI runs
// after it): each is a long run rather than a unit of behaviour, and
// together they took a third of the suite's time on the 2-core CI.
// - every scenario at 64 CPUs in every mode (~40 runs of 64 worker
//   threads; test/cli/cpus64-sample.test.ts keeps three of them in npm test);
// - the hunt of a free-engine failure into a serialized replay line (a
//   60 s schedule search; .ci/hunt-check runs the same chain in CI too),
//   and shrink's searches for the smallest failing case;
// - the package installed into a fresh project (npm install, tsc).
export const LONG_TEST_FILES = [
  'test/cli/cpus64.test.ts',
  'test/cli/cpus64-processes.test.ts',
  'test/replay/hunt.test.ts',
  'test/replay/shrink.test.ts',
  'test/api/library-install.test.ts',
];
