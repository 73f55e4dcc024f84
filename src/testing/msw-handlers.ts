/**
 * MSW 2 handlers for a simulator, used by `sim.handlers` in `loginid-mfa-flow/testing`.
 * The only simulator module (with `src/testing.ts`) that imports `msw`.
 *
 * @module loginid-mfa-flow/testing
 */
import { HttpResponse, http } from 'msw'
import type { RequestHandler } from 'msw'
import type { LoginIDSimulator } from './simulator-types.js'

/**
 * MSW handlers that send every request under `simulator.baseUrl` to `simulator.handle`.
 * A `drop` fault becomes a network error (`HttpResponse.error()`).
 *
 * @example
 * ```ts
 * import { setupServer } from 'msw/node'
 * import { createLoginIDSimulator, createMswHandlers } from 'loginid-mfa-flow/testing'
 *
 * const sim = createLoginIDSimulator()
 * const server = setupServer(...createMswHandlers(sim)) // same as setupServer(...sim.handlers)
 * ```
 */
export function createMswHandlers(
  simulator: Pick<LoginIDSimulator, 'baseUrl' | 'handle'>,
): RequestHandler[] {
  return [
    http.all(`${simulator.baseUrl}/*`, async ({ request }) => {
      const response = await simulator.handle(request)
      if (response.type === 'error') return HttpResponse.error()
      return response
    }),
  ]
}
