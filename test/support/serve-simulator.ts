// Test support: serve a LoginID simulator through MSW for one test file, the way this project's
// tests (and app developers' tests) do: unhandled requests fail the test, and every test starts
// from the simulator's seeded state with real timers and globals.
import { setupServer } from 'msw/node'
import type { SetupServer } from 'msw/node'
import { afterAll, afterEach, beforeAll, vi } from 'vitest'
import type { LoginIDSimulator } from '../../src/testing.js'

/** Register the MSW lifecycle hooks for `sim` in the calling test file; returns the MSW server. */
export function serveSimulator(sim: LoginIDSimulator): SetupServer {
  const server = setupServer(...sim.handlers)
  beforeAll(() => server.listen({ onUnhandledRequest: 'error' }))
  afterEach(() => {
    server.resetHandlers()
    sim.reset()
    vi.useRealTimers()
    vi.unstubAllGlobals()
  })
  afterAll(() => server.close())
  return server
}
