// Issue 14: every failure path of the driver, over the LoginIDMfa double (which throws exactly
// what @loginid/websdk3 3.5.0 throws: PasskeyError with `name` "Error", ApiError, AbortError,
// LoginIDError) and over the built-in client, with the same codes and the same fallbacks.
import { describe, expect, it } from 'vitest'
import { serveSimulator } from '../support/serve-simulator.js'
import { createMfaClient, runMfa } from '../../src/index.js'
import type { MfaClient, MfaEvent, RunMfaOptions } from '../../src/index.js'
import { createLoginIDSimulator, createSoftwareAuthenticator } from '../../src/testing.js'
import type { SoftwareAuthenticatorFailure } from '../../src/testing.js'
import {
  FakeLoginIDMfa,
  PasskeyError,
  completed,
  signUpThenRegister,
  toWebsdkError,
} from './helpers.js'

const sim = createLoginIDSimulator()
serveSimulator(sim)
const authenticator = createSoftwareAuthenticator()
const grant = ({ username }: { username: string }): string => sim.grantExternalAuth(username)

const clients: [string, () => MfaClient][] = [
  ['LoginIDMfa (websdk3 3.5.0 double)', () => new FakeLoginIDMfa(sim.baseUrl, authenticator)],
  ['the built-in client', () => createMfaClient({ baseUrl: sim.baseUrl, webauthn: authenticator })],
]
let n = 0

/** A user with a passkey on `authenticator`, and the device id that makes LoginID offer it. */
async function registered(): Promise<{ username: string; deviceId: string }> {
  const username = `parity-${n++}@example.com`
  sim.setPolicy(signUpThenRegister)
  const done = await completed(
    runMfa({
      client: createMfaClient({ baseUrl: sim.baseUrl, webauthn: authenticator, trustId: false }),
      username,
      externalAuthenticator: () => true,
      tokenProvider: grant,
    }),
  )
  sim.setPolicy(undefined)
  return { username, deviceId: done.deviceId ?? '' }
}

const base = (client: MfaClient, username: string, events: MfaEvent[] = []): RunMfaOptions => ({
  client,
  username,
  externalAuthenticator: () => true,
  tokenProvider: grant,
  onEvent: (e) => events.push(e),
})

describe('the double throws what websdk3 3.5.0 throws', () => {
  it('a PasskeyError keeps name "Error" and carries code and cause', () => {
    const cause = new DOMException('no', 'NotAllowedError')
    const error = toWebsdkError(cause, 'get', {}) as PasskeyError
    expect(error).toBeInstanceOf(PasskeyError)
    expect(error.name).toBe('Error')
    expect(error).toMatchObject({ code: 'ERROR_GENERAL_ERROR', cause })
  })
})

describe.each(clients)('failure paths over %s', (_name, makeClient) => {
  it.each<[SoftwareAuthenticatorFailure, string]>([
    ['cancel', 'ERR_PASSKEY_CANCELLED'],
    ['abort', 'ERR_PASSKEY_CANCELLED'],
    ['security', 'ERR_PASSKEY_DOMAIN'],
    ['error', 'ERR_PASSKEY_FAILED'],
    ['exists', 'ERR_PASSKEY_FAILED'],
    ['unsupported', 'ERR_PASSKEY_UNSUPPORTED'],
    ['constraint', 'ERR_PASSKEY_UNSUPPORTED'],
  ])('a passkey sign-in that fails with %s falls back to external (%s)', async (failure, code) => {
    const { username, deviceId } = await registered()
    authenticator.fail(failure, { ceremony: 'get' })
    const events: MfaEvent[] = []
    const reasons: string[] = []
    const done = await completed(
      runMfa({
        ...base(makeClient(), username, events),
        beginOptions: { deviceId },
        externalAuthenticator: ({ reason }) => (reasons.push(reason), true),
      }),
    )
    expect(done.steps[0]).toMatchObject({ action: 'passkey:auth', outcome: 'failed', error: code })
    expect(events.find((e) => e.type === 'fallback')).toMatchObject({ error: { code } })
    expect(reasons).toEqual(['passkeyFailed'])
  })

  it.each<[SoftwareAuthenticatorFailure, string]>([
    ['cancel', 'ERR_PASSKEY_CANCELLED'],
    ['exists', 'ERR_PASSKEY_EXISTS'],
    ['unsupported', 'ERR_PASSKEY_UNSUPPORTED'],
    ['constraint', 'ERR_PASSKEY_UNSUPPORTED'],
    ['security', 'ERR_PASSKEY_DOMAIN'],
    ['error', 'ERR_PASSKEY_FAILED'],
  ])('a passkey registration that fails with %s fails the run with %s', async (failure, code) => {
    sim.setPolicy(signUpThenRegister)
    authenticator.fail(failure, { ceremony: 'create' })
    await expect(runMfa(base(makeClient(), `parity-${n++}@example.com`))).rejects.toMatchObject({
      name: 'MfaError',
      code,
    })
    sim.setPolicy(undefined)
  })

  it('passkey.onError "throw" fails with the same code', async () => {
    const { username, deviceId } = await registered()
    authenticator.fail('cancel', { ceremony: 'get' })
    await expect(
      runMfa({
        ...base(makeClient(), username),
        beginOptions: { deviceId },
        passkey: { onError: 'throw' },
      }),
    ).rejects.toMatchObject({ code: 'ERR_PASSKEY_CANCELLED' })
  })

  it.each([
    [400, 'ERR_BAD_REQUEST'],
    [401, 'ERR_SESSION_INVALID'],
    [500, 'ERR_LOGINID_UNAVAILABLE'],
  ])('LoginID answering %i on third-party/verify is %s', async (status, code) => {
    sim.faults.add({ path: '/mfa/third-party/verify', fault: { type: 'status', status } })
    const events: MfaEvent[] = []
    const err = await runMfa(base(makeClient(), `parity-${n++}@example.com`, events)).catch(
      (e: unknown) => e,
    )
    expect(err).toMatchObject({ name: 'MfaError', code, status })
    expect(events.at(-1)).toMatchObject({ type: 'error', error: { code } })
  })

  it('an abort is ERR_ABORTED', async () => {
    const controller = new AbortController()
    await expect(
      runMfa({
        ...base(makeClient(), `parity-${n++}@example.com`),
        signal: controller.signal,
        onEvent: (e) => e.type === 'step:start' && controller.abort(),
      }),
    ).rejects.toMatchObject({ code: 'ERR_ABORTED' })
  })

  it('LoginID sending no session is ERR_BAD_RESPONSE', async () => {
    sim.faults.add({
      path: '/mfa/begin',
      fault: {
        type: 'status',
        status: 200,
        body: {
          flow: 'signUp',
          msg: 'more',
          msgCode: 'more',
          next: [{ action: { name: 'external', label: 'External' } }],
        },
      },
    })
    await expect(runMfa(base(makeClient(), `parity-${n++}@example.com`))).rejects.toMatchObject({
      code: 'ERR_BAD_RESPONSE',
    })
  })
})
