// Test support: an MSW server for one test file in which any request without a handler fails
// the test; handlers and fake timers are reset after each test.
import { setupServer } from 'msw/node'
import type { SetupServer } from 'msw/node'
import { afterAll, afterEach, beforeAll, vi } from 'vitest'

/** Register the MSW lifecycle hooks in the calling test file; returns the MSW server. */
export function serveMsw(): SetupServer {
  const server = setupServer()
  beforeAll(() => server.listen({ onUnhandledRequest: 'error' }))
  afterEach(() => {
    server.resetHandlers()
    vi.useRealTimers()
    vi.restoreAllMocks()
  })
  afterAll(() => server.close())
  return server
}
