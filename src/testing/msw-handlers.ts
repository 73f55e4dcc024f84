/**
 * MSW 2 handlers for a simulator, used by `sim.handlers` in `loginid-mfa-flow/testing`.
 * `msw` (an optional peer dependency) is loaded here, synchronously and only when handlers are
 * made, so the entry imports without it.
 *
 * @module loginid-mfa-flow/testing
 */
import type * as Msw from 'msw'
import type { RequestHandler } from 'msw'
import { MfaError } from '../shared/errors.js'
import type { LoginIDSimulator } from './simulator-types.js'

interface NodeModuleApi {
  createRequire(from: string): (id: string) => unknown
}

let msw: typeof Msw | undefined

/**
 * `msw`, loaded on first use through Node's `require`. On Node ≥ 20.19 that resolves msw's
 * `module-sync` export (its ES module), so the handlers come from the very `msw` instance a
 * test's `import { setupServer } from 'msw/node'` uses.
 */
function loadMsw(): typeof Msw {
  if (msw) return msw
  const getBuiltinModule = (
    globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }
  ).process?.getBuiltinModule
  const nodeModule = getBuiltinModule?.('node:module') as NodeModuleApi | undefined
  if (!nodeModule) {
    throw new MfaError(
      'ERR_INVALID_ARGUMENT',
      'sim.handlers loads msw through Node (>= 20.19); elsewhere serve sim.handle yourself',
    )
  }
  try {
    msw = nodeModule.createRequire(import.meta.url)('msw') as typeof Msw
  } catch (error) {
    throw new MfaError(
      'ERR_INVALID_ARGUMENT',
      'sim.handlers needs the optional peer dependency msw 2 (npm install --save-dev msw)',
      { cause: error },
    )
  }
  return msw
}

/**
 * MSW handlers that send every request under `simulator.baseUrl` to `simulator.handle`.
 * A `drop` fault becomes a network error (`HttpResponse.error()`).
 *
 * @throws MfaError `ERR_INVALID_ARGUMENT` when `msw` is not installed
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
  const { HttpResponse, http } = loadMsw()
  return [
    http.all(`${simulator.baseUrl}/*`, async ({ request }) => {
      const response = await simulator.handle(request)
      if (response.type === 'error') return HttpResponse.error()
      return response
    }),
  ]
}
