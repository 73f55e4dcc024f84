import { SignJWT, exportJWK, generateKeyPair } from 'jose'
import type { JWK, JWTPayload, CryptoKey } from 'jose'
import { http, HttpResponse } from 'msw'
import { setupServer } from 'msw/node'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { verifyLoginIDToken } from './verify-login-id-token.js'

const server = setupServer()
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }))
afterEach(() => {
  server.resetHandlers()
  vi.useRealTimers()
})
afterAll(() => server.close())

let key: CryptoKey
let jwk: JWK
let otherKey: CryptoKey
beforeAll(async () => {
  const pair = await generateKeyPair('ES256', { extractable: true })
  jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }
  key = pair.privateKey
  ;({ privateKey: otherKey } = await generateKeyPair('ES256'))
})

let hostCounter = 0
/** A fresh base URL (the JWKS cache is per base URL) whose JWKS is served by MSW. */
function app(jwks: () => Response = () => HttpResponse.json({ keys: [jwk] })) {
  hostCounter++
  const appId = `app${hostCounter}`
  const baseUrl = `https://${appId}.api.loginid.test`
  let fetches = 0
  server.use(
    http.get(`${baseUrl}/fido2/v2/.well-known/jwks.json`, () => {
      fetches++
      return jwks()
    }),
  )
  return { baseUrl, appId, fetches: () => fetches }
}

async function sign(
  claims: JWTPayload,
  {
    signer = key,
    kid = 'k1',
    exp = '1h',
  }: { signer?: CryptoKey; kid?: string; exp?: string | number } = {},
) {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', kid })
    .setIssuedAt()
    .setExpirationTime(exp)
    .sign(signer)
}

/** Standard claims plus `extra`; an `undefined` in `extra` removes that claim. */
function claimsFor(
  a: { baseUrl: string; appId: string },
  extra: Record<string, unknown> = {},
): JWTPayload {
  const all: Record<string, unknown> = {
    iss: a.baseUrl,
    aud: a.appId,
    sub: 'user-1',
    username: 'alice',
    ...extra,
  }
  return Object.fromEntries(Object.entries(all).filter(([, value]) => value !== undefined))
}

describe('verifyLoginIDToken', () => {
  it('returns the claims of a valid token and caches the JWKS per base URL', async () => {
    const a = app()
    const token = await sign(claimsFor(a, { scopes: ['x'] }))
    const claims = await verifyLoginIDToken(token, { baseUrl: a.baseUrl, username: 'alice' })
    expect(claims).toMatchObject({ sub: 'user-1', username: 'alice', aud: a.appId, scopes: ['x'] })
    await verifyLoginIDToken(token, { baseUrl: `${a.baseUrl}/` })
    expect(a.fetches()).toBe(1)
  })

  it('refetches the JWKS for an unknown kid at most once per 30 s cooldown (key rotation)', async () => {
    const rotated = await generateKeyPair('ES256', { extractable: true })
    let keys: JWK[] = [jwk]
    const a = app(() => HttpResponse.json({ keys }))
    await verifyLoginIDToken(await sign(claimsFor(a)), { baseUrl: a.baseUrl })
    expect(a.fetches()).toBe(1)
    vi.useFakeTimers({ toFake: ['Date'] })
    // A flood of unknown kids (attacker-chosen) does not turn into a flood of JWKS fetches.
    for (const kid of ['x1', 'x2', 'x3', 'x4']) {
      const token = await sign(claimsFor(a), { signer: otherKey, kid })
      await expect(verifyLoginIDToken(token, { baseUrl: a.baseUrl })).rejects.toMatchObject({
        code: 'ERR_TOKEN_INVALID',
      })
    }
    expect(a.fetches()).toBe(1)
    // LoginID rotates its key: after the cooldown an unknown kid refetches and verifies.
    keys = [jwk, { ...(await exportJWK(rotated.publicKey)), kid: 'k2', alg: 'ES256', use: 'sig' }]
    vi.setSystemTime(Date.now() + 31_000)
    const fresh = await sign(claimsFor(a), { signer: rotated.privateKey, kid: 'k2' })
    await expect(verifyLoginIDToken(fresh, { baseUrl: a.baseUrl })).resolves.toMatchObject({
      username: 'alice',
    })
    expect(a.fetches()).toBe(2)
  })

  it('rejects an expired token with ERR_TOKEN_EXPIRED (fake clock), honouring clockToleranceSec', async () => {
    const a = app()
    const token = await sign(claimsFor(a), { exp: '60s' })
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(Date.now() + 120_000)
    await expect(verifyLoginIDToken(token, { baseUrl: a.baseUrl })).rejects.toMatchObject({
      code: 'ERR_TOKEN_EXPIRED',
    })
    await expect(
      verifyLoginIDToken(token, { baseUrl: a.baseUrl, clockToleranceSec: 120 }),
    ).resolves.toMatchObject({ username: 'alice' })
  })

  it('rejects a tampered token with ERR_TOKEN_INVALID', async () => {
    const a = app()
    const token = await sign(claimsFor(a))
    const [header, payload, signature] = token.split('.') as [string, string, string]
    const forged = Buffer.from(
      JSON.stringify({
        ...JSON.parse(Buffer.from(payload, 'base64url').toString()),
        username: 'eve',
      }),
    ).toString('base64url')
    await expect(
      verifyLoginIDToken(`${header}.${forged}.${signature}`, { baseUrl: a.baseUrl }),
    ).rejects.toMatchObject({ code: 'ERR_TOKEN_INVALID' })
    const flipped = `${signature.slice(0, -2)}${signature.endsWith('AA') ? 'BB' : 'AA'}`
    await expect(
      verifyLoginIDToken(`${header}.${payload}.${flipped}`, { baseUrl: a.baseUrl }),
    ).rejects.toMatchObject({ code: 'ERR_TOKEN_INVALID' })
  })

  it('rejects malformed tokens, other algorithms and unknown keys with ERR_TOKEN_INVALID', async () => {
    const a = app()
    const hs = await new SignJWT(claimsFor(a))
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode('a-shared-secret-of-32-bytes-long!'))
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(
      JSON.stringify(claimsFor(a)),
    ).toString('base64url')}.`
    const foreign = await sign(claimsFor(a), { signer: otherKey, kid: 'k1' })
    const unknownKid = await sign(claimsFor(a), { signer: otherKey, kid: 'k9' })
    for (const token of ['not-a-jwt', 'a.b.c', hs, none, foreign, unknownKid]) {
      await expect(verifyLoginIDToken(token, { baseUrl: a.baseUrl })).rejects.toMatchObject({
        code: 'ERR_TOKEN_INVALID',
      })
    }
  })

  it('accepts ES256 only, even when the JWKS holds keys for other algorithms', async () => {
    const rsa = await generateKeyPair('RS256', { extractable: true })
    const p384 = await generateKeyPair('ES384', { extractable: true })
    const keys = [
      jwk,
      { ...(await exportJWK(rsa.publicKey)), kid: 'rsa', alg: 'RS256', use: 'sig' },
      { ...(await exportJWK(p384.publicKey)), kid: 'p384', alg: 'ES384', use: 'sig' },
    ]
    const a = app(() => HttpResponse.json({ keys }))
    const signWith = (alg: string, kid: string, signer: CryptoKey) =>
      new SignJWT(claimsFor(a))
        .setProtectedHeader({ alg, kid })
        .setIssuedAt()
        .setExpirationTime('1h')
        .sign(signer)
    await expect(
      verifyLoginIDToken(await signWith('ES256', 'k1', key), { baseUrl: a.baseUrl }),
    ).resolves.toMatchObject({ username: 'alice' })
    for (const token of [
      await signWith('RS256', 'rsa', rsa.privateKey),
      await signWith('ES384', 'p384', p384.privateKey),
    ]) {
      await expect(verifyLoginIDToken(token, { baseUrl: a.baseUrl })).rejects.toMatchObject({
        code: 'ERR_TOKEN_INVALID',
      })
    }
  })

  it('rejects wrong audience, issuer, user, future nbf and missing claims with ERR_TOKEN_CLAIMS', async () => {
    const a = app()
    const cases: [JWTPayload, { appId?: string; username?: string }][] = [
      [claimsFor(a, { aud: 'other-app' }), {}],
      [claimsFor(a), { appId: 'other-app' }],
      [claimsFor(a, { iss: 'https://evil.api.loginid.test' }), {}],
      [claimsFor(a), { username: 'bob' }],
      [claimsFor(a, { nbf: Math.floor(Date.now() / 1000) + 600 }), {}],
      [claimsFor(a, { username: undefined }), {}],
      [claimsFor(a, { sub: undefined }), {}],
      // LoginID's other tokens share iss, aud and the key: none passes for an access token.
      [claimsFor(a, { tokenType: 'idToken' }), {}],
      [claimsFor(a, { tokenType: 'refreshToken' }), {}],
      [claimsFor(a, { tokenType: 'payloadSignature' }), {}],
      [claimsFor(a, { tokenType: 'grant', scopes: ['passkey:read'] }), {}],
    ]
    for (const [claims, options] of cases) {
      const token = await sign(claims)
      await expect(
        verifyLoginIDToken(token, { baseUrl: a.baseUrl, ...options }),
      ).rejects.toMatchObject({ code: 'ERR_TOKEN_CLAIMS' })
    }
    await expect(
      verifyLoginIDToken(await sign(claimsFor(a, { tokenType: 'jwtAccess' })), {
        baseUrl: a.baseUrl,
      }),
    ).resolves.toMatchObject({ tokenType: 'jwtAccess' })
    // an explicit appId is what aud must match
    const custom = await sign(claimsFor(a, { aud: 'custom-id' }))
    await expect(
      verifyLoginIDToken(custom, { baseUrl: a.baseUrl, appId: 'custom-id' }),
    ).resolves.toMatchObject({ aud: 'custom-id' })
  })

  it('requires exp', async () => {
    const a = app()
    const token = await new SignJWT(claimsFor(a))
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setIssuedAt()
      .sign(key)
    await expect(verifyLoginIDToken(token, { baseUrl: a.baseUrl })).rejects.toMatchObject({
      code: 'ERR_TOKEN_CLAIMS',
    })
  })

  it('maps JWKS failures: 503, network, 404, garbage', async () => {
    const cases: [() => Response, string][] = [
      [() => new HttpResponse('down', { status: 503 }), 'ERR_LOGINID_UNAVAILABLE'],
      [() => HttpResponse.error(), 'ERR_NETWORK'],
      [() => new HttpResponse('nope', { status: 404 }), 'ERR_NOT_FOUND'],
      [() => HttpResponse.json({ nope: true }), 'ERR_BAD_RESPONSE'],
      [() => HttpResponse.text('<html>'), 'ERR_BAD_RESPONSE'],
    ]
    for (const [jwks, code] of cases) {
      const a = app(jwks)
      const token = await sign(claimsFor(a))
      await expect(verifyLoginIDToken(token, { baseUrl: a.baseUrl })).rejects.toMatchObject({
        code,
      })
    }
  })

  it('validates its input before any request', async () => {
    const token = 'x.y.z'
    const bad: [string, Parameters<typeof verifyLoginIDToken>[1]][] = [
      ['', { baseUrl: 'https://a.api.loginid.test' }],
      [token, { baseUrl: 'http://a.api.loginid.test' }],
      [token, { baseUrl: 'https://a.api.loginid.test', clockToleranceSec: -1 }],
      // milliseconds by mistake, or a tolerance that keeps expired tokens alive
      [token, { baseUrl: 'https://a.api.loginid.test', clockToleranceSec: 30_000 }],
      [token, { baseUrl: 'https://a.api.loginid.test', clockToleranceSec: Number.NaN }],
      [token, { baseUrl: 'https://a.api.loginid.test', clockToleranceSec: '5' as never }],
      [token, { baseUrl: 'https://a.api.loginid.test', username: '' }],
    ]
    for (const [t, options] of bad) {
      await expect(verifyLoginIDToken(t, options)).rejects.toMatchObject({
        code: 'ERR_INVALID_ARGUMENT',
      })
    }
  })
})
