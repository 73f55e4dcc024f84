// The simulator's bounds and restart story: the OTP resend cap, the signing key option, the
// rpId claim, `device` on passkeys, and strict origins. Through `sim.handle`, no MSW.
import { createLocalJWKSet, decodeJwt, jwtVerify } from 'jose'
import type { JSONWebKeySet } from 'jose'
import { describe, expect, it } from 'vitest'
import type { MfaBody, MfaNextBody, PasskeyCreationOptions } from '../../src/shared/protocol.js'
import {
  createLoginIDSimulator,
  createSoftwareAuthenticator,
  defaultSimulatorPolicy,
} from '../../src/testing.js'
import type { LoginIDSimulator } from '../../src/testing.js'
import { generateSigningJwk } from '../../src/testing/internal/simulator-keys.js'
import { bodyOf, optionsOf } from './helpers.js'

function caller(sim: LoginIDSimulator) {
  return async <T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    authorization?: string,
  ): Promise<{ status: number; body: T }> => {
    const res = await sim.handle(
      new Request(`${sim.baseUrl}/fido2/v2${path}`, {
        method,
        headers: {
          ...(body !== undefined && { 'content-type': 'application/json' }),
          ...(authorization !== undefined && { authorization }),
        },
        ...(body !== undefined && { body: JSON.stringify(body) }),
      }),
    )
    return { status: res.status, body: await bodyOf<T>(res) }
  }
}

const otpFirst = (sim: LoginIDSimulator): void =>
  sim.setPolicy((ctx) =>
    ctx.event === 'begin' ? { next: ['otp:email'] } : defaultSimulatorPolicy(ctx),
  )

describe('OTP resend cap', () => {
  it('allows maxOtpResends resends per flow, then answers 400 and keeps the session', async () => {
    const sim = createLoginIDSimulator({
      users: [{ username: 'otto', email: 'otto@example.com' }],
      maxOtpResends: 2,
    })
    otpFirst(sim)
    const call = caller(sim)
    const begun = await call<MfaNextBody>('POST', '/mfa/begin', { user: { username: 'otto' } })
    let session = begun.body.session
    for (let i = 0; i < 3; i++) {
      const sent = await call<{ session: string }>(
        'POST',
        '/mfa/otp/request',
        { method: 'email' },
        session,
      )
      expect(sent.status).toBe(200)
      session = sent.body.session
      // a wrong guess per code: the per-code limit (3) is not what stops the resends
      expect((await call('POST', '/mfa/otp/verify', { otp: 'nope' }, session)).status).toBe(401)
    }
    const capped = await call('POST', '/mfa/otp/request', { method: 'email' }, session)
    expect(capped).toEqual({
      status: 400,
      body: {
        msg: 'too many one-time codes requested in this flow; start a new one',
        msgCode: 'bad_request',
      },
    })
    expect(sim.inbox('otto')).toHaveLength(3)
    // The last code still completes the flow.
    const done = await call<MfaBody>(
      'POST',
      '/mfa/otp/verify',
      { otp: sim.inbox('otto')[2]!.code },
      session,
    )
    expect(done.status).toBe(200)
    expect(done.body.accessToken).toMatch(/^ey/)
    // A new flow starts with a fresh allowance.
    const again = await call<MfaNextBody>('POST', '/mfa/begin', { user: { username: 'otto' } })
    expect(
      (await call('POST', '/mfa/otp/request', { method: 'email' }, again.body.session)).status,
    ).toBe(200)
  })

  it('caps at 5 resends by default, and 0 allows one code', async () => {
    for (const [options, allowed] of [
      [{}, 6],
      [{ maxOtpResends: 0 }, 1],
    ] as const) {
      const sim = createLoginIDSimulator({
        users: [{ username: 'otto', email: 'o@example.com' }],
        ...options,
      })
      otpFirst(sim)
      const call = caller(sim)
      let session = (await call<MfaNextBody>('POST', '/mfa/begin', { user: { username: 'otto' } }))
        .body.session
      const statuses: number[] = []
      for (let i = 0; i <= allowed; i++) {
        const sent = await call<{ session?: string }>(
          'POST',
          '/mfa/otp/request',
          { method: 'email' },
          session,
        )
        statuses.push(sent.status)
        session = sent.body.session ?? session
      }
      expect(statuses).toEqual([...Array<number>(allowed).fill(200), 400])
    }
  })

  it('rejects a bad maxOtpResends', () => {
    for (const maxOtpResends of [-1, 1.5, Number.NaN]) {
      expect(() => createLoginIDSimulator({ maxOtpResends })).toThrow(/maxOtpResends/)
    }
  })
})

describe('signingKey', () => {
  async function accessToken(sim: LoginIDSimulator): Promise<string> {
    const call = caller(sim)
    const begun = await call<MfaNextBody>('POST', '/mfa/begin', { user: { username: 'ada' } })
    const done = await call<MfaBody>(
      'POST',
      '/mfa/third-party/verify',
      { token: sim.grantExternalAuth('ada') },
      begun.body.session,
    )
    return done.body.accessToken!
  }
  const jwksOf = async (sim: LoginIDSimulator) =>
    (await caller(sim)<JSONWebKeySet>('GET', '/.well-known/jwks.json')).body

  it('signs with the given key: a token of one simulator verifies against the JWKS of the next', async () => {
    const signingKey = await generateSigningJwk()
    const before = createLoginIDSimulator({ signingKey })
    const token = await accessToken(before)
    const after = createLoginIDSimulator({ signingKey })
    const jwks = await jwksOf(after)
    expect(jwks).toEqual(await jwksOf(before))
    expect(jwks.keys[0]).toMatchObject({ kid: signingKey.kid, alg: 'ES256', use: 'sig' })
    expect(jwks.keys[0]).not.toHaveProperty('d')
    await expect(jwtVerify(token, createLocalJWKSet(jwks))).resolves.toBeDefined()
    // Without the key, the next simulator cannot vouch for the token.
    const fresh = await jwksOf(createLoginIDSimulator())
    await expect(jwtVerify(token, createLocalJWKSet(fresh))).rejects.toMatchObject({
      code: 'ERR_JWKS_NO_MATCHING_KEY',
    })
  })

  it('derives a stable kid (the RFC 7638 thumbprint) for a key without one', async () => {
    const { kid, ...withoutKid } = await generateSigningJwk()
    const [a, b] = await Promise.all([
      jwksOf(createLoginIDSimulator({ signingKey: withoutKid })),
      jwksOf(createLoginIDSimulator({ signingKey: withoutKid })),
    ])
    expect(a.keys[0]!.kid).toBe(kid)
    expect(b.keys[0]!.kid).toBe(kid)
  })

  it('rejects anything but a private P-256 JWK before any request', async () => {
    const key = await generateSigningJwk()
    const { d: _d, ...publicOnly } = key
    for (const signingKey of [
      publicOnly,
      { ...key, crv: 'P-384' },
      { ...key, kty: 'RSA' },
      { ...key, kid: '' },
      'key',
    ]) {
      expect(() => createLoginIDSimulator({ signingKey: signingKey as never })).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }) as Error,
      )
    }
  })
})

describe('tokens and passkeys as LoginIDMfa reads them', () => {
  it('puts the rpId into access tokens', async () => {
    const sim = createLoginIDSimulator({ rpId: 'app.example', origin: 'https://app.example' })
    const call = caller(sim)
    const begun = await call<MfaNextBody>('POST', '/mfa/begin', { user: { username: 'ada' } })
    const done = await call<MfaBody>(
      'POST',
      '/mfa/third-party/verify',
      { token: sim.grantExternalAuth('ada') },
      begun.body.session,
    )
    expect(decodeJwt(done.body.accessToken!)).toMatchObject({
      rpId: 'app.example',
      tokenType: 'jwtAccess',
    })
  })

  it('lists passkeys with the device they were registered from', async () => {
    const phone = createSoftwareAuthenticator()
    const seeded = await createSoftwareAuthenticator().createCredential({ userName: 'bob' })
    const sim = createLoginIDSimulator({ users: [{ username: 'bob', passkeys: [seeded] }] })
    sim.setPolicy((ctx) => (ctx.event === 'begin' ? { next: ['passkey:reg'] } : { complete: true }))
    const call = caller(sim)
    const begun = await call<MfaNextBody>('POST', '/mfa/begin', {
      user: { username: 'bob' },
      deviceInfo: { clientName: 'Chrome', osName: 'macOS' },
    })
    const options = optionsOf(begun.body, 'passkey:reg') as unknown as PasskeyCreationOptions
    const creationResult = await phone.create(options)
    const done = await call<MfaBody>(
      'POST',
      '/mfa/passkey/reg',
      { creationResult },
      begun.body.session,
    )
    expect(done.status).toBe(200)
    const listed = await call<Record<string, unknown>[]>(
      'GET',
      '/passkeys',
      undefined,
      done.body.accessToken,
    )
    expect(listed.body.map((p) => p.device)).toEqual(['Unknown device', 'Chrome on macOS'])
  })
})

describe('origins', () => {
  it('accepts origins only, so a typo fails at creation instead of at every passkey', () => {
    for (const origin of ['not a url', 'http://localhost:5173/', 'https://app.example/login', '']) {
      expect(() => createLoginIDSimulator({ origin })).toThrow(/origin must be an origin/)
    }
    for (const origin of [
      'http://localhost:5173',
      ['https://app.example', 'android:apk-key-hash:abc'],
    ]) {
      expect(() => createLoginIDSimulator({ origin })).not.toThrow()
    }
  })
})
