// Internal (loginid-mfa-flow/testing): where `src/testing.ts` plugs in the MSW handler factory,
// so the simulator core, the node server and the CLI never import `msw` (an optional peer).
import type { RequestHandler } from 'msw'
import type { LoginIDSimulator } from '../simulator-types.js'

/** Builds MSW handlers for a simulator. */
export type HandlersFactory = (simulator: LoginIDSimulator) => RequestHandler[]

let factory: HandlersFactory | undefined

/** Register the MSW handler factory (done once by `src/testing.ts`). */
export function registerHandlersFactory(next: HandlersFactory): void {
  factory = next
}

/** The registered factory, if `loginid-mfa-flow/testing` was imported. */
export function handlersFactory(): HandlersFactory | undefined {
  return factory
}
