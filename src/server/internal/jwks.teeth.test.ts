// Tests with teeth for the JWKS cache of verifyLoginIDToken (issue 16): the error code for each
// kind of bad key-set answer, the body cap at its edge, and the cache's clock (a key set is
// reused for 10 minutes, refetched after that, kept while LoginID is down, and a failure is
// answered for the whole 30 s cooldown without a new request).
import { SignJWT, exportJWK, generateKeyPair } from 'jose'
import type { CryptoKey, JWK } from 'jose'
import { http, HttpResponse } from 'msw'
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { failure } from '../../../test/support/mfa-errors.js'
import { serveMsw } from '../../../test/support/serve-msw.js'
import { verifyLoginIDToken } from '../verify-login-id-token.js'
import { JWKS_COOLDOWN_MS, JWKS_PATH, MAX_JWKS_BYTES } from './jwks.js'

const server = serveMsw()

let key: CryptoKey
let jwk: JWK
beforeAll(async () => {
  const pair = await generateKeyPair('ES256', { extractable: true })
  jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }
  key = pair.privateKey
})

afterEach(() => {
  vi.useRealTimers()
})

let hostCounter = 0
/** A fresh base URL (the cache is per base URL) whose key set `answer` serves. */
function app(answer: () => Response | Promise<Response>) {
  hostCounter++
  const appId = `jwks${hostCounter}`
  const baseUrl = `https://${appId}.api.loginid.test`
  let fetches = 0
  server.use(
    http.get(`${baseUrl}${JWKS_PATH}`, () => {
      fetches++
      return answer()
    }),
  )
  return { baseUrl, appId, fetches: () => fetches }
}

async function tokenFor(a: { baseUrl: string; appId: string }): Promise<string> {
  return new SignJWT({ iss: a.baseUrl, aud: a.appId, sub: 'user-1', username: 'alice' })
    .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
    .setIssuedAt()
    .setExpirationTime('2h')
    .sign(key)
}

const verify = async (a: { baseUrl: string; appId: string }) =>
  verifyLoginIDToken(await tokenFor(a), { baseUrl: a.baseUrl })

describe('JWKS answers', () => {
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

describe('the JWKS cache clock', () => {
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
