import { defineConfig } from 'vitest/config'

// `npm run test:examples`, after `npm run build`: the example apps (examples/express,
// examples/hono) and the testing guide's tests (examples/testing, docs/testing.md). They import
// the package by name, which resolves to the BUILT package (dist) through its exports map.
// examples/testing/browser.test.ts needs Chromium (/usr/bin/chromium or CHROMIUM_PATH).
export default defineConfig({
  test: {
    include: ['examples/**/*.test.ts'],
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
})
