// `npm run bench`: how long one whole MFA run takes against the in-process simulator core (no
// network, no MSW), so the numbers show the library's own overhead plus the simulator's crypto.
import { bench, describe } from 'vitest'
import { createMfaClient, runMfa } from '../src/index.js'
import { createLoginIDSimulator, createSoftwareAuthenticator } from '../src/testing.js'

const sim = createLoginIDSimulator({ requirePasskeyRegistration: false })
const fetchFromSim: typeof fetch = (input, init) => sim.handle(new Request(input, init))
let n = 0

describe('runMfa against the simulator core', () => {
  bench('sign-up through external (begin, grant, third-party verify)', async () => {
    const client = createMfaClient({ baseUrl: sim.baseUrl, fetch: fetchFromSim })
    const username = `bench-${n++}@example.com`
    await runMfa({
      client,
      username,
      externalAuthenticator: () => true,
      tokenProvider: ({ username: user }) => sim.grantExternalAuth(user),
    })
  })

  const authenticator = createSoftwareAuthenticator()
  const passkeySim = createLoginIDSimulator({ requirePasskeyRegistration: true })
  const passkeyFetch: typeof fetch = (input, init) => passkeySim.handle(new Request(input, init))
  const storage = new Map<string, string>()
  const client = createMfaClient({
    baseUrl: passkeySim.baseUrl,
    fetch: passkeyFetch,
    webauthn: authenticator,
    stateStorage: {
      getItem: (key) => storage.get(key) ?? null,
      setItem: (key, value) => void storage.set(key, value),
      removeItem: (key) => void storage.delete(key),
    },
  })
  const passkeyUser = 'bench-passkey@example.com'
  let registered: Promise<unknown> | undefined

  bench('sign-in with a passkey (begin, WebAuthn assertion, verification)', async () => {
    registered ??= runMfa({
      client,
      username: passkeyUser,
      externalAuthenticator: () => true,
      tokenProvider: ({ username: user }) => passkeySim.grantExternalAuth(user),
    })
    await registered
    await runMfa({ client, username: passkeyUser, passkey: { onError: 'throw' } })
  })
})
