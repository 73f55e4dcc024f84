// The software authenticator as the built-in client's `webauthn` adapter against the simulator:
// sign up (external, then passkey registration), sign in with the passkey, and a cancelled
// prompt. What went over the wire is then verified for real with the passkey verifier.
import { describe, expect, it } from 'vitest'
import { serveSimulator } from '../support/serve-simulator.js'
import { createMfaClient } from '../../src/index.js'
import type {
  MfaSessionResult,
  PasskeyCreationOptions,
  PasskeyRequestOptions,
} from '../../src/index.js'
import {
  createLoginIDSimulator,
  createPasskeyVerifier,
  createSoftwareAuthenticator,
} from '../../src/testing.js'
import type { PasskeyCredentialRecord } from '../../src/testing.js'

const ADA = 'ada@example.com'
const sim = createLoginIDSimulator({ requirePasskeyRegistration: true })
serveSimulator(sim)

const verifier = createPasskeyVerifier({ rpId: 'localhost', origin: 'http://localhost' })

/** The decoded passkey options LoginID offered for `factor`. */
function offered<T>(result: MfaSessionResult, factor: string): T {
  const value = result.remainingFactors.find((f) => f.type === factor)?.value
  if (!value) throw new Error(`no ${factor} offered`)
  return JSON.parse(Buffer.from(value, 'base64url').toString()) as T
}

/** The body of the last request to a path, as the simulator recorded it. */
function lastBody(path: string): Record<string, unknown> {
  const request = sim.requests.filter((r) => r.path.endsWith(path)).at(-1)
  if (!request) throw new Error(`no request to ${path}`)
  return request.body as Record<string, unknown>
}

describe('software authenticator with createMfaClient and the simulator', () => {
  it('signs up with a passkey, signs in with it, and its results verify for real', async () => {
    const authenticator = createSoftwareAuthenticator()
    const client = createMfaClient({ baseUrl: sim.baseUrl, webauthn: authenticator })

    // Sign up: external first, then passkey:reg.
    const begin = await client.beginFlow(ADA)
    expect(begin.nextAction).toBe('external')
    const afterExternal = await client.performAction('external', {
      payload: sim.grantExternalAuth(ADA),
    })
    expect(afterExternal.nextAction).toBe('passkey:reg')
    const creationOptions = offered<PasskeyCreationOptions>(afterExternal, 'passkey:reg')
    const signedUp = await client.performAction('passkey:reg')
    expect(signedUp.isComplete).toBe(true)
    expect(authenticator.credentials).toHaveLength(1)

    const reg = await verifier.verifyRegistration({
      creationResult: lastBody('/mfa/passkey/reg').creationResult,
      expectedChallenge: creationOptions.challenge,
    })
    expect(reg).toMatchObject({ verified: true, fmt: 'none' })
    if (!reg.verified) return
    const credential: PasskeyCredentialRecord = reg.credential

    // Sign in on the same device: the passkey.
    const signIn = await client.beginFlow(ADA, {
      ...(signedUp.deviceId !== undefined && { deviceId: signedUp.deviceId }),
    })
    expect(signIn.nextAction).toBe('passkey:auth')
    const requestOptions = offered<PasskeyRequestOptions>(signIn, 'passkey:auth')
    const signedIn = await client.performAction('passkey:auth')
    expect(signedIn.isComplete).toBe(true)

    const auth = await verifier.verifyAssertion({
      assertionResult: lastBody('/mfa/passkey/auth').assertionResult,
      expectedChallenge: requestOptions.challenge,
      credential,
      expectedUserHandle: creationOptions.user.id,
    })
    expect(auth).toMatchObject({ verified: true, newSignCount: 1 })
  })

  it('turns a cancelled prompt into ERR_PASSKEY_CANCELLED', async () => {
    const authenticator = createSoftwareAuthenticator()
    const client = createMfaClient({ baseUrl: sim.baseUrl, webauthn: authenticator })
    await client.beginFlow(ADA)
    await client.performAction('external', { payload: sim.grantExternalAuth(ADA) })
    authenticator.fail('cancel')
    await expect(client.performAction('passkey:reg')).rejects.toMatchObject({
      name: 'MfaError',
      code: 'ERR_PASSKEY_CANCELLED',
    })
    expect(authenticator.credentials).toHaveLength(0)
  })
})
