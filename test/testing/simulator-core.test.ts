import { base64url, createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose'
import { describe, expect, it, vi } from 'vitest'
import { serveSimulator } from '../support/serve-simulator.js'
import type {
  MfaBody,
  MfaNextBody,
  PasskeyCreationOptions,
  PasskeyRequestOptions,
} from '../../src/shared/protocol.js'
import {
  SIMULATOR_API_KEY,
  createLoginIDSimulator,
  createSoftwareAuthenticator,
  defaultSimulatorPolicy,
} from '../../src/testing.js'
import { basic, begin, bodyOf, names, optionsOf, post, signUpWithExternal } from './helpers.js'

// bob's phone holds a real passkey (the simulator verifies WebAuthn for real).
const bobPhone = createSoftwareAuthenticator()
const bobKey = await bobPhone.createCredential({ userName: 'bob' })
const sim = createLoginIDSimulator({
  users: [
    { username: 'alice', email: 'alice@example.com', phone: '+15550100' },
    { username: 'bob', passkeys: [bobKey], devices: ['dev-bob'] },
  ],
})
const base = sim.baseUrl
const server = serveSimulator(sim)
const grant = (u: string): string => sim.grantExternalAuth(u)

describe('defaults', () => {
  it('uses the documented base URL, app id and API key', () => {
    expect(sim.baseUrl).toBe('https://sim-app.api.loginid.test')
    expect(sim.appId).toBe('sim-app')
    expect(SIMULATOR_API_KEY).toBe('sim_demo_api_key')
  })
})

describe('POST /mfa/begin', () => {
  it('signs up an unknown user with [external]', async () => {
    const next = await begin(base, 'carol')
    expect(next).toMatchObject({ flow: 'signUp', msgCode: 'additional_auth_required' })
    expect(names(next)).toEqual(['external'])
    expect(next.next?.[0]?.options).toBeUndefined()
    expect(typeof next.session).toBe('string')
    expect(next.session!.length).toBeGreaterThan(20)
  })

  it('offers [external] to a known user on a new device', async () => {
    const next = await begin(base, 'bob')
    expect(next.flow).toBe('signIn')
    expect(names(next)).toEqual(['external'])
  })

  it('offers [passkey:auth, external] on a known device with real request options', async () => {
    const next = await begin(base, 'bob', { deviceInfo: { deviceId: 'dev-bob' } })
    expect(names(next)).toEqual(['passkey:auth', 'external'])
    expect(next.next?.[0]?.options?.[0]?.name).toBe('assertionOptions')
    const options = optionsOf(next, 'passkey:auth')
    const bob = sim.users.get('bob')!
    expect(options).toEqual({
      challenge: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      rpId: 'localhost',
      allowCredentials: [
        { type: 'public-key', id: bob.passkeys[0]!.credentialId, transports: ['internal'] },
      ],
      userVerification: 'required',
      timeout: 60000,
    })
  })

  it('gives a new session each time', async () => {
    const a = await begin(base, 'alice')
    const b = await begin(base, 'alice')
    expect(a.session).not.toBe(b.session)
  })

  it.each([
    ['no body', undefined],
    ['an array', '[]'],
    ['no user', {}],
    ['empty username', { user: { username: '' } }],
    ['a numeric username', { user: { username: 5 } }],
    ['a bad usernameType', { user: { username: 'a', usernameType: 'nick' } }],
    ['a non-object deviceInfo', { user: { username: 'a' }, deviceInfo: 'x' }],
    ['a numeric deviceId', { user: { username: 'a' }, deviceInfo: { deviceId: 1 } }],
    ['non-string trust items', { user: { username: 'a' }, trustItems: { auth: 1 } }],
    ['an empty payload', { user: { username: 'a' }, payload: '' }],
  ])('answers 400 bad_request for %s', async (_name, body) => {
    const res = await fetch(`${base}/fido2/v2/mfa/begin`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      ...(body !== undefined && { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    })
    expect(res.status).toBe(400)
    expect(await bodyOf(res)).toMatchObject({ msgCode: 'bad_request', msg: expect.any(String) })
  })

  it('answers 400 for malformed JSON', async () => {
    const res = await post(base, '/mfa/begin', '{"user":')
    expect(res.status).toBe(400)
    expect(await bodyOf(res)).toMatchObject({ msgCode: 'bad_request' })
  })
})

describe('external factor and tokens', () => {
  it('completes a sign-up with ES256 tokens verifiable against the served JWKS', async () => {
    const next = await begin(base, 'carol')
    const res = await post(base, '/mfa/third-party/verify', { token: grant('carol') }, next.session)
    expect(res.status).toBe(200)
    const mfa = await bodyOf<MfaBody>(res)
    expect(mfa.flow).toBe('signUp')
    expect(mfa.deviceId).toEqual(expect.any(String))
    const carol = sim.users.get('carol')
    expect(carol).toBeDefined()
    expect(carol!.devices).toContain(mfa.deviceId)

    const jwks = createRemoteJWKSet(new URL(`${base}/fido2/v2/.well-known/jwks.json`))
    for (const token of [mfa.accessToken!, mfa.idToken!, mfa.refreshToken!]) {
      const { payload, protectedHeader } = await jwtVerify(token, jwks, {
        issuer: base,
        audience: 'sim-app',
        algorithms: ['ES256'],
      })
      expect(protectedHeader.alg).toBe('ES256')
      expect(protectedHeader.kid).toEqual(expect.any(String))
      expect(payload).toMatchObject({ sub: carol!.id, username: 'carol' })
      expect(payload.exp! - payload.iat!).toBe(3600)
    }
  })

  it('publishes the JWKS in LoginID shape', async () => {
    const res = await fetch(`${base}/fido2/v2/.well-known/jwks.json`)
    expect(res.status).toBe(200)
    const { keys } = await bodyOf<{ keys: Record<string, unknown>[] }>(res)
    expect(keys).toHaveLength(1)
    expect(keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' })
    expect(keys[0]!.key_ops).toEqual(['verify'])
    expect(keys[0]).not.toHaveProperty('d')
  })

  it('uses the session up: the same session cannot complete twice', async () => {
    const next = await begin(base, 'carol')
    await post(base, '/mfa/third-party/verify', { token: grant('carol') }, next.session)
    const again = await post(
      base,
      '/mfa/third-party/verify',
      { token: grant('carol') },
      next.session,
    )
    expect(again.status).toBe(401)
    const body = await bodyOf(again)
    expect(body).toMatchObject({ msgCode: 'unauthorized' })
    expect(body).not.toHaveProperty('session')
  })

  it.each([
    ['another user', () => grant('mallory'), 'invalid_token'],
    ['an unknown token', () => 'sim_g_nope', 'invalid_token'],
  ])('rejects %s without consuming the session', async (_n, token, msgCode) => {
    const next = await begin(base, 'alice')
    const res = await post(base, '/mfa/third-party/verify', { token: token() }, next.session)
    expect(res.status).toBe(401)
    const body = await bodyOf(res)
    expect(body).toMatchObject({ msgCode })
    expect(body).not.toHaveProperty('session')
    const ok = await post(base, '/mfa/third-party/verify', { token: grant('alice') }, next.session)
    expect(ok.status).toBe(200)
  })

  it('rejects a used grant token with token_used', async () => {
    const token = grant('alice')
    const first = await begin(base, 'alice')
    expect((await post(base, '/mfa/third-party/verify', { token }, first.session)).status).toBe(200)
    const second = await begin(base, 'alice')
    const res = await post(base, '/mfa/third-party/verify', { token }, second.session)
    expect(res.status).toBe(401)
    expect(await bodyOf(res)).toMatchObject({ msgCode: 'token_used' })
    const ok = await post(
      base,
      '/mfa/third-party/verify',
      { token: grant('alice') },
      second.session,
    )
    expect(ok.status).toBe(200)
  })

  it('rejects an expired grant token with token_expired (fake timers)', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const next = await begin(base, 'alice')
    const token = grant('alice')
    vi.setSystemTime(Date.now() + 30_001)
    const res = await post(base, '/mfa/third-party/verify', { token }, next.session)
    expect(res.status).toBe(401)
    expect(await bodyOf(res)).toMatchObject({ msgCode: 'token_expired' })
  })

  it('accepts a grant token just before it expires', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const next = await begin(base, 'alice')
    const token = grant('alice')
    vi.setSystemTime(Date.now() + 29_000)
    expect((await post(base, '/mfa/third-party/verify', { token }, next.session)).status).toBe(200)
  })

  it('answers 400 for a missing token and keeps the session', async () => {
    const next = await begin(base, 'alice')
    const res = await post(base, '/mfa/third-party/verify', {}, next.session)
    expect(res.status).toBe(400)
    expect(await bodyOf(res)).toMatchObject({ msgCode: 'bad_request' })
    expect(
      (await post(base, '/mfa/third-party/verify', { token: grant('alice') }, next.session)).status,
    ).toBe(200)
  })

  it('refuses a factor the session does not offer', async () => {
    const next = await begin(base, 'alice')
    const res = await post(
      base,
      '/mfa/passkey/auth',
      { assertionResult: { credentialId: bobKey.id } },
      next.session,
    )
    expect(res.status).toBe(400)
  })
})

describe('sessions', () => {
  it('rejects a missing, unknown or Bearer session with 401 unauthorized and no session', async () => {
    const next = await begin(base, 'alice')
    for (const auth of [undefined, 'nope', `Bearer ${next.session}`]) {
      const res = await post(base, '/mfa/third-party/verify', { token: grant('alice') }, auth)
      expect(res.status).toBe(401)
      const body = await bodyOf(res)
      expect(body).toMatchObject({ msgCode: 'unauthorized', msg: expect.any(String) })
      expect(body).not.toHaveProperty('session')
    }
  })

  it('expires sessions after sessionTtlMs (fake timers)', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const next = await begin(base, 'alice')
    vi.setSystemTime(Date.now() + 300_000)
    const res = await post(base, '/mfa/third-party/verify', { token: grant('alice') }, next.session)
    expect(res.status).toBe(401)
    expect(await bodyOf(res)).toMatchObject({ msgCode: 'session_expired' })
  })

  it('keeps a session alive just before it expires', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const next = await begin(base, 'alice')
    vi.setSystemTime(Date.now() + 299_000)
    const res = await post(base, '/mfa/third-party/verify', { token: grant('alice') }, next.session)
    expect(res.status).toBe(200)
  })

  it('honours sessionTtlMs, grantTtlMs and tokenTtlSec (fake timers)', async () => {
    const short = createLoginIDSimulator({
      baseUrl: 'https://short.api.loginid.test',
      users: [{ username: 'alice' }],
      sessionTtlMs: 10_000,
      grantTtlMs: 2_000,
      tokenTtlSec: 60,
    })
    server.use(...short.handlers)
    const url = short.baseUrl
    vi.useFakeTimers({ toFake: ['Date'] })
    const start = Date.now()
    // session: alive at 9.9 s, expired at 10 s
    const stale = await begin(url, 'alice')
    const fresh = await begin(url, 'alice')
    vi.setSystemTime(start + 10_000)
    const expired = await post(
      url,
      '/mfa/third-party/verify',
      { token: short.grantExternalAuth('alice') },
      stale.session,
    )
    expect(await bodyOf(expired)).toMatchObject({ msgCode: 'session_expired' })
    vi.setSystemTime(start)
    // grant: expired after 2 s; the rejection leaves the session usable
    const token = short.grantExternalAuth('alice')
    vi.setSystemTime(start + 2_000)
    const late = await post(url, '/mfa/third-party/verify', { token }, fresh.session)
    expect(late.status).toBe(401)
    expect(await bodyOf(late)).toMatchObject({ msgCode: 'token_expired' })
    vi.setSystemTime(start + 9_900)
    const done = await post(
      url,
      '/mfa/third-party/verify',
      { token: short.grantExternalAuth('alice') },
      fresh.session,
    )
    expect(done.status).toBe(200)
    // tokens: exp = iat + tokenTtlSec, for each of the three
    const body = await bodyOf<MfaBody>(done)
    for (const token of [body.accessToken, body.idToken, body.refreshToken]) {
      const [, payload = ''] = (token ?? '').split('.')
      const claims = JSON.parse(new TextDecoder().decode(base64url.decode(payload))) as {
        iat: number
        exp: number
      }
      expect(claims.exp - claims.iat).toBe(60)
    }
  })

  it('binds a session to its user', async () => {
    const next = await begin(base, 'alice')
    const res = await post(base, '/mfa/third-party/verify', { token: grant('bob') }, next.session)
    expect(res.status).toBe(401)
  })
})

describe('management API', () => {
  const url = `${base}/fido2/v2/mgmt/grant/external-auth`

  it('mints a grant token with the default key', async () => {
    const res = await post(
      base,
      '/mgmt/grant/external-auth',
      { username: 'alice' },
      basic(SIMULATOR_API_KEY),
    )
    expect(res.status).toBe(200)
    const { token } = await bodyOf<{ token: string }>(res)
    const next = await begin(base, 'alice')
    expect((await post(base, '/mfa/third-party/verify', { token }, next.session)).status).toBe(200)
    expect(url).toContain('/mgmt/')
  })

  it.each([
    ['no header', undefined],
    ['an unknown key', basic('other')],
    ['a key without the colon', `Basic ${btoa(SIMULATOR_API_KEY)}`],
    ['a password', `Basic ${btoa(`${SIMULATOR_API_KEY}:pw`)}`],
    ['a Bearer key', `Bearer ${SIMULATOR_API_KEY}`],
  ])('answers 401 unauthorized for %s', async (_n, auth) => {
    const res = await post(base, '/mgmt/grant/external-auth', { username: 'alice' }, auth)
    expect(res.status).toBe(401)
    expect(await bodyOf(res)).toMatchObject({ msgCode: 'unauthorized' })
  })

  it('answers 403 forbidden naming the missing scope', async () => {
    const scoped = createLoginIDSimulator({
      baseUrl: 'https://scoped.api.loginid.test',
      apiKeys: [{ key: 'k1', scopes: ['passkey:read'] }],
    })
    server.use(...scoped.handlers)
    const res = await post(
      scoped.baseUrl,
      '/mgmt/grant/external-auth',
      { username: 'a' },
      basic('k1'),
    )
    expect(res.status).toBe(403)
    const body = await bodyOf<{ msg: string; msgCode: string }>(res)
    expect(body.msgCode).toBe('forbidden')
    expect(body.msg).toContain('external:verify')
  })

  it.each([
    ['no username', {}],
    ['an empty username', { username: '' }],
    ['a numeric username', { username: 7 }],
    ['malformed JSON', '{'],
  ])('answers 400 bad_request for %s', async (_n, body) => {
    const res = await post(base, '/mgmt/grant/external-auth', body, basic(SIMULATOR_API_KEY))
    expect(res.status).toBe(400)
    expect(await bodyOf(res)).toMatchObject({ msgCode: 'bad_request' })
  })

  it('verifies access tokens with /mgmt/token/verify', async () => {
    const mfa = await signUpWithExternal(base, 'carol', grant)
    const ok = await post(
      base,
      '/mgmt/token/verify',
      { jwtAccess: mfa.accessToken },
      basic(SIMULATOR_API_KEY),
    )
    expect(ok.status).toBe(204)
    expect(await ok.text()).toBe('')
    const idToken = await post(
      base,
      '/mgmt/token/verify',
      { jwtAccess: mfa.idToken },
      basic(SIMULATOR_API_KEY),
    )
    expect(idToken.status).toBe(401)
    const tampered = String(mfa.accessToken).slice(0, -4) + 'AAAA'
    const bad = await post(
      base,
      '/mgmt/token/verify',
      { jwtAccess: tampered },
      basic(SIMULATOR_API_KEY),
    )
    expect(bad.status).toBe(401)
    const noKey = await post(base, '/mgmt/token/verify', { jwtAccess: mfa.accessToken })
    expect(noKey.status).toBe(401)
    const noBody = await post(base, '/mgmt/token/verify', {}, basic(SIMULATOR_API_KEY))
    expect(noBody.status).toBe(400)
  })

  it('rejects an expired access token (fake timers)', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const mfa = await signUpWithExternal(base, 'carol', grant)
    vi.setSystemTime(Date.now() + 3601_000)
    const res = await post(
      base,
      '/mgmt/token/verify',
      { jwtAccess: mfa.accessToken },
      basic(SIMULATOR_API_KEY),
    )
    expect(res.status).toBe(401)
    expect(await bodyOf(res)).toMatchObject({ msgCode: 'token_expired' })
  })

  it('mints scoped tokens with /mgmt/grant', async () => {
    const res = await post(
      base,
      '/mgmt/grant',
      { grants: ['passkey:read'], username: 'alice' },
      basic(SIMULATOR_API_KEY),
    )
    expect(res.status).toBe(200)
    const { token } = await bodyOf<{ token: string }>(res)
    expect(decodeProtectedHeader(token).alg).toBe('ES256')
    const jwks = createRemoteJWKSet(new URL(`${base}/fido2/v2/.well-known/jwks.json`))
    const { payload } = await jwtVerify(token, jwks, { issuer: base, audience: 'sim-app' })
    expect(payload).toMatchObject({ scopes: ['passkey:read'], username: 'alice' })
    for (const body of [{}, { grants: [] }, { grants: ['nope'] }, { grants: 'passkey:read' }]) {
      const bad = await post(base, '/mgmt/grant', body, basic(SIMULATOR_API_KEY))
      expect(bad.status).toBe(400)
    }
    const profile = await post(
      base,
      '/mgmt/grant',
      { grants: ['profile:read'] },
      basic(SIMULATOR_API_KEY),
    )
    expect(profile.status).toBe(403)
  })
})

describe('OTP', () => {
  const otpFirst = (): void =>
    sim.setPolicy((ctx) =>
      ctx.event === 'begin' ? { next: ['otp:email', 'otp:sms'] } : defaultSimulatorPolicy(ctx),
    )

  it('offers contacts as LoginID does', async () => {
    otpFirst()
    const next = await begin(base, 'alice')
    expect(names(next)).toEqual(['otp:email', 'otp:sms'])
    expect(next.next?.[0]?.options).toEqual([
      {
        name: 'email:primary',
        label: 'alice@example.com',
        value: expect.stringMatching(/^[0-9a-f-]{36}$/),
      },
    ])
    expect(next.next?.[1]?.options).toEqual([{ label: '+15550100', value: expect.any(String) }])
  })

  it('drops OTP factors when the user has no contact', async () => {
    otpFirst()
    const next = await begin(base, 'bob')
    expect(names(next)).toEqual([])
  })

  it('delivers a code to the inbox and completes with it', async () => {
    otpFirst()
    const next = await begin(base, 'alice')
    const req = await post(
      base,
      '/mfa/otp/request',
      { method: 'email', option: 'alice@example.com' },
      next.session,
    )
    expect(req.status).toBe(200)
    const { session } = await bodyOf<{ session: string }>(req)
    expect(session).not.toBe(next.session)
    const inbox = sim.inbox('alice')
    expect(inbox).toEqual([
      {
        channel: 'email',
        to: 'alice@example.com',
        code: expect.stringMatching(/^\d{6}$/),
        at: expect.any(Number),
      },
    ])
    const done = await post(base, '/mfa/otp/verify', { otp: inbox[0]!.code }, session)
    expect(done.status).toBe(200)
    expect(await bodyOf(done)).toHaveProperty('accessToken')
  })

  it('sends SMS codes to the phone', async () => {
    otpFirst()
    const next = await begin(base, 'alice')
    const req = await post(
      base,
      '/mfa/otp/request',
      { method: 'sms', option: '+15550100' },
      next.session,
    )
    expect(req.status).toBe(200)
    expect(sim.inbox('alice')[0]).toMatchObject({ channel: 'sms', to: '+15550100' })
  })

  it('counts wrong codes and kills the session after the third', async () => {
    otpFirst()
    const next = await begin(base, 'alice')
    const { session } = await bodyOf<{ session: string }>(
      await post(
        base,
        '/mfa/otp/request',
        { method: 'email', option: 'alice@example.com' },
        next.session,
      ),
    )
    const code = sim.inbox('alice')[0]!.code
    const wrong = code === '000000' ? '111111' : '000000'
    for (let i = 0; i < 3; i++) {
      const res = await post(base, '/mfa/otp/verify', { otp: wrong }, session)
      expect(res.status).toBe(401)
      const body = await bodyOf(res)
      expect(body).toMatchObject({ msgCode: 'invalid_otp' })
      expect(body).not.toHaveProperty('session')
    }
    const late = await post(base, '/mfa/otp/verify', { otp: code }, session)
    expect(late.status).toBe(401)
    expect(await bodyOf(late)).toMatchObject({ msgCode: 'unauthorized' })
  })

  it('accepts the right code after two wrong ones', async () => {
    otpFirst()
    const next = await begin(base, 'alice')
    const { session } = await bodyOf<{ session: string }>(
      await post(
        base,
        '/mfa/otp/request',
        { method: 'email', option: 'alice@example.com' },
        next.session,
      ),
    )
    const code = sim.inbox('alice')[0]!.code
    const wrong = code === '000000' ? '111111' : '000000'
    await post(base, '/mfa/otp/verify', { otp: wrong }, session)
    await post(base, '/mfa/otp/verify', { otp: wrong }, session)
    expect((await post(base, '/mfa/otp/verify', { otp: code }, session)).status).toBe(200)
  })

  it('rejects bad OTP requests', async () => {
    otpFirst()
    const next = await begin(base, 'alice')
    for (const body of [
      {},
      { method: 'fax' },
      { method: 'email', option: 'eve@example.com' },
      { method: 'email', option: 3 },
    ]) {
      const res = await post(base, '/mfa/otp/request', body, next.session)
      expect(res.status).toBe(400)
    }
    expect(sim.inbox('alice')).toEqual([])
    const noOtp = await post(base, '/mfa/otp/verify', { otp: '123456' }, next.session)
    expect(noOtp.status).toBe(400)
  })

  it('answers a second factor with 401 MfaNext and a new session', async () => {
    sim.setPolicy((ctx) =>
      ctx.event === 'begin'
        ? { next: ['otp:email'] }
        : ctx.done.length < 2
          ? { next: ['external'] }
          : { complete: true },
    )
    const next = await begin(base, 'alice')
    const { session } = await bodyOf<{ session: string }>(
      await post(
        base,
        '/mfa/otp/request',
        { method: 'email', option: 'alice@example.com' },
        next.session,
      ),
    )
    const res = await post(base, '/mfa/otp/verify', { otp: sim.inbox('alice')[0]!.code }, session)
    expect(res.status).toBe(401)
    const more = await bodyOf<MfaNextBody>(res)
    expect(more).toMatchObject({ msgCode: 'additional_auth_required', flow: 'signIn' })
    expect(names(more)).toEqual(['external'])
    expect(more.session).not.toBe(session)
    const done = await post(
      base,
      '/mfa/third-party/verify',
      { token: grant('alice') },
      more.session,
    )
    expect(done.status).toBe(200)
  })
})

describe('passkeys', () => {
  it('registers a passkey after external when requirePasskeyRegistration is on', async () => {
    const strict = createLoginIDSimulator({
      baseUrl: 'https://strict.api.loginid.test',
      requirePasskeyRegistration: true,
    })
    server.use(...strict.handlers)
    const b = strict.baseUrl
    const next = await begin(b, 'dave')
    const step = await post(
      b,
      '/mfa/third-party/verify',
      { token: strict.grantExternalAuth('dave') },
      next.session,
    )
    expect(step.status).toBe(401)
    const reg = await bodyOf<MfaNextBody>(step)
    expect(names(reg)).toEqual(['passkey:reg'])
    expect(reg.next?.[0]?.options?.[0]?.name).toBe('creationOptions')
    const options = optionsOf(reg, 'passkey:reg')
    expect(options).toMatchObject({
      rp: { id: 'localhost', name: 'strict' },
      user: { name: 'dave', displayName: 'dave', id: expect.stringMatching(/^[A-Za-z0-9_-]+$/) },
      challenge: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      pubKeyCredParams: [
        { type: 'public-key', alg: -7 },
        { type: 'public-key', alg: -257 },
      ],
      timeout: 60000,
      excludeCredentials: [],
      authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
      attestation: 'none',
    })
    expect(strict.users.has('dave')).toBe(false)
    const phone = createSoftwareAuthenticator()
    const created = await phone.create(options as unknown as PasskeyCreationOptions)
    const done = await post(b, '/mfa/passkey/reg', { creationResult: created }, reg.session)
    expect(done.status).toBe(200)
    const mfa = await bodyOf<MfaBody>(done)
    const cose = phone.credentials[0]!.cosePublicKey
    expect(mfa.passkeyInfo).toMatchObject({
      passkeyId: expect.any(String),
      publicKey: cose,
      creationResult: created,
    })
    const dave = strict.users.get('dave')!
    expect(dave.passkeys).toEqual([
      expect.objectContaining({
        credentialId: created.credentialId,
        publicKey: cose,
        signCount: 0,
        transports: ['internal'],
      }),
    ])
    expect(dave.userHandle).toBe((options.user as { id: string }).id)

    // the next flow on this device offers passkey:auth, and the passkey signs in
    const again = await begin(b, 'dave', { deviceInfo: { deviceId: mfa.deviceId } })
    expect(names(again)).toEqual(['passkey:auth', 'external'])
    const request = optionsOf(again, 'passkey:auth') as unknown as PasskeyRequestOptions
    expect(request.allowCredentials).toEqual([
      { type: 'public-key', id: created.credentialId, transports: ['internal'] },
    ])
    const auth = await post(
      b,
      '/mfa/passkey/auth',
      { assertionResult: await phone.get(request) },
      again.session,
    )
    expect(auth.status).toBe(200)
    const signedIn = await bodyOf<MfaBody>(auth)
    expect(signedIn.deviceId).toBe(mfa.deviceId)
    expect(signedIn.passkeyInfo?.passkeyId).toBe(mfa.passkeyInfo?.passkeyId)
    expect(dave.passkeys[0]!.signCount).toBe(1)
  })

  async function bobAuth(): Promise<{ next: MfaNextBody; options: PasskeyRequestOptions }> {
    const next = await begin(base, 'bob', { deviceInfo: { deviceId: 'dev-bob' } })
    return { next, options: optionsOf(next, 'passkey:auth') as unknown as PasskeyRequestOptions }
  }

  it('answers a malformed passkey body with 400 and keeps the session', async () => {
    const { next, options } = await bobAuth()
    for (const body of [{}, { assertionResult: 'x' }, { assertionResult: [] }]) {
      const res = await post(base, '/mfa/passkey/auth', body, next.session)
      expect(res.status).toBe(400)
    }
    const res = await post(
      base,
      '/mfa/passkey/auth',
      { assertionResult: await bobPhone.get(options) },
      next.session,
    )
    expect(res.status).toBe(200)
  })

  it('lists passkeys with a raw access token', async () => {
    const { next, options } = await bobAuth()
    const mfa = await bodyOf<MfaBody>(
      await post(
        base,
        '/mfa/passkey/auth',
        { assertionResult: await bobPhone.get(options) },
        next.session,
      ),
    )
    const res = await fetch(`${base}/fido2/v2/passkeys`, {
      headers: { authorization: mfa.accessToken! },
    })
    expect(res.status).toBe(200)
    const list = await bodyOf<Record<string, unknown>[]>(res)
    expect(list).toEqual([
      expect.objectContaining({
        credentialId: bobKey.id,
        id: expect.any(String),
        createdAt: expect.any(String),
        lastUsedAt: expect.any(String),
      }),
    ])
    for (const auth of [`Bearer ${mfa.accessToken}`, mfa.idToken!, 'nope']) {
      const bad = await fetch(`${base}/fido2/v2/passkeys`, { headers: { authorization: auth } })
      expect(bad.status).toBe(401)
    }
  })
})

describe('known devices', () => {
  it('remembers the issued deviceId of a user with a passkey', async () => {
    const strict = createLoginIDSimulator({
      baseUrl: 'https://dev.api.loginid.test',
      requirePasskeyRegistration: true,
    })
    server.use(...strict.handlers)
    strict.addUser({ username: 'erin', passkey: true })
    const first = await begin(strict.baseUrl, 'erin')
    expect(names(first)).toEqual(['external'])
    const done = await post(
      strict.baseUrl,
      '/mfa/third-party/verify',
      { token: strict.grantExternalAuth('erin') },
      first.session,
    )
    const { deviceId } = await bodyOf<MfaBody>(done)
    const second = await begin(strict.baseUrl, 'erin', { deviceInfo: { deviceId } })
    expect(names(second)).toEqual(['passkey:auth', 'external'])
    const otherUser = await begin(strict.baseUrl, 'bob', { deviceInfo: { deviceId } })
    expect(names(otherUser)).toEqual(['external'])
  })

  it('knows a device by the key of a trust item seen in a completed flow', async () => {
    sim.addUser({ username: 'erin', passkey: true })
    const header = (x: string): string =>
      btoa(JSON.stringify({ alg: 'ES256', jwk: { kty: 'EC', crv: 'P-256', x, y: 'yy' } }))
        .replace(/=+$/, '')
        .replace(/\+/g, '-')
        .replace(/\//g, '_')
    const trust = (x: string, id: string): string =>
      `${header(x)}.${btoa(id).replace(/=+$/, '')}.c2ln`
    await signUpWithExternal(base, 'erin', grant, { trustItems: { auth: trust('key1', 'a') } })
    const same = await begin(base, 'erin', { trustItems: { auth: trust('key1', 'b') } })
    expect(names(same)).toEqual(['passkey:auth', 'external'])
    const other = await begin(base, 'erin', { trustItems: { auth: trust('key2', 'a') } })
    expect(names(other)).toEqual(['external'])
  })
})

describe('policy, inspection, reset', () => {
  it('passes the documented context to the policy', async () => {
    const seen: unknown[] = []
    sim.setPolicy((ctx) => {
      seen.push({ ...ctx, user: ctx.user?.username })
      return defaultSimulatorPolicy(ctx)
    })
    await signUpWithExternal(base, 'carol', grant)
    expect(seen).toEqual([
      {
        event: 'begin',
        username: 'carol',
        user: undefined,
        flow: 'signUp',
        deviceKnown: false,
        done: [],
        requirePasskeyRegistration: false,
      },
      {
        event: 'success',
        username: 'carol',
        user: undefined,
        flow: 'signUp',
        deviceKnown: false,
        factor: 'external',
        done: ['external'],
        requirePasskeyRegistration: false,
      },
    ])
  })

  it('setPolicy(undefined) restores the default policy', async () => {
    sim.setPolicy(() => ({ next: ['otp:email'] }))
    expect(names(await begin(base, 'alice'))).toEqual(['otp:email'])
    sim.setPolicy(undefined)
    expect(names(await begin(base, 'alice'))).toEqual(['external'])
  })

  it('answers 500 when the policy throws or returns garbage', async () => {
    sim.setPolicy(() => {
      throw new Error('boom')
    })
    const res = await post(base, '/mfa/begin', { user: { username: 'alice' } })
    expect(res.status).toBe(500)
    expect(await bodyOf(res)).toMatchObject({ msgCode: 'internal_error' })
    sim.setPolicy(() => ({ next: ['sms'] }) as never)
    expect((await post(base, '/mfa/begin', { user: { username: 'alice' } })).status).toBe(500)
  })

  it('logs requests with the Authorization header redacted', async () => {
    const next = await begin(base, 'alice')
    await post(base, '/mfa/third-party/verify', { token: 'tok' }, next.session)
    expect(sim.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /fido2/v2/mfa/begin',
      'POST /fido2/v2/mfa/third-party/verify',
    ])
    const last = sim.requests[1]!
    expect(last.headers.authorization).toBe('[REDACTED]')
    expect(JSON.stringify(sim.requests)).not.toContain(next.session!)
    expect(last.body).toEqual({ token: 'tok' })
  })

  it('redacts Basic API keys, cookies and proxy credentials; keeps bodies as sent', async () => {
    const key = btoa(`${SIMULATOR_API_KEY}:`)
    const res = await sim.handle(
      new Request(`${base}/fido2/v2/mgmt/grant/external-auth`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Basic ${key}`,
          cookie: 'sid=cookie-secret',
          'proxy-authorization': 'Basic proxy-secret',
          'x-trace': 'visible',
        },
        body: JSON.stringify({ username: 'alice' }),
      }),
    )
    expect(res.status).toBe(200)
    const [logged] = sim.requests
    expect(logged?.headers).toMatchObject({
      authorization: '[REDACTED]',
      cookie: '[REDACTED]',
      'proxy-authorization': '[REDACTED]',
      'x-trace': 'visible',
    })
    const text = JSON.stringify(sim.requests)
    for (const secret of [key, SIMULATOR_API_KEY, 'cookie-secret', 'proxy-secret']) {
      expect(text).not.toContain(secret)
    }
    // Bodies are kept as sent (documented): tests assert what a client posted.
    expect(logged?.body).toEqual({ username: 'alice' })
  })

  it('reset forgets sessions, grants, inbox, requests and added users', async () => {
    sim.addUser({ username: 'zed' })
    sim.setPolicy((ctx) => (ctx.event === 'begin' ? { next: ['otp:email'] } : { complete: true }))
    const next = await begin(base, 'alice')
    await post(
      base,
      '/mfa/otp/request',
      { method: 'email', option: 'alice@example.com' },
      next.session,
    )
    const token = grant('alice')
    const live = await begin(base, 'alice')
    sim.reset()
    expect(sim.users.has('zed')).toBe(false)
    expect(sim.users.has('alice')).toBe(true)
    expect(sim.inbox('alice')).toEqual([])
    expect(sim.requests).toEqual([])
    const res = await post(base, '/mfa/third-party/verify', { token }, live.session)
    expect(res.status).toBe(401)
    expect(names(await begin(base, 'alice'))).toEqual(['external'])
  })

  it('validates options', () => {
    expect(() => createLoginIDSimulator({ baseUrl: 'ftp://x' })).toThrow(/baseUrl/)
    expect(() => createLoginIDSimulator({ sessionTtlMs: 0 })).toThrow(/sessionTtlMs/)
    expect(() => createLoginIDSimulator({ users: [{ username: '' }] })).toThrow(/username/)
    expect(() => sim.grantExternalAuth('')).toThrow(/username/)
  })
})

describe('other endpoints', () => {
  it('answers client events with 200 {}', async () => {
    const next = await begin(base, 'alice')
    const res = await post(
      base,
      '/client-events/submit',
      { event: 'ERROR_GENERAL_ERROR - x', isError: true },
      next.session,
    )
    expect(res.status).toBe(200)
    expect(await bodyOf(res)).toEqual({})
    expect((await post(base, '/client-events/submit', {}, next.session)).status).toBe(400)
    expect((await post(base, '/client-events/submit', { event: 'x' })).status).toBe(401)
    // the event does not use the session up
    expect(
      (await post(base, '/mfa/third-party/verify', { token: grant('alice') }, next.session)).status,
    ).toBe(200)
  })

  it('answers unknown paths with 404 not_found', async () => {
    const res = await fetch(`${base}/fido2/v2/nope`)
    expect(res.status).toBe(404)
    expect(await bodyOf(res)).toMatchObject({ msgCode: 'not_found', msg: expect.any(String) })
  })

  it('answers a wrong method with 405', async () => {
    const res = await fetch(`${base}/fido2/v2/mfa/begin`)
    expect(res.status).toBe(405)
    expect(res.headers.get('allow')).toBe('POST')
  })
})
