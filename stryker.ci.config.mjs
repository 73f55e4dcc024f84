// Mutation check in CI (`npm run test:mutation:ci`, .ci/run): the security-critical modules, the
// server entry and the resume path, must keep a mutation score of at least 90%.
import full from './stryker.config.mjs'

// Only the unit tests of these modules run (vitest.stryker.config.ts reads this list): every
// mutant run loads its test files afresh, so the simulator-backed server tests (server.http,
// server.simulator), which cover the same code end to end, would double the time. The full run
// uses them. `STRYKER_TESTS` set by the caller wins.
process.env.STRYKER_TESTS ??= [
  'src/server/**/*.test.ts',
  'test/server/to-node-listener*.test.ts',
  'test/client/resume-mfa*.test.ts',
].join(',')

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  ...full,
  mutate: [
    'src/server/**/*.ts',
    '!src/server/**/*.test.ts',
    'src/client/resume-mfa.ts',
    'src/client/peek-pending-mfa.ts',
    'src/client/internal/pending-flow.ts',
  ],
  // Static mutants (module-level constants) are evaluated once per module load, so each one
  // needs the whole test set: on 2 cores that alone takes longer than every other mutant. CI
  // skips them (listed as "ignored" in the report); `npm run test:mutation` tests them.
  ignoreStatic: true,
  // A clean clone has no previous results; every mutant is tested.
  incremental: false,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/ci.html' },
  jsonReporter: { fileName: 'reports/mutation/ci.json' },
  thresholds: { high: 90, low: 90, break: 90 },
}
