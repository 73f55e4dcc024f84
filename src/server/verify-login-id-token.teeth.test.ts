// Tests with teeth for verifyLoginIDToken (issue 16): each one fails when a deliberate breakage
// that the other tests let through is applied. What a backend relies on: which tokens pass, the
// error code of those that do not, and that oversized input costs no key fetch.
import { SignJWT, exportJWK, generateKeyPair } from 'jose'
import type { CryptoKey, JWK, JWTPayload } from 'jose'
import { http, HttpResponse } from 'msw'
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { failure } from '../../test/support/mfa-errors.js'
import { serveMsw } from '../../test/support/serve-msw.js'
import { verifyLoginIDToken } from './verify-login-id-token.js'
import { JWKS_COOLDOWN_MS, MAX_JWKS_BYTES } from './internal/jwks.js'

const JWKS_PATH = '/fido2/v2/.well-known/jwks.json'
const server = serveMsw()

afterEach(() => {
  vi.useRealTimers()
})

let key: CryptoKey
let jwk: JWK
beforeAll(async () => {
  const pair = await generateKeyPair('ES256', { extractable: true })
  jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }
  key = pair.privateKey
})

let hostCounter = 0
/** A fresh base URL (the JWKS cache is per base URL) whose JWKS is served by MSW. */
function app(jwks: () => Response | Promise<Response> = () => HttpResponse.json({ keys: [jwk] })) {
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

// The JWKS (src/server/internal/jwks.ts): the error code for each kind of bad key-set answer,
// the body cap at its edge, and the cache clock (a key set is reused for 10 minutes, refetched
// after that, kept while LoginID is down; a failure is answered for the whole 30 s cooldown).
const verify = async (a: App) =>
  verifyLoginIDToken(await sign(claimsFor(a)), { baseUrl: a.baseUrl })

describe('verifyLoginIDToken: JWKS answers', () => {
  it('maps the status: 5xx unavailable, 404 not found, anything else a bad response', async () => {
    const cases: [number, string][] = [
      [500, 'ERR_LOGINID_UNAVAILABLE'],
      [502, 'ERR_LOGINID_UNAVAILABLE'],
      [404, 'ERR_NOT_FOUND'],
      [403, 'ERR_BAD_RESPONSE'],
      [401, 'ERR_BAD_RESPONSE'],
      [204, 'ERR_BAD_RESPONSE'],
      [302, 'ERR_BAD_RESPONSE'],
    ]
    for (const [status, code] of cases) {
      const a = app(
        () =>
          new Response(status === 204 ? null : JSON.stringify({ keys: [jwk] }), {
            status,
            headers: status === 302 ? { location: 'https://evil.example/jwks' } : {},
          }),
      )
      const error = await failure(verify(a))
      expect([status, error.code]).toEqual([status, code])
      expect(error).toMatchObject({ method: 'GET', path: JWKS_PATH })
    }
  })

  it('refuses what is not a key set: no keys array, null, a list, not JSON, a key that is not an object', async () => {
    for (const body of ['{"keys":{}}', 'null', '[]', '{"nokeys":[]}', 'not json', '{"keys":[1]}']) {
      const a = app(() => new Response(body, { headers: { 'content-type': 'application/json' } }))
      const error = await failure(verify(a))
      expect([body, error.code]).toEqual([body, 'ERR_BAD_RESPONSE'])
    }
  })

  it('reads a key set of exactly 64 KiB; one byte more is refused', async () => {
    const padded = (size: number) => {
      const base = JSON.stringify({ keys: [jwk], pad: '' })
      return JSON.stringify({ keys: [jwk], pad: 'x'.repeat(size - base.length) })
    }
    expect(padded(MAX_JWKS_BYTES)).toHaveLength(MAX_JWKS_BYTES)
    const exact = app(() => new Response(padded(MAX_JWKS_BYTES)))
    expect((await verify(exact)).sub).toBe('user-1')
    const over = app(() => new Response(padded(MAX_JWKS_BYTES + 1)))
    expect((await failure(verify(over))).code).toBe('ERR_BAD_RESPONSE')
  })

  it('a body that fails mid-read is a network error of the JWKS request', async () => {
    const a = app(
      () =>
        new Response(
          new ReadableStream<Uint8Array>({
            start(controller) {
              controller.enqueue(new TextEncoder().encode('{"keys":['))
              controller.error(new TypeError('terminated'))
            },
          }),
        ),
    )
    const error = await failure(verify(a))
    expect(error.code).toBe('ERR_NETWORK')
    expect(error).toMatchObject({ method: 'GET', path: JWKS_PATH })
  })
})

describe('verifyLoginIDToken: the JWKS cache clock', () => {
  it('answers a failure for the whole cooldown without a request, then asks again', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    let status = 503
    const a = app(() =>
      status === 200 ? HttpResponse.json({ keys: [jwk] }) : new Response(null, { status }),
    )
    expect((await failure(verify(a))).code).toBe('ERR_LOGINID_UNAVAILABLE')
    status = 200
    vi.advanceTimersByTime(JWKS_COOLDOWN_MS - 1)
    expect((await failure(verify(a))).code).toBe('ERR_LOGINID_UNAVAILABLE')
    expect(a.fetches()).toBe(1)
    vi.advanceTimersByTime(1)
    expect((await verify(a)).sub).toBe('user-1')
    expect(a.fetches()).toBe(2)
  })

  it('reuses a key set for 10 minutes, refetches after, and keeps it while LoginID is down', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    let up = true
    const a = app(() =>
      up ? HttpResponse.json({ keys: [jwk] }) : new Response(null, { status: 503 }),
    )
    await verify(a)
    vi.advanceTimersByTime(10 * 60_000 - 1)
    await verify(a)
    expect(a.fetches()).toBe(1)
    vi.advanceTimersByTime(1)
    up = false
    // Stale and LoginID down: the old key set still verifies.
    expect((await verify(a)).sub).toBe('user-1')
    expect(a.fetches()).toBe(2)
    up = true
    vi.advanceTimersByTime(JWKS_COOLDOWN_MS)
    await verify(a)
    expect(a.fetches()).toBe(3)
  })

  it('concurrent verifications share one key-set request', async () => {
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    const a = app(async () => {
      await gate
      return HttpResponse.json({ keys: [jwk] })
    })
    const all = Promise.all([verify(a), verify(a), verify(a)])
    await vi.waitFor(() => expect(a.fetches()).toBe(1))
    release()
    expect((await all).map((claims) => claims.sub)).toEqual(['user-1', 'user-1', 'user-1'])
    expect(a.fetches()).toBe(1)
  })
})

describe('verifyLoginIDToken: the key-set request and an unknown key', () => {
  it('asks for JSON', async () => {
    let accept: string | null = null
    const a = app()
    server.use(
      http.get(`${a.baseUrl}${JWKS_PATH}`, ({ request }) => {
        accept = request.headers.get('accept')
        return HttpResponse.json({ keys: [jwk] })
      }),
    )
    await verify(a)
    expect(accept).toBe('application/json')
  })

  it('refetches for an unknown key id after the cooldown (key rotation), never before', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const rotated = await generateKeyPair('ES256', { extractable: true })
    const jwk2 = { ...(await exportJWK(rotated.publicKey)), kid: 'k2', alg: 'ES256', use: 'sig' }
    let keys = [jwk]
    const a = app(() => HttpResponse.json({ keys }))
    await verify(a)
    keys = [jwk, jwk2]
    const token2 = await new SignJWT(claimsFor(a))
      .setProtectedHeader({ alg: 'ES256', kid: 'k2' })
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(rotated.privateKey)
    // Within the cooldown: no request, the unknown key fails the token.
    expect((await failure(verifyLoginIDToken(token2, { baseUrl: a.baseUrl }))).code).toBe(
      'ERR_TOKEN_INVALID',
    )
    expect(a.fetches()).toBe(1)
    vi.advanceTimersByTime(JWKS_COOLDOWN_MS)
    await expect(verifyLoginIDToken(token2, { baseUrl: a.baseUrl })).resolves.toMatchObject({
      sub: 'user-1',
    })
    expect(a.fetches()).toBe(2)
  })

  it('any other key lookup failure (two keys with one id) is not a reason to refetch', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const a = app(() => HttpResponse.json({ keys: [jwk, { ...jwk }] }))
    expect((await failure(verify(a))).code).toBe('ERR_TOKEN_INVALID')
    vi.advanceTimersByTime(JWKS_COOLDOWN_MS)
    expect((await failure(verify(a))).code).toBe('ERR_TOKEN_INVALID')
    expect(a.fetches()).toBe(1)
  })

  it('gives up on a key set that does not arrive within 5 s, and leaves no timer behind', async () => {
    const timers = new Set<unknown>()
    const realSet = globalThis.setTimeout
    const realClear = globalThis.clearTimeout
    const set = vi.spyOn(globalThis, 'setTimeout').mockImplementation(((
      fn: () => void,
      ms?: number,
    ) => {
      // The 5 s JWKS deadline fires at once; other timers keep their delay.
      const id = realSet(fn, ms === 5_000 ? 0 : ms)
      if (ms === 5_000) timers.add(id)
      return id
    }) as typeof setTimeout)
    const clear = vi.spyOn(globalThis, 'clearTimeout').mockImplementation(((id) => {
      timers.delete(id)
      realClear(id)
    }) as typeof clearTimeout)
    try {
      let aborted = false
      const a = app(
        () =>
          new Promise<Response>(() => {
            /* never answers */
          }),
      )
      server.use(
        http.get(`${a.baseUrl}${JWKS_PATH}`, ({ request }) => {
          request.signal.addEventListener('abort', () => (aborted = true))
          return new Promise<Response>(() => undefined)
        }),
      )
      const error = await failure(verify(a))
      expect(error).toMatchObject({ code: 'ERR_TIMEOUT', method: 'GET', path: JWKS_PATH })
      await vi.waitFor(() => expect(aborted).toBe(true))
      expect(timers.size).toBe(0)
      // A key set that answers in time clears its deadline too.
      const b = app()
      await verify(b)
      expect(timers.size).toBe(0)
    } finally {
      set.mockRestore()
      clear.mockRestore()
    }
  })
})
