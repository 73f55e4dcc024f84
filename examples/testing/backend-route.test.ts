/// <reference types="node" />
// A back-end route test: the app's own grant route runs on a real HTTP server on loopback, and
// LoginID is the simulator behind MSW. The test drives runMfa through the real route.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { setupServer } from 'msw/node'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createMfaClient, fetchGrantToken, isMfaError, runMfa } from 'loginid-mfa-flow'
import {
  createExternalAuthHandler,
  createManagementClient,
  toNodeListener,
} from 'loginid-mfa-flow/server'
import { createLoginIDSimulator, SIMULATOR_API_KEY } from 'loginid-mfa-flow/testing'

const sim = createLoginIDSimulator()

// The app: single-use login tickets its own password check issued, and the grant route.
const tickets = new Map([['ticket-1', 'ada@example.com']])
const app = createServer(
  toNodeListener(
    createExternalAuthHandler({
      management: createManagementClient({ baseUrl: sim.baseUrl, apiKey: SIMULATOR_API_KEY }),
      authorize: (_request, body) => {
        const username = tickets.get(String(body.proof))
        tickets.delete(String(body.proof))
        return username ? { username } : null
      },
    }),
  ),
)
let origin = ''

// LoginID is MSW; the app's own server on loopback is real, so MSW must let it through.
// With `onUnhandledRequest: 'error'` MSW would block it: "Cannot bypass a request when using
// the "error" strategy".
const mocks = setupServer(...sim.handlers)
beforeAll(async () => {
  mocks.listen({
    onUnhandledRequest(request, print) {
      const { hostname } = new URL(request.url)
      if (hostname === '127.0.0.1' || hostname === 'localhost') return // the app: let it through
      print.error() // anything else (a real LoginID host, a typo) fails the test
    },
  })
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve))
  origin = `http://127.0.0.1:${(app.address() as AddressInfo).port}`
})
afterAll(() => {
  mocks.close()
  app.closeAllConnections()
  app.close()
})

function signUp(proof: string, headers: Record<string, string>) {
  return runMfa({
    client: createMfaClient({ baseUrl: sim.baseUrl }),
    username: 'ada@example.com',
    externalAuthenticator: () => proof,
    tokenProvider: fetchGrantToken(`${origin}/api/loginid/grant`, { headers }),
  })
}

it('mints a grant token for the user the app authenticated; LoginID accepts it', async () => {
  // Browsers send Origin with every POST; Node's fetch does not, so the test sends it.
  const result = await signUp('ticket-1', { origin })
  expect(result.status === 'complete' && result.flow).toBe('signUp')
  expect(sim.users.has('ada@example.com')).toBe(true)
})

it('refuses a request without Origin (403), and an unknown proof (401)', async () => {
  tickets.set('ticket-2', 'bob@example.com')
  await expect(signUp('ticket-2', {})).rejects.toSatisfy(
    (error) => isMfaError(error, 'ERR_TOKEN_PROVIDER') && error.status === 403,
  )
  await expect(signUp('no-such-ticket', { origin })).rejects.toSatisfy(
    (error) => isMfaError(error, 'ERR_TOKEN_PROVIDER') && error.status === 401,
  )
})

it('answers 503 when LoginID is down', async () => {
  tickets.set('ticket-3', 'carol@example.com')
  sim.faults.add({
    path: '/fido2/v2/mgmt/grant/external-auth',
    times: 3, // the first attempt and the management client's two retries
    fault: { type: 'status', status: 503 },
  })
  const response = await fetch(`${origin}/api/loginid/grant`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin },
    body: JSON.stringify({ proof: 'ticket-3', username: 'carol@example.com', session: 's' }),
  })
  expect(response.status).toBe(503)
  expect(await response.json()).toEqual({ error: 'ERR_LOGINID_UNAVAILABLE' })
  sim.faults.clear()
})
