// Mutation testing, full run: `npm run test:mutation` (Stryker 10 on the Node 22 of the `node22`
// dev dependency; the suite itself runs on the machine's Node). See CONTRIBUTING.md.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  // forks: the pool `npm test` uses (Headers copies behave differently in the threads pool).
  vitest: { configFile: 'vitest.stryker.config.ts', pool: 'forks' },
  mutate: ['src/client/**/*.ts', 'src/server/**/*.ts', '!src/**/*.test.ts', '!src/**/*.test-d.ts'],
  // Each mutant runs only the tests that cover it.
  coverageAnalysis: 'perTest',
  concurrency: 2,
  // Reuse the results of unchanged code and tests between local runs.
  incremental: true,
  incrementalFile: 'reports/mutation/stryker-incremental.json',
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true },
  thresholds: { high: 90, low: 80, break: null },
  tempDirName: '.stryker-tmp',
  ignorePatterns: ['dist', 'docs/api', 'coverage', 'reports', 'test-results', 'bench', 'examples'],
  timeoutMS: 10_000,
}
