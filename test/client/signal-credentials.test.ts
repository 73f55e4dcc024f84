// After a passkey sign-in, browserWebAuthn lists the user's passkeys (GET /fido2/v2/passkeys on
// the simulator) and passes their ids to PublicKeyCredential.signalAllAcceptedCredentials, in the
// background, best effort (issue 9 §3).
import { afterEach, describe, expect, it, vi } from 'vitest'
import { serveSimulator } from '../support/serve-simulator.js'
import { browserWebAuthn, createMfaClient } from '../../src/index.js'
import type { WebAuthnAdapter } from '../../src/index.js'
import { createLoginIDSimulator, createSoftwareAuthenticator } from '../../src/testing.js'

const USER = 'signal@example.com'
const sim = createLoginIDSimulator()
serveSimulator(sim)

afterEach(() => {
  vi.unstubAllGlobals()
})

/** Register a passkey for USER with `authenticator`, then return the sign-in's begin session. */
async function registered(authenticator: WebAuthnAdapter): Promise<string> {
  sim.setPolicy((ctx) => (ctx.event === 'begin' ? { next: ['passkey:reg'] } : { complete: true }))
  const reg = createMfaClient({ baseUrl: sim.baseUrl, webauthn: authenticator, trustId: false })
  const begun = await reg.beginFlow(USER)
  await reg.performAction('passkey:reg', { session: begun.session ?? '' })
  sim.setPolicy((ctx) => (ctx.event === 'begin' ? { next: ['passkey:auth'] } : { complete: true }))
  return USER
}

function client(authenticator: WebAuthnAdapter, adapter: WebAuthnAdapter, fetchFn?: typeof fetch) {
  return createMfaClient({
    baseUrl: sim.baseUrl,
    trustId: false,
    // The software authenticator's ceremonies, browserWebAuthn's afterSignIn.
    webauthn: {
      create: authenticator.create,
      get: authenticator.get,
      ...(adapter.afterSignIn && { afterSignIn: adapter.afterSignIn }),
    },
    ...(fetchFn && { fetch: fetchFn }),
  })
}

async function signIn(c: ReturnType<typeof createMfaClient>) {
  const begun = await c.beginFlow(USER)
  expect(begun.nextAction).toBe('passkey:auth')
  return c.performAction('passkey:auth', { session: begun.session ?? '' })
}

describe('browserWebAuthn afterSignIn', () => {
  it('signals the passkeys LoginID lists after a passkey sign-in', async () => {
    const authenticator = createSoftwareAuthenticator()
    await registered(authenticator)
    const signal = vi.fn(async () => undefined)
    vi.stubGlobal('PublicKeyCredential', { signalAllAcceptedCredentials: signal })
    const done = await signIn(client(authenticator, browserWebAuthn()))
    expect(done.isComplete).toBe(true)
    await vi.waitFor(() => expect(signal).toHaveBeenCalledTimes(1))
    const [arg] = signal.mock.calls[0] as unknown as [Record<string, unknown>]
    const listed = sim.requests.filter((r) => r.path.endsWith('/fido2/v2/passkeys'))
    expect(listed.length).toBeGreaterThan(0)
    expect(arg).toMatchObject({ rpId: expect.any(String), userId: expect.any(String) })
    const ids = arg.allAcceptedCredentialIds as string[]
    expect(ids).toHaveLength(1)
    expect(done.passkeyCredential?.assertionResult?.credentialId ?? ids[0]).toBe(ids[0])
  })

  it('does nothing with signalCredentials: false', async () => {
    const authenticator = createSoftwareAuthenticator()
    await registered(authenticator)
    const signal = vi.fn(async () => undefined)
    vi.stubGlobal('PublicKeyCredential', { signalAllAcceptedCredentials: signal })
    const before = sim.requests.filter((r) => r.path.endsWith('/fido2/v2/passkeys')).length
    expect(browserWebAuthn({ signalCredentials: false }).afterSignIn).toBeUndefined()
    const done = await signIn(client(authenticator, browserWebAuthn({ signalCredentials: false })))
    expect(done.isComplete).toBe(true)
    await new Promise((r) => setTimeout(r, 50))
    expect(signal).not.toHaveBeenCalled()
    expect(sim.requests.filter((r) => r.path.endsWith('/fido2/v2/passkeys')).length).toBe(before)
  })

  it('never fails or delays the sign-in: a listing that hangs or a signal that throws', async () => {
    const authenticator = createSoftwareAuthenticator()
    await registered(authenticator)
    const signal = vi.fn(() => {
      throw new Error('boom')
    })
    vi.stubGlobal('PublicKeyCredential', { signalAllAcceptedCredentials: signal })
    // The listing never answers; every other request goes through.
    const hanging: typeof fetch = (input, init) =>
      String(input).endsWith('/fido2/v2/passkeys')
        ? new Promise(() => undefined)
        : fetch(input, init)
    const done = await signIn(client(authenticator, browserWebAuthn(), hanging))
    expect(done.isComplete).toBe(true)
    // A listing that answers, then a signal that throws: still fine.
    const again = await signIn(client(authenticator, browserWebAuthn()))
    expect(again.isComplete).toBe(true)
    await vi.waitFor(() => expect(signal).toHaveBeenCalled())
  })

  it('never signals an empty list for a refused listing (that would drop every passkey)', async () => {
    const authenticator = createSoftwareAuthenticator()
    await registered(authenticator)
    const signal = vi.fn(async () => undefined)
    vi.stubGlobal('PublicKeyCredential', { signalAllAcceptedCredentials: signal })
    let listed = 0
    const refusing: typeof fetch = async (input, init) => {
      if (!String(input).endsWith('/fido2/v2/passkeys')) return fetch(input, init)
      listed++
      return new Response(JSON.stringify({ msgCode: 'unauthorized', msg: 'no' }), { status: 401 })
    }
    expect((await signIn(client(authenticator, browserWebAuthn(), refusing))).isComplete).toBe(true)
    await vi.waitFor(() => expect(listed).toBe(1))
    await new Promise((r) => setTimeout(r, 50))
    expect(signal).not.toHaveBeenCalled()
  })

  it('skips the listing where the browser has no signalAllAcceptedCredentials', async () => {
    const authenticator = createSoftwareAuthenticator()
    await registered(authenticator)
    vi.stubGlobal('PublicKeyCredential', {})
    const before = sim.requests.filter((r) => r.path.endsWith('/fido2/v2/passkeys')).length
    expect((await signIn(client(authenticator, browserWebAuthn()))).isComplete).toBe(true)
    await new Promise((r) => setTimeout(r, 50))
    expect(sim.requests.filter((r) => r.path.endsWith('/fido2/v2/passkeys')).length).toBe(before)
  })
})
