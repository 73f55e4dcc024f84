// Mutation check in CI (`npm run test:mutation:ci`, .ci/run): the security-critical modules, the
// server entry and the resume path, must keep a mutation score of at least 90%.
import full from './stryker.config.mjs'

// Only the tests of these modules run (vitest.stryker.config.ts reads this list): every mutant
// run loads its test files afresh, so the simulator-backed server tests (server.http,
// server.simulator), which cover the same code end to end, would double the time. The full run
// uses them. `STRYKER_TESTS` set by the caller wins.
process.env.STRYKER_TESTS ??= [
  'src/server/**/*.test.ts',
  'test/server/to-node-listener*.test.ts',
  'test/server/attacks.*.test.ts',
  'test/server/ofetch.test.ts',
  'test/client/resume-mfa*.test.ts',
  'test/client/storage-options.test.ts',
].join(',')

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  ...full,
  mutate: [
    'src/server/**/*.ts',
    '!src/server/**/*.test.ts',
    // The doctor (a diagnostic CLI, loaded only by `runDoctor`) is tested against the simulator:
    // its mutants alone would take longer than the whole CI budget on 2 cores. The full run
    // (`npm run test:mutation`) mutates it.
    '!src/server/doctor.ts',
    '!src/server/internal/doctor/**',
    'src/client/resume-mfa.ts',
    'src/client/peek-pending-mfa.ts',
    'src/client/internal/pending-flow.ts',
  ],
  // Static mutants (module-level constants) are evaluated once per module load, so each one
  // needs the whole test set: on 2 cores that alone takes longer than every other mutant. CI
  // skips them (listed as "ignored" in the report); `npm run test:mutation` tests them.
  ignoreStatic: true,
  // The committed results of the last full check: a run tests only the mutants whose code or
  // covering tests changed (scripts/mutation-ci.mjs forces a full run when anything else the
  // results depend on changed).
  incremental: true,
  incrementalFile: 'test/mutation/ci-baseline.json',
  // A mutant that makes a test hang (a timer never cleared, a promise never settled) is killed
  // after its tests' usual time plus this; 5 s is ample for these unit tests and halves the
  // cost of each such mutant.
  timeoutMS: 5_000,
  reporters: ['clear-text', 'progress-append-only', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/ci.html' },
  jsonReporter: { fileName: 'reports/mutation/ci.json' },
  thresholds: { high: 90, low: 90, break: 90 },
}
