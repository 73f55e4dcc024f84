// Tests with teeth for verifyLoginIDToken (issue 16): each one fails when a deliberate breakage
// that the other tests let through is applied. What a backend relies on: which tokens pass, the
// error code of those that do not, and that oversized input costs no key fetch.
import { SignJWT, exportJWK, generateKeyPair } from 'jose'
import type { CryptoKey, JWK, JWTPayload } from 'jose'
import { http, HttpResponse } from 'msw'
import { beforeAll, describe, expect, it, vi } from 'vitest'
import { failure } from '../../test/support/mfa-errors.js'
import { serveMsw } from '../../test/support/serve-msw.js'
import { verifyLoginIDToken } from './verify-login-id-token.js'

const JWKS_PATH = '/fido2/v2/.well-known/jwks.json'
const server = serveMsw()

let key: CryptoKey
let jwk: JWK
beforeAll(async () => {
  const pair = await generateKeyPair('ES256', { extractable: true })
  jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }
  key = pair.privateKey
})

let hostCounter = 0
/** A fresh base URL (the JWKS cache is per base URL) whose JWKS is served by MSW. */
function app(jwks: () => Response = () => HttpResponse.json({ keys: [jwk] })) {
  hostCounter++
  const appId = `teeth${hostCounter}`
  const baseUrl = `https://${appId}.api.loginid.test`
  let fetches = 0
  server.use(
    http.get(`${baseUrl}${JWKS_PATH}`, () => {
      fetches++
      return jwks()
    }),
  )
  return { baseUrl, appId, fetches: () => fetches }
}

type App = ReturnType<typeof app>

function claimsFor(a: App, extra: Record<string, unknown> = {}): JWTPayload {
  const all: Record<string, unknown> = {
    iss: a.baseUrl,
    aud: a.appId,
    sub: 'user-1',
    username: 'alice',
    ...extra,
  }
  return Object.fromEntries(Object.entries(all).filter(([, value]) => value !== undefined))
}

async function sign(claims: JWTPayload, header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', kid: 'k1', ...header })
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(key)
}

/** A validly signed token of exactly `length` characters (padded with a `pad` claim). */
async function tokenOfLength(a: App, length: number): Promise<string> {
  // base64url cannot end on every length: vary the header too until it fits.
  for (let extra = 0; extra < 4; extra++) {
    let pad = Math.floor(((length - 300) * 3) / 4)
    for (let tries = 0; tries < 20; tries++) {
      const token = await sign(claimsFor(a, { pad: 'p'.repeat(pad) }), { typ: 'J'.repeat(extra) })
      if (token.length === length) return token
      if (token.length > length) pad -= Math.max(1, Math.floor(((token.length - length) * 3) / 4))
      else pad += Math.max(1, Math.floor(((length - token.length) * 3) / 4))
    }
  }
  throw new Error(`no token of length ${length}`)
}

describe('verifyLoginIDToken: the 16 KiB cap', () => {
  it('verifies a token of exactly 16 KiB', async () => {
    const a = app()
    const token = await tokenOfLength(a, 16_384)
    await expect(verifyLoginIDToken(token, { baseUrl: a.baseUrl })).resolves.toMatchObject({
      username: 'alice',
    })
  })

  it('refuses a longer one as ERR_TOKEN_INVALID without fetching the key set', async () => {
    const a = app()
    const token = await tokenOfLength(a, 16_385)
    const error = await failure(verifyLoginIDToken(token, { baseUrl: a.baseUrl }))
    expect(error.code).toBe('ERR_TOKEN_INVALID')
    expect(a.fetches()).toBe(0)
  })
})

describe('verifyLoginIDToken: the username claim', () => {
  it('refuses a token whose username claim is empty or not a string, with no username given', async () => {
    const a = app()
    for (const username of ['', 42, null, ['alice']]) {
      const token = await sign(claimsFor(a, { username }))
      const error = await failure(verifyLoginIDToken(token, { baseUrl: a.baseUrl }))
      expect(error.code).toBe('ERR_TOKEN_CLAIMS')
    }
  })

  it('compares the given username trimmed, and the claim exactly', async () => {
    const a = app()
    const token = await sign(claimsFor(a))
    await expect(
      verifyLoginIDToken(token, { baseUrl: a.baseUrl, username: '  alice ' }),
    ).resolves.toMatchObject({ username: 'alice' })
    for (const username of ['Alice', 'alic', 'alice2']) {
      const error = await failure(verifyLoginIDToken(token, { baseUrl: a.baseUrl, username }))
      expect(error.code).toBe('ERR_TOKEN_CLAIMS')
    }
    const spaced = await sign(claimsFor(a, { username: ' alice' }))
    const error = await failure(
      verifyLoginIDToken(spaced, { baseUrl: a.baseUrl, username: 'alice' }),
    )
    expect(error.code).toBe('ERR_TOKEN_CLAIMS')
  })
})

describe('verifyLoginIDToken: the token type and the issue time', () => {
  it('accepts an access token (tokenType jwtAccess, or none); refuses every other type', async () => {
    const a = app()
    for (const tokenType of ['jwtAccess', undefined]) {
      const token = await sign(claimsFor(a, { tokenType }))
      await expect(verifyLoginIDToken(token, { baseUrl: a.baseUrl })).resolves.toMatchObject({
        username: 'alice',
      })
    }
    // LoginID signs these with the same key, issuer and audience.
    for (const tokenType of ['jwtId', 'jwtRefresh', 'jwtPayloadSignature', '', 'JWTACCESS']) {
      const token = await sign(claimsFor(a, { tokenType }))
      const error = await failure(verifyLoginIDToken(token, { baseUrl: a.baseUrl }))
      expect([tokenType, error.code]).toEqual([tokenType, 'ERR_TOKEN_CLAIMS'])
    }
  })

  it('refuses an iat later than now plus the tolerance, to the second', async () => {
    const a = app()
    vi.useFakeTimers({ toFake: ['Date'], now: 1_900_000_000_000 })
    try {
      const now = 1_900_000_000
      const at = async (iat: number) =>
        new SignJWT(claimsFor(a, { iat, exp: now + 3_600 }))
          .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
          .sign(key)
      await expect(
        verifyLoginIDToken(await at(now), { baseUrl: a.baseUrl }),
      ).resolves.toMatchObject({ iat: now })
      const future = await failure(verifyLoginIDToken(await at(now + 1), { baseUrl: a.baseUrl }))
      expect(future.code).toBe('ERR_TOKEN_CLAIMS')
      await expect(
        verifyLoginIDToken(await at(now + 60), { baseUrl: a.baseUrl, clockToleranceSec: 60 }),
      ).resolves.toMatchObject({ iat: now + 60 })
      const beyond = await failure(
        verifyLoginIDToken(await at(now + 61), { baseUrl: a.baseUrl, clockToleranceSec: 60 }),
      )
      expect(beyond.code).toBe('ERR_TOKEN_CLAIMS')
    } finally {
      vi.useRealTimers()
    }
  })
})

describe('verifyLoginIDToken: options and input', () => {
  const baseUrl = 'https://nofetch.api.loginid.test'

  it('refuses bad options and tokens with ERR_INVALID_ARGUMENT before any request', async () => {
    // No MSW handler for this base URL: a JWKS fetch would fail the test.
    const cases: [unknown, unknown][] = [
      ['x.y.z', null],
      ['x.y.z', 'https://a.api.loginid.test'],
      ['x.y.z', { baseUrl, appId: '' }],
      ['x.y.z', { baseUrl, appId: 42 }],
      ['x.y.z', { baseUrl, username: '   ' }],
      ['x.y.z', { baseUrl, username: 42 }],
      ['x.y.z', { baseUrl, clockToleranceSec: 301 }],
      ['x.y.z', { baseUrl, clockToleranceSec: Number.POSITIVE_INFINITY }],
      ['   ', { baseUrl }],
      [42, { baseUrl }],
      [undefined, { baseUrl }],
    ]
    for (const [token, options] of cases) {
      const error = await failure(
        verifyLoginIDToken(token as string, options as Parameters<typeof verifyLoginIDToken>[1]),
      )
      expect(error.code).toBe('ERR_INVALID_ARGUMENT')
    }
  })

  it('accepts the bounds of clockToleranceSec (0 and 300) and applies it to nbf', async () => {
    const a = app()
    const future = await sign(claimsFor(a, { nbf: Math.floor(Date.now() / 1000) + 200 }))
    await expect(
      verifyLoginIDToken(future, { baseUrl: a.baseUrl, clockToleranceSec: 300 }),
    ).resolves.toMatchObject({ username: 'alice' })
    const error = await failure(
      verifyLoginIDToken(future, { baseUrl: a.baseUrl, clockToleranceSec: 0 }),
    )
    expect(error.code).toBe('ERR_TOKEN_CLAIMS')
  })

  it("derives the audience from the base URL's first DNS label", async () => {
    const a = app()
    const error = await failure(
      verifyLoginIDToken(await sign(claimsFor(a, { aud: 'api' })), { baseUrl: a.baseUrl }),
    )
    expect(error.code).toBe('ERR_TOKEN_CLAIMS')
    await expect(
      verifyLoginIDToken(await sign(claimsFor(a, { aud: ['other', a.appId] })), {
        baseUrl: a.baseUrl,
      }),
    ).resolves.toMatchObject({ sub: 'user-1' })
  })

  it('requires iat', async () => {
    const a = app()
    const token = await new SignJWT(claimsFor(a))
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setExpirationTime('1h')
      .sign(key)
    const error = await failure(verifyLoginIDToken(token, { baseUrl: a.baseUrl }))
    expect(error.code).toBe('ERR_TOKEN_CLAIMS')
  })

  it('keeps no cause on a claim error (jose keeps the payload there)', async () => {
    const a = app()
    const token = await sign(claimsFor(a, { aud: 'other-app', secretish: 'payload-data' }))
    const error = await failure(verifyLoginIDToken(token, { baseUrl: a.baseUrl }))
    expect(error.code).toBe('ERR_TOKEN_CLAIMS')
    expect(error.cause).toBeUndefined()
    expect(JSON.stringify(error)).not.toContain('payload-data')
  })
})

describe('verifyLoginIDToken: fetching the key set', () => {
  it.each([
    [500, 'ERR_LOGINID_UNAVAILABLE'],
    [502, 'ERR_LOGINID_UNAVAILABLE'],
    [404, 'ERR_NOT_FOUND'],
    [401, 'ERR_BAD_RESPONSE'],
    [403, 'ERR_BAD_RESPONSE'],
    [204, 'ERR_BAD_RESPONSE'],
    [201, 'ERR_BAD_RESPONSE'],
  ])('a JWKS answer %i fails with %s, with the status and path', async (status, code) => {
    const a = app(() =>
      status === 204
        ? new HttpResponse(null, { status })
        : HttpResponse.json({ keys: [jwk] }, { status }),
    )
    const error = await failure(
      verifyLoginIDToken(await sign(claimsFor(a)), { baseUrl: a.baseUrl }),
    )
    expect(error.code).toBe(code)
    expect(error.status).toBe(status)
    expect(error.method).toBe('GET')
    expect(error.path).toBe(JWKS_PATH)
  })

  it('a network failure is ERR_NETWORK with the JWKS path', async () => {
    const a = app(() => HttpResponse.error())
    const error = await failure(
      verifyLoginIDToken(await sign(claimsFor(a)), { baseUrl: a.baseUrl }),
    )
    expect(error.code).toBe('ERR_NETWORK')
    expect(error.path).toBe(JWKS_PATH)
  })

  it('a key set that is not one is ERR_BAD_RESPONSE with the JWKS path', async () => {
    for (const body of [{ keys: 'k1' }, { keys: [{ kty: 'nope', kid: 'k1' }] }, []]) {
      const a = app(() => HttpResponse.json(body))
      const error = await failure(
        verifyLoginIDToken(await sign(claimsFor(a)), { baseUrl: a.baseUrl }),
      )
      expect(['ERR_BAD_RESPONSE', 'ERR_TOKEN_INVALID']).toContain(error.code)
      if (error.code === 'ERR_BAD_RESPONSE') expect(error.path).toBe(JWKS_PATH)
    }
  })

  it('looks the global fetch up at call time', async () => {
    const a = app()
    const spy = vi.spyOn(globalThis, 'fetch')
    try {
      await verifyLoginIDToken(await sign(claimsFor(a)), { baseUrl: a.baseUrl })
      expect(spy).toHaveBeenCalledTimes(1)
      expect(String(spy.mock.calls[0]?.[0])).toBe(`${a.baseUrl}${JWKS_PATH}`)
    } finally {
      spy.mockRestore()
    }
  })
})
