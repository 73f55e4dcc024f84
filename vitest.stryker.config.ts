import { defineConfig } from 'vitest/config'
import base from './vitest.config'

// The unit suite as Stryker runs it (npm run test:mutation): the same files as `npm test`, without
// the type tests (`*.test-d.ts` cannot kill a mutant and tsc would run once per Stryker worker).
// The e2e config (vitest.e2e.config.ts) is never used by Stryker.
// STRYKER_TESTS (comma-separated globs) narrows the test files while iterating on one module, e.g.
// STRYKER_TESTS='src/server/create-management-client*.test.ts' npm run test:mutation -- --mutate ...
const narrowed = process.env.STRYKER_TESTS?.split(',').filter(Boolean)

export default defineConfig({
  ...base,
  test: {
    ...base.test,
    ...(narrowed?.length && { include: narrowed }),
    typecheck: { enabled: false },
  },
})
