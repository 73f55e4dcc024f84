import { defineConfig } from 'vitest/config'

// End-to-end tests: the demo page in Debian's Chromium (playwright-core), real WebAuthn through a
// DevTools virtual authenticator, the demo backend and the LoginID simulator over real HTTP.
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.e2e.test.ts'],
    environment: 'node',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: false,
  },
})
