// Real WebAuthn in the simulator: registrations and assertions made by the software
// authenticator are verified with @simplewebauthn/server; every tampered, replayed, foreign or
// unknown answer is a failed factor (401 MfaNext with a new session offering [external]).
import { base64url } from 'jose'
import { describe, expect, it } from 'vitest'
import { serveSimulator } from '../support/serve-simulator.js'
import { createMfaClient } from '../../src/index.js'
import type {
  MfaBody,
  MfaNextBody,
  PasskeyAssertionResult,
  PasskeyCreationOptions,
  PasskeyRequestOptions,
} from '../../src/shared/protocol.js'
import {
  createLoginIDSimulator,
  createSoftwareAuthenticator,
  defaultSimulatorPolicy,
} from '../../src/testing.js'
import {
  begin,
  bodyOf,
  flipLastByte,
  names,
  optionsOf,
  patchClientData,
  post,
} from '../testing/helpers.js'

const ADA = 'ada@example.com'

// bob's phone holds a real passkey; olga's was made on another origin, rita's for another rpId;
// mark has a marker passkey (`passkey: true`) that nothing can sign for.
const bobPhone = createSoftwareAuthenticator()
const bobKey = await bobPhone.createCredential({ userName: 'bob' })
const foreign = createSoftwareAuthenticator({ origin: 'http://localhost:6666' })
const olgaKey = await foreign.createCredential({ userName: 'olga' })
const subdomain = createSoftwareAuthenticator({
  origin: 'http://app.localhost',
  rpId: 'app.localhost',
})
const ritaKey = await subdomain.createCredential({ userName: 'rita' })

const sim = createLoginIDSimulator({
  origin: ['http://localhost', 'http://app.localhost'],
  requirePasskeyRegistration: true,
  users: [
    { username: 'bob', passkeys: [bobKey], devices: ['dev-bob'] },
    { username: 'olga', passkeys: [olgaKey], devices: ['dev-olga'] },
    { username: 'rita', passkeys: [ritaKey], devices: ['dev-rita'] },
    { username: 'mark', passkey: true, devices: ['dev-mark'] },
  ],
})
const base = sim.baseUrl
serveSimulator(sim)

/** A 401 MfaNext with a new session offering only [external]; returns it. */
async function expectFailedFactor(
  res: Response,
  oldSession: string | undefined,
  reason: string,
): Promise<MfaNextBody> {
  expect(res.status).toBe(401)
  const body = await bodyOf<MfaNextBody>(res)
  expect(body.msgCode).toBe('additional_auth_required')
  expect(body.msg).toContain(reason)
  expect(body.session).toEqual(expect.any(String))
  expect(body.session).not.toBe(oldSession)
  expect(body.next?.[0]?.action.name).toBe('external')
  expect(names(body)).toEqual(['external'])
  return body
}

/** The fallback works: the new session takes an external grant and completes. */
async function expectExternalCompletes(session: string | undefined, username: string) {
  const res = await post(
    base,
    '/mfa/third-party/verify',
    { token: sim.grantExternalAuth(username) },
    session,
  )
  expect(res.status).toBe(200)
}

/** Begin a sign-in on the user's known device; the passkey request options offered. */
async function signIn(
  username: string,
  extra: Record<string, unknown> = {},
): Promise<{ next: MfaNextBody; options: PasskeyRequestOptions }> {
  const factor = extra.payload === undefined ? 'passkey:auth' : 'passkey:tx'
  const next = await begin(base, username, {
    deviceInfo: { deviceId: `dev-${username}` },
    ...extra,
  })
  expect(names(next)).toEqual([factor, 'external'])
  return { next, options: optionsOf(next, factor) as unknown as PasskeyRequestOptions }
}

/** Begin a flow whose first factor is passkey:reg; the creation options offered. */
async function registration(
  username: string,
): Promise<{ next: MfaNextBody; options: PasskeyCreationOptions }> {
  sim.setPolicy((ctx) =>
    ctx.event === 'begin' ? { next: ['passkey:reg'] } : defaultSimulatorPolicy(ctx),
  )
  const next = await begin(base, username)
  return { next, options: optionsOf(next, 'passkey:reg') as unknown as PasskeyCreationOptions }
}

const storedBob = () => sim.users.get('bob')!.passkeys[0]!

describe('passkeys through createMfaClient and the software authenticator', () => {
  it('signs up with a verified registration, then signs in with real signatures; the sign count grows', async () => {
    const authenticator = createSoftwareAuthenticator()
    const client = createMfaClient({ baseUrl: base, webauthn: authenticator })

    expect((await client.beginFlow(ADA)).nextAction).toBe('external')
    const afterExternal = await client.performAction('external', {
      payload: sim.grantExternalAuth(ADA),
    })
    expect(afterExternal.nextAction).toBe('passkey:reg')
    const signedUp = await client.performAction('passkey:reg')
    expect(signedUp.isComplete).toBe(true)
    const [held] = authenticator.credentials
    expect(signedUp.passkeyCredential).toMatchObject({
      passkeyId: expect.any(String),
      aaguid: '00000000-0000-0000-0000-000000000000',
      publicKey: held!.cosePublicKey,
      creationResult: expect.objectContaining({ credentialId: held!.id }),
    })
    const ada = sim.users.get(ADA)!
    expect(ada.userHandle).toBe(held!.userHandle)
    expect(ada.passkeys).toEqual([
      expect.objectContaining({
        id: signedUp.passkeyCredential!.passkeyId,
        credentialId: held!.id,
        publicKey: held!.cosePublicKey,
        signCount: 0,
        transports: ['internal'],
      }),
    ])

    for (const expected of [1, 2]) {
      const begun = await client.beginFlow(ADA, { deviceId: signedUp.deviceId! })
      expect(begun.nextAction).toBe('passkey:auth')
      const signedIn = await client.performAction('passkey:auth')
      expect(signedIn.isComplete).toBe(true)
      expect(signedIn.accessToken).toMatch(/^ey/)
      expect(signedIn.passkeyCredential).toMatchObject({
        passkeyId: signedUp.passkeyCredential!.passkeyId,
        publicKey: held!.cosePublicKey,
        assertionResult: expect.objectContaining({ credentialId: held!.id }),
      })
      expect(ada.passkeys[0]!.signCount).toBe(expected)
      expect(ada.passkeys[0]!.lastUsedAt).toEqual(expect.any(Number))
    }
  })

  it('confirms a transaction with passkey:tx, verified and bound to the payload', async () => {
    const client = createMfaClient({ baseUrl: base, webauthn: bobPhone })
    const begun = await client.beginFlow('bob', { deviceId: 'dev-bob', txPayload: 'pay 10 EUR' })
    expect(begun.nextAction).toBe('passkey:tx')
    const done = await client.performAction('passkey:tx')
    expect(done.isComplete).toBe(true)
    expect(done.payloadSignature).toMatch(/^ey/)
    expect(storedBob().signCount).toBeGreaterThan(0)
  })

  it('continues with external when the authenticator runs on another origin', async () => {
    const elsewhere = createSoftwareAuthenticator({ origin: 'http://localhost:6666' })
    const client = createMfaClient({ baseUrl: base, webauthn: elsewhere })
    await client.beginFlow(ADA)
    await client.performAction('external', { payload: sim.grantExternalAuth(ADA) })
    const failed = await client.performAction('passkey:reg')
    expect(failed.isComplete).toBe(false)
    expect(failed.nextAction).toBe('external')
    expect(failed.remainingFactors.map((f) => f.type)).toEqual(['external'])
    // external is accepted; the user still has no passkey, so registration is asked again
    const again = await client.performAction('external', { payload: sim.grantExternalAuth(ADA) })
    expect(again.nextAction).toBe('passkey:reg')
    expect(elsewhere.credentials).toHaveLength(1)
    expect(sim.users.has(ADA)).toBe(false)
  })

  it('continues with external when the passkey is unknown to LoginID', async () => {
    const stranger = createSoftwareAuthenticator()
    await stranger.createCredential({ userName: 'bob' })
    const client = createMfaClient({
      baseUrl: base,
      // ignore allowCredentials, as a discoverable-credential prompt would
      webauthn: { create: stranger.create, get: (o, s) => stranger.get(o, s, { autoFill: true }) },
    })
    await client.beginFlow('bob', { deviceId: 'dev-bob' })
    const failed = await client.performAction('passkey:auth')
    expect(failed.isComplete).toBe(false)
    expect(failed.nextAction).toBe('external')
  })
})

describe('assertions that fail verification (raw fetch)', () => {
  type Tamper = (assertion: PasskeyAssertionResult) => PasskeyAssertionResult
  it.each<[string, Tamper, string]>([
    [
      'a tampered signature',
      (a) => ({ ...a, signature: flipLastByte(a.signature) }),
      'bad_signature',
    ],
    [
      'tampered authenticator data (a forged counter)',
      (a) => ({ ...a, authenticatorData: flipLastByte(a.authenticatorData) }),
      'bad_signature',
    ],
    [
      'a get ceremony turned into a create',
      (a) => ({
        ...a,
        clientDataJSON: patchClientData(a.clientDataJSON, { type: 'webauthn.create' }),
      }),
      'wrong_type',
    ],
    [
      'a rewritten origin',
      (a) => ({
        ...a,
        clientDataJSON: patchClientData(a.clientDataJSON, { origin: 'https://evil.example' }),
      }),
      'origin_mismatch',
    ],
    [
      "another user's handle",
      (a) => ({ ...a, userHandle: base64url.encode('someone else') }),
      'user_mismatch',
    ],
    ['a missing signature', ({ signature: _s, ...a }) => a as PasskeyAssertionResult, 'malformed'],
    ['a non-base64url field', (a) => ({ ...a, authenticatorData: 'a+b/c=' }), 'malformed'],
  ])('answers %s with 401 offering external', async (_name, tamper, reason) => {
    const { next, options } = await signIn('bob')
    const assertion = tamper(await bobPhone.get(options))
    const res = await post(base, '/mfa/passkey/auth', { assertionResult: assertion }, next.session)
    const failed = await expectFailedFactor(res, next.session, reason)
    await expectExternalCompletes(failed.session, 'bob')
    // the used-up session is gone
    const again = await post(
      base,
      '/mfa/passkey/auth',
      { assertionResult: assertion },
      next.session,
    )
    expect(again.status).toBe(401)
    expect(await bodyOf(again)).toMatchObject({ msgCode: 'unauthorized' })
  })

  it('rejects a replayed assertion (the challenge of an earlier session)', async () => {
    const first = await signIn('bob')
    const assertion = await bobPhone.get(first.options)
    const ok = await post(
      base,
      '/mfa/passkey/auth',
      { assertionResult: assertion },
      first.next.session,
    )
    expect(ok.status).toBe(200)
    const second = await signIn('bob')
    const res = await post(
      base,
      '/mfa/passkey/auth',
      { assertionResult: assertion },
      second.next.session,
    )
    await expectFailedFactor(res, second.next.session, 'challenge_mismatch')
  })

  it('rejects an assertion made on another origin', async () => {
    const { next, options } = await signIn('olga')
    const res = await post(
      base,
      '/mfa/passkey/auth',
      { assertionResult: await foreign.get(options) },
      next.session,
    )
    await expectFailedFactor(res, next.session, 'origin_mismatch')
  })

  it('rejects an assertion made for another rpId (allowed origin, wrong rpIdHash)', async () => {
    const { next, options } = await signIn('rita')
    const assertion = await subdomain.get({ ...options, rpId: 'app.localhost' })
    const res = await post(base, '/mfa/passkey/auth', { assertionResult: assertion }, next.session)
    await expectFailedFactor(res, next.session, 'rp_id_mismatch')
  })

  it('rejects an unknown credential', async () => {
    const stranger = createSoftwareAuthenticator()
    await stranger.createCredential({ userName: 'bob', userHandle: bobKey.userHandle })
    const { next, options } = await signIn('bob')
    const assertion = await stranger.get({ ...options, allowCredentials: [] })
    const res = await post(base, '/mfa/passkey/auth', { assertionResult: assertion }, next.session)
    await expectFailedFactor(res, next.session, 'unknown_credential')
  })

  it("rejects another user's credential", async () => {
    const { next, options } = await signIn('olga')
    const assertion = await bobPhone.get({ ...options, allowCredentials: [] })
    const res = await post(base, '/mfa/passkey/auth', { assertionResult: assertion }, next.session)
    await expectFailedFactor(res, next.session, 'unknown_credential')
  })

  it('never verifies a marker passkey (seed `passkey: true`)', async () => {
    const { next, options } = await signIn('mark')
    const marker = options.allowCredentials[0]!.id
    const assertion = await bobPhone.get({ ...options, allowCredentials: [] })
    const res = await post(
      base,
      '/mfa/passkey/auth',
      { assertionResult: { ...assertion, credentialId: marker } },
      next.session,
    )
    await expectFailedFactor(res, next.session, 'marker_passkey')
  })

  it('rejects a signature counter that did not grow (a cloned authenticator)', async () => {
    storedBob().signCount = 1000
    const { next, options } = await signIn('bob')
    const res = await post(
      base,
      '/mfa/passkey/auth',
      { assertionResult: await bobPhone.get(options) },
      next.session,
    )
    await expectFailedFactor(res, next.session, 'sign_count')
    expect(storedBob().signCount).toBe(1000)
  })

  it('requires user verification', async () => {
    const lazy = createSoftwareAuthenticator({ userVerified: false })
    const key = await lazy.createCredential({ userName: 'uma' })
    sim.addUser({ username: 'uma', passkeys: [key], devices: ['dev-uma'] })
    const { next, options } = await signIn('uma')
    const res = await post(
      base,
      '/mfa/passkey/auth',
      { assertionResult: await lazy.get(options) },
      next.session,
    )
    await expectFailedFactor(res, next.session, 'user_verification')
  })

  it('accepts a genuine assertion and stores the new counter', async () => {
    const { next, options } = await signIn('bob')
    const assertion = await bobPhone.get(options)
    const res = await post(base, '/mfa/passkey/auth', { assertionResult: assertion }, next.session)
    expect(res.status).toBe(200)
    const mfa = await bodyOf<MfaBody>(res)
    expect(mfa.passkeyInfo).toEqual({
      passkeyId: storedBob().id,
      aaguid: '00000000-0000-0000-0000-000000000000',
      publicKey: bobKey.cosePublicKey,
      assertionResult: assertion,
    })
    const authData = base64url.decode(assertion.authenticatorData)
    const counter = new DataView(authData.buffer, authData.byteOffset).getUint32(33)
    expect(storedBob().signCount).toBe(counter)
  })
})

describe('registrations that fail verification (raw fetch)', () => {
  it('accepts a genuine none attestation and stores the COSE key', async () => {
    const authenticator = createSoftwareAuthenticator()
    const { next, options } = await registration('nina')
    const creationResult = await authenticator.create(options)
    const res = await post(base, '/mfa/passkey/reg', { creationResult }, next.session)
    expect(res.status).toBe(200)
    const mfa = await bodyOf<MfaBody>(res)
    const [held] = authenticator.credentials
    expect(mfa.passkeyInfo).toEqual({
      passkeyId: expect.any(String),
      aaguid: '00000000-0000-0000-0000-000000000000',
      publicKey: held!.cosePublicKey,
      creationResult,
    })
    expect(sim.users.get('nina')!.passkeys).toEqual([
      expect.objectContaining({ credentialId: held!.id, publicKey: held!.cosePublicKey }),
    ])
  })

  type Make = (options: PasskeyCreationOptions) => Promise<object>
  const genuine = (options: PasskeyCreationOptions) => createSoftwareAuthenticator().create(options)
  it.each<[string, Make, string]>([
    [
      'an attestation made on another origin',
      (o) => createSoftwareAuthenticator({ origin: 'http://localhost:6666' }).create(o),
      'origin_mismatch',
    ],
    [
      'an attestation made for another rpId',
      (o) => subdomain.create({ ...o, rp: { ...o.rp, id: 'app.localhost' } }),
      'rp_id_mismatch',
    ],
    [
      'a create ceremony turned into a get',
      async (o) => {
        const result = await genuine(o)
        return {
          ...result,
          clientDataJSON: patchClientData(result.clientDataJSON, { type: 'webauthn.get' }),
        }
      },
      'wrong_type',
    ],
    [
      'a challenge of another session',
      async (o) => genuine({ ...o, challenge: base64url.encode(new Uint8Array(32)) }),
      'challenge_mismatch',
    ],
    [
      'a credentialId that is not the attested one',
      async (o) => ({ ...(await genuine(o)), credentialId: base64url.encode('other') }),
      'credential_mismatch',
    ],
  ])('answers %s with 401 offering external and stores nothing', async (_n, make, reason) => {
    const { next, options } = await registration('nina')
    const creationResult = await make(options)
    const res = await post(base, '/mfa/passkey/reg', { creationResult }, next.session)
    const failed = await expectFailedFactor(res, next.session, reason)
    // external is accepted; with no passkey stored, registration is asked again
    const external = await post(
      base,
      '/mfa/third-party/verify',
      { token: sim.grantExternalAuth('nina') },
      failed.session,
    )
    expect(external.status).toBe(401)
    expect(names(await bodyOf<MfaNextBody>(external))).toEqual(['passkey:reg'])
    expect(sim.users.has('nina')).toBe(false)
  })
})

describe('passkey:tx (raw fetch)', () => {
  const sha256 = async (text: string): Promise<Uint8Array> =>
    new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)))

  it('issues a challenge that commits to the payload and verifies the assertion', async () => {
    const { next, options } = await signIn('bob', { payload: 'pay 10 EUR' })
    const challenge = base64url.decode(options.challenge)
    expect(challenge).toHaveLength(64)
    expect(challenge.slice(32)).toEqual(await sha256('pay 10 EUR'))
    const assertion = await bobPhone.get(options)
    const res = await post(base, '/mfa/passkey/tx', { assertionResult: assertion }, next.session)
    expect(res.status).toBe(200)
    const mfa = await bodyOf<MfaBody>(res)
    expect(new TextDecoder().decode(base64url.decode(mfa.payload!))).toBe('pay 10 EUR')
    expect(mfa.payloadSignature).toMatch(/^ey/)
    expect(mfa.passkeyInfo).toMatchObject({ passkeyId: storedBob().id, assertionResult: assertion })
  })

  it('rejects an assertion over the replaced payload', async () => {
    const { next, options } = await signIn('bob', { payload: 'pay 10 EUR' })
    const signedOld = await bobPhone.get(options)
    const updated = await bodyOf<MfaNextBody>(
      await post(base, '/mfa/payload', { payload: 'pay 9999 EUR' }, next.session),
    )
    const fresh = optionsOf(updated, 'passkey:tx') as unknown as PasskeyRequestOptions
    expect(base64url.decode(fresh.challenge).slice(32)).toEqual(await sha256('pay 9999 EUR'))
    const res = await post(base, '/mfa/passkey/tx', { assertionResult: signedOld }, updated.session)
    await expectFailedFactor(res, updated.session, 'challenge_mismatch')
  })

  it('rejects a tampered passkey:tx signature', async () => {
    const { next, options } = await signIn('bob', { payload: 'pay 10 EUR' })
    const assertion = await bobPhone.get(options)
    const res = await post(
      base,
      '/mfa/passkey/tx',
      { assertionResult: { ...assertion, signature: flipLastByte(assertion.signature) } },
      next.session,
    )
    await expectFailedFactor(res, next.session, 'bad_signature')
  })
})

describe('configuration', () => {
  it('takes one origin or a non-empty list, and rejects anything else', () => {
    expect(() => createLoginIDSimulator({ origin: 'http://localhost:5173' })).not.toThrow()
    for (const origin of [[], [''], '', 5, [5]]) {
      expect(() => createLoginIDSimulator({ origin: origin as never })).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }),
      )
    }
  })

  it('validates passkey seeds', () => {
    const bad: unknown[] = [
      'x',
      [{ id: 'a' }],
      [{ id: 'a', cosePublicKey: 'b' }],
      [{ ...bobKey, signCount: -1 }],
      [bobKey, { ...olgaKey }],
    ]
    for (const passkeys of bad) {
      expect(() =>
        createLoginIDSimulator({ users: [{ username: 'x', passkeys: passkeys as never }] }),
      ).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }))
    }
  })

  it('seeds a real passkey with the handle and counter of the authenticator', () => {
    const bob = sim.users.get('bob')!
    expect(bob.userHandle).toBe(bobKey.userHandle)
    expect(bob.passkeys).toEqual([
      expect.objectContaining({
        credentialId: bobKey.id,
        publicKey: bobKey.cosePublicKey,
        signCount: 0,
        transports: ['internal'],
      }),
    ])
    expect(sim.users.get('mark')!.passkeys[0]!.publicKey).toBeUndefined()
  })
})
