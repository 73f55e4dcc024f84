// A front-end test: the page's sign-in code runs in Node against the LoginID simulator's MSW
// handlers, a software authenticator stands in for the browser's passkeys, and MSW also answers
// the app's grant route (the back-end is tested on its own, see backend-route.test.ts).
import { http, HttpResponse } from 'msw'
import { setupServer } from 'msw/node'
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import { createMfaClient, fetchGrantToken, runMfa } from 'loginid-mfa-flow'
import type { MfaStorage } from 'loginid-mfa-flow'
import { createLoginIDSimulator, createSoftwareAuthenticator } from 'loginid-mfa-flow/testing'
import type { SoftwareAuthenticator } from 'loginid-mfa-flow/testing'

const APP = 'https://app.example.test'
const sim = createLoginIDSimulator({ requirePasskeyRegistration: true })
const server = setupServer(
  ...sim.handlers,
  // The app's grant route, as the front-end sees it: it mints for the user in the proof.
  http.post(`${APP}/api/loginid/grant`, async ({ request }) => {
    const { proof } = (await request.json()) as { proof: { user: string } }
    return HttpResponse.json({ token: sim.grantExternalAuth(proof.user) })
  }),
)
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }))
afterEach(() => server.resetHandlers())
afterAll(() => server.close())

/** What the page does: one runMfa with the app's password dialog as the external step. */
function signIn(
  username: string,
  device: { storage: MfaStorage; webauthn: SoftwareAuthenticator },
) {
  return runMfa({
    client: createMfaClient({
      baseUrl: sim.baseUrl,
      webauthn: device.webauthn,
      storage: device.storage, // LoginID's device id: the next run is on a known device
    }),
    username,
    externalAuthenticator: () => ({ user: username }), // the app's own login, here always ok
    tokenProvider: fetchGrantToken(`${APP}/api/loginid/grant`),
  })
}

function memoryStorage(): MfaStorage {
  const map = new Map<string, string>()
  return {
    getItem: (key) => map.get(key) ?? null,
    setItem: (key, value) => void map.set(key, value),
    removeItem: (key) => void map.delete(key),
  }
}

it('signs up, registers a passkey, then signs in with it', async () => {
  const device = { storage: memoryStorage(), webauthn: createSoftwareAuthenticator() }

  const signUp = await signIn('ada@example.com', device)
  expect(signUp.status === 'complete' && signUp.flow).toBe('signUp')
  expect(signUp.status === 'complete' && signUp.steps.map((s) => s.action)).toEqual([
    'external',
    'passkey:reg',
  ])
  expect(sim.users.get('ada@example.com')?.passkeys).toHaveLength(1)

  const again = await signIn('ada@example.com', device)
  expect(again.status === 'complete' && again.steps.map((s) => s.action)).toEqual(['passkey:auth'])
  expect(sim.requests.filter((r) => r.path.endsWith('/third-party/verify'))).toHaveLength(1)
})
