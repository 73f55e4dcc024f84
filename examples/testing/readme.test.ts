import { setupServer } from 'msw/node'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createMfaClient, runMfa } from 'loginid-mfa-flow'
import {
  createLoginIDSimulator,
  createSoftwareAuthenticator,
  SIMULATOR_API_KEY,
} from 'loginid-mfa-flow/testing'
import { createManagementClient } from 'loginid-mfa-flow/server'

const sim = createLoginIDSimulator({ requirePasskeyRegistration: true })
const server = setupServer(...sim.handlers)
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }))
afterAll(() => server.close())

it('signs a new user up with a passkey', async () => {
  const management = createManagementClient({ baseUrl: sim.baseUrl, apiKey: SIMULATOR_API_KEY })
  const result = await runMfa({
    client: createMfaClient({ baseUrl: sim.baseUrl, webauthn: createSoftwareAuthenticator() }),
    username: 'ada@example.com',
    externalAuthenticator: () => ({ password: 'checked by your app' }),
    // In the browser this is fetchGrantToken('/api/...'); here the test mints directly.
    tokenProvider: async ({ username }) => (await management.grantExternalAuth(username)).token,
  })
  expect(result.status).toBe('complete')
  expect(sim.users.get('ada@example.com')?.passkeys).toHaveLength(1)
})
