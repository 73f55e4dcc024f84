import fc from 'fast-check'
import { base64url, createRemoteJWKSet, jwtVerify } from 'jose'
import { setupServer } from 'msw/node'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { MfaBody, MfaNextBody, PasskeyRequestOptions } from '../../src/shared/protocol.js'
import {
  SIMULATOR_API_KEY,
  createLoginIDSimulator,
  createSoftwareAuthenticator,
} from '../../src/testing.js'
import { basic, begin, bodyOf, names, optionsOf, post } from './helpers.js'

const bobPhone = createSoftwareAuthenticator()
const bobKey = await bobPhone.createCredential({ userName: 'bob' })
const sim = createLoginIDSimulator({
  users: [{ username: 'bob', passkeys: [bobKey], devices: ['dev-bob'] }],
  maxBodyBytes: 1024,
})
const base = sim.baseUrl
const picky = createLoginIDSimulator({
  baseUrl: 'https://picky.api.loginid.test',
  allowedOrigins: ['https://shop.example'],
})
const server = setupServer(...sim.handlers, ...picky.handlers)

beforeAll(() => server.listen({ onUnhandledRequest: 'error' }))
afterEach(() => {
  server.resetHandlers()
  sim.reset()
  picky.reset()
})
afterAll(() => server.close())

describe('fault injection', () => {
  it('answers a status with a default LoginID body, for `times` requests, then recovers', async () => {
    sim.faults.add({ path: '/mfa/begin', times: 2, fault: { type: 'status', status: 503 } })
    for (let i = 0; i < 2; i++) {
      const res = await post(base, '/mfa/begin', { user: { username: 'bob' } })
      expect(res.status).toBe(503)
      expect(await bodyOf(res)).toEqual({ msg: 'injected fault', msgCode: 'internal_error' })
    }
    expect((await post(base, '/mfa/begin', { user: { username: 'bob' } })).status).toBe(200)
  })

  it('answers a custom body and matches the method and the full path', async () => {
    sim.faults.add({
      path: '/fido2/v2/mfa/begin',
      method: 'post',
      fault: { type: 'status', status: 429, body: { msg: 'slow down', msgCode: 'rate_limited' } },
    })
    const res = await post(base, '/mfa/begin', { user: { username: 'bob' } })
    expect(res.status).toBe(429)
    expect(await bodyOf(res)).toEqual({ msg: 'slow down', msgCode: 'rate_limited' })
  })

  it('does not match another method or path', async () => {
    sim.faults.add({ path: '/mfa/begin', method: 'GET', fault: { type: 'status', status: 500 } })
    sim.faults.add({ path: '/mfa/otp/request', fault: { type: 'status', status: 500 } })
    expect((await post(base, '/mfa/begin', { user: { username: 'bob' } })).status).toBe(200)
  })

  it('sends a malformed JSON body', async () => {
    sim.faults.add({ path: '/mfa/begin', fault: { type: 'malformed' } })
    const res = await post(base, '/mfa/begin', { user: { username: 'bob' } })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/json')
    await expect(res.json()).rejects.toThrow(SyntaxError)
  })

  it('sends an HTML error page', async () => {
    sim.faults.add({ path: '/mfa/begin', fault: { type: 'html' } })
    const res = await post(base, '/mfa/begin', { user: { username: 'bob' } })
    expect(res.status).toBe(502)
    expect(res.headers.get('content-type')).toContain('text/html')
    expect(await res.text()).toContain('<html>')
  })

  it('drops the connection (a network error through MSW)', async () => {
    sim.faults.add({ path: '/mfa/begin', fault: { type: 'drop' } })
    await expect(post(base, '/mfa/begin', { user: { username: 'bob' } })).rejects.toThrow(TypeError)
    expect((await post(base, '/mfa/begin', { user: { username: 'bob' } })).status).toBe(200)
  })

  it('delays and then processes the request normally', async () => {
    sim.faults.add({ path: '/mfa/begin', fault: { type: 'delay', ms: 5 } })
    const res = await post(base, '/mfa/begin', { user: { username: 'bob' } })
    expect(res.status).toBe(200)
    expect(names(await bodyOf<MfaNextBody>(res))).toEqual(['external'])
  })

  it('leaves the session untouched when a fault answers', async () => {
    const next = await begin(base, 'bob')
    sim.faults.add({ path: '/mfa/third-party/verify', fault: { type: 'status', status: 500 } })
    const token = sim.grantExternalAuth('bob')
    expect((await post(base, '/mfa/third-party/verify', { token }, next.session)).status).toBe(500)
    expect((await post(base, '/mfa/third-party/verify', { token }, next.session)).status).toBe(200)
  })

  it('clear() and reset() remove rules, and requests still get logged', async () => {
    sim.faults.add({ path: '/mfa/begin', times: 5, fault: { type: 'status', status: 500 } })
    sim.faults.clear()
    expect((await post(base, '/mfa/begin', { user: { username: 'bob' } })).status).toBe(200)
    sim.faults.add({ path: '/mfa/begin', fault: { type: 'status', status: 500 } })
    sim.reset()
    expect((await post(base, '/mfa/begin', { user: { username: 'bob' } })).status).toBe(200)
    expect(sim.requests).toHaveLength(1)
  })

  it('rejects an invalid rule at add(), so handle() never throws on it', async () => {
    const bad: unknown[] = [
      {},
      { path: '/mfa/begin', times: 0, fault: { type: 'drop' } },
      { path: '/mfa/begin', times: 1.5, fault: { type: 'drop' } },
      { path: '/mfa/begin', method: '', fault: { type: 'drop' } },
      { path: '/mfa/begin', fault: { type: 'teapot' } },
      { path: '/mfa/begin', fault: { type: 'status' } },
      { path: '/mfa/begin', fault: { type: 'status', status: 99 } },
      { path: '/mfa/begin', fault: { type: 'status', status: 600 } },
      { path: '/mfa/begin', fault: { type: 'status', status: 500, body: { n: 1n } } },
      { path: '/mfa/begin', fault: { type: 'html', status: 204 } },
      { path: '/mfa/begin', fault: { type: 'malformed', status: 700 } },
      { path: '/mfa/begin', fault: { type: 'delay', ms: -1 } },
      { path: '/mfa/begin', fault: { type: 'delay', ms: Number.NaN } },
    ]
    for (const rule of bad) {
      expect(
        () => sim.faults.add(rule as never),
        JSON.stringify(rule, (_, v: unknown) => (typeof v === 'bigint' ? 'bigint' : v)),
      ).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }))
    }
    // Nothing was added: the route answers normally.
    expect((await post(base, '/mfa/begin', { user: { username: 'bob' } })).status).toBe(200)
  })

  it.each([
    [400, 'bad_request'],
    [401, 'unauthorized'],
    [403, 'forbidden'],
    [404, 'not_found'],
    [429, 'bad_request'],
    [500, 'internal_error'],
  ])('gives an injected %i the LoginID msgCode %s', async (status, msgCode) => {
    sim.faults.add({ path: '/mfa/begin', fault: { type: 'status', status } })
    const res = await post(base, '/mfa/begin', { user: { username: 'bob' } })
    expect(res.status).toBe(status)
    expect(await bodyOf(res)).toEqual({ msg: 'injected fault', msgCode })
  })

  it('answers a null-body status (204) without a body', async () => {
    sim.faults.add({ path: '/mfa/begin', fault: { type: 'status', status: 204 } })
    const res = await post(base, '/mfa/begin', { user: { username: 'bob' } })
    expect(res.status).toBe(204)
    expect(await res.text()).toBe('')
  })

  it('copies the rule: changing it after add() changes nothing', async () => {
    const rule = { path: '/mfa/begin', times: 1, fault: { type: 'status' as const, status: 503 } }
    sim.faults.add(rule)
    rule.times = 5
    rule.fault.status = 418
    expect((await post(base, '/mfa/begin', { user: { username: 'bob' } })).status).toBe(503)
    expect((await post(base, '/mfa/begin', { user: { username: 'bob' } })).status).toBe(200)
  })

  it('sends CORS headers with injected answers on browser routes, never on /mgmt/*', async () => {
    const origin = { origin: 'https://app.example' }
    for (const fault of [
      { type: 'status', status: 503 },
      { type: 'malformed' },
      { type: 'html' },
    ] as const) {
      sim.faults.add({ path: '/mfa/begin', fault })
      const res = await post(base, '/mfa/begin', { user: { username: 'bob' } }, undefined, origin)
      expect(res.headers.get('access-control-allow-origin'), fault.type).toBe('*')
    }
    picky.faults.add({ path: '/mfa/begin', fault: { type: 'status', status: 500 } })
    const allowed = await post(picky.baseUrl, '/mfa/begin', {}, undefined, {
      origin: 'https://shop.example',
    })
    expect(allowed.status).toBe(500)
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://shop.example')
    sim.faults.add({ path: '/mgmt/grant/external-auth', fault: { type: 'status', status: 500 } })
    const mgmt = await post(
      base,
      '/mgmt/grant/external-auth',
      { username: 'bob' },
      basic(SIMULATOR_API_KEY),
      origin,
    )
    expect(mgmt.status).toBe(500)
    expect(mgmt.headers.get('access-control-allow-origin')).toBeNull()
  })
})

describe('CORS', () => {
  const preflight = (url: string, origin: string): Promise<Response> =>
    fetch(url, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type',
      },
    })

  it.each([
    '/mfa/begin',
    '/mfa/passkey/auth',
    '/passkeys',
    '/client-events/submit',
    '/.well-known/jwks.json',
  ])('answers preflights on %s for any origin by default', async (path) => {
    const res = await preflight(`${base}/fido2/v2${path}`, 'https://app.example')
    expect(res.status).toBe(204)
    expect(res.headers.get('access-control-allow-origin')).toBe('*')
    expect(res.headers.get('access-control-allow-methods')).toContain('POST')
    expect(res.headers.get('access-control-allow-headers')).toBe('authorization, content-type')
  })

  it('adds Access-Control-Allow-Origin to browser-route answers, errors included', async () => {
    const ok = await post(base, '/mfa/begin', { user: { username: 'bob' } }, undefined, {
      origin: 'https://app.example',
    })
    expect(ok.headers.get('access-control-allow-origin')).toBe('*')
    const bad = await post(base, '/mfa/begin', {}, undefined, { origin: 'https://app.example' })
    expect(bad.status).toBe(400)
    expect(bad.headers.get('access-control-allow-origin')).toBe('*')
  })

  it('allows only configured origins', async () => {
    const url = `${picky.baseUrl}/fido2/v2/mfa/begin`
    const allowed = await preflight(url, 'https://shop.example')
    expect(allowed.status).toBe(204)
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://shop.example')
    expect(allowed.headers.get('vary')).toContain('Origin')
    const denied = await preflight(url, 'https://evil.example')
    expect(denied.status).toBe(403)
    expect(denied.headers.get('access-control-allow-origin')).toBeNull()
    const post1 = await post(picky.baseUrl, '/mfa/begin', { user: { username: 'x' } }, undefined, {
      origin: 'https://evil.example',
    })
    expect(post1.headers.get('access-control-allow-origin')).toBeNull()
  })

  it('sends no CORS headers on /mgmt/*', async () => {
    const res = await preflight(`${base}/fido2/v2/mgmt/grant/external-auth`, 'https://app.example')
    expect(res.status).toBe(405)
    expect(res.headers.get('access-control-allow-origin')).toBeNull()
    const grant = await post(
      base,
      '/mgmt/grant/external-auth',
      { username: 'bob' },
      basic(SIMULATOR_API_KEY),
      {
        origin: 'https://app.example',
      },
    )
    expect(grant.status).toBe(200)
    expect(grant.headers.get('access-control-allow-origin')).toBeNull()
  })
})

describe('bad input', () => {
  it('caps request bodies with 413', async () => {
    const res = await post(base, '/mfa/begin', {
      user: { username: 'bob' },
      traceId: 'x'.repeat(2000),
    })
    expect(res.status).toBe(413)
    expect(await bodyOf(res)).toMatchObject({
      msgCode: 'bad_request',
      msg: expect.stringContaining('1024'),
    })
  })

  it('caps request bodies on management routes too', async () => {
    const res = await post(
      base,
      '/mgmt/grant/external-auth',
      { username: 'b'.repeat(5000) },
      basic(SIMULATOR_API_KEY),
    )
    expect(res.status).toBe(413)
  })

  it('answers a non-JSON content type with 415', async () => {
    const res = await fetch(`${base}/fido2/v2/mfa/begin`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({ user: { username: 'bob' } }),
    })
    expect(res.status).toBe(415)
    expect(await bodyOf(res)).toMatchObject({ msgCode: 'bad_request' })
  })

  it('answers invalid UTF-8 with 400', async () => {
    const res = await fetch(`${base}/fido2/v2/mfa/begin`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]),
    })
    expect(res.status).toBe(400)
  })

  it('never crashes: any JSON to any endpoint gets a LoginID-shaped error or a success', async () => {
    const paths = [
      '/mfa/begin',
      '/mfa/otp/request',
      '/mfa/otp/verify',
      '/mfa/third-party/verify',
      '/mfa/passkey/auth',
      '/mfa/passkey/reg',
      '/mfa/passkey/tx',
      '/mfa/payload',
      '/client-events/submit',
      '/mgmt/grant/external-auth',
      '/mgmt/grant',
      '/mgmt/token/verify',
    ]
    const next = await begin(base, 'bob', { deviceInfo: { deviceId: 'dev-bob' } })
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...paths),
        fc.jsonValue(),
        fc.constantFrom<string | undefined>(undefined, 'junk', basic(SIMULATOR_API_KEY)),
        async (path, body, auth) => {
          const res = await post(base, path, JSON.stringify(body), auth)
          expect(res.status).not.toBeGreaterThanOrEqual(500)
          if (res.status >= 400) {
            const parsed = await bodyOf<{ msg: unknown; msgCode: unknown }>(res)
            expect(typeof parsed.msg).toBe('string')
            expect(typeof parsed.msgCode).toBe('string')
          }
        },
      ),
      { numRuns: 150 },
    )
    // a live session survives garbage bodies (400s do not use it up)
    for (const body of [null, 1, 'x', [], { assertionResult: null }]) {
      expect(
        (await post(base, '/mfa/passkey/auth', JSON.stringify(body), next.session)).status,
      ).toBe(400)
    }
    expect(
      (
        await post(
          base,
          '/mfa/third-party/verify',
          { token: sim.grantExternalAuth('bob') },
          next.session,
        )
      ).status,
    ).toBe(200)
  })
})

describe('transaction confirmation (passkey:tx and /mfa/payload)', () => {
  it('offers passkey:tx for a payload, replaces the payload and signs it', async () => {
    const next = await begin(base, 'bob', {
      deviceInfo: { deviceId: 'dev-bob' },
      payload: 'pay 10 EUR',
    })
    expect(names(next)).toEqual(['passkey:tx', 'external'])
    const firstChallenge = optionsOf(next, 'passkey:tx').challenge as string

    const updated = await post(base, '/mfa/payload', { payload: 'pay 20 EUR' }, next.session)
    expect(updated.status).toBe(200)
    const body = await bodyOf<MfaNextBody>(updated)
    expect(body.msgCode).toBe('additional_auth_required')
    expect(names(body)).toEqual(['passkey:tx', 'external'])
    expect(body.session).not.toBe(next.session)
    const options = optionsOf(body, 'passkey:tx') as unknown as PasskeyRequestOptions
    expect(options.challenge).not.toBe(firstChallenge)
    expect((await post(base, '/mfa/payload', { payload: 'x' }, next.session)).status).toBe(401)

    const res = await post(
      base,
      '/mfa/passkey/tx',
      { assertionResult: await bobPhone.get(options) },
      body.session,
    )
    expect(res.status).toBe(200)
    const mfa = await bodyOf<MfaBody>(res)
    expect(new TextDecoder().decode(base64url.decode(mfa.payload!))).toBe('pay 20 EUR')
    const jwks = createRemoteJWKSet(new URL(`${base}/fido2/v2/.well-known/jwks.json`))
    const { payload } = await jwtVerify(mfa.payloadSignature!, jwks, {
      issuer: base,
      audience: 'sim-app',
    })
    const digest = new Uint8Array(
      await crypto.subtle.digest('SHA-256', new TextEncoder().encode('pay 20 EUR')),
    )
    expect(payload.txHash).toBe(base64url.encode(digest))
    expect(payload.username).toBe('bob')
  })

  it('rejects the challenge of the replaced payload', async () => {
    const next = await begin(base, 'bob', { deviceInfo: { deviceId: 'dev-bob' }, payload: 'a' })
    const old = optionsOf(next, 'passkey:tx') as unknown as PasskeyRequestOptions
    const body = await bodyOf<MfaNextBody>(
      await post(base, '/mfa/payload', { payload: 'b' }, next.session),
    )
    const res = await post(
      base,
      '/mfa/passkey/tx',
      { assertionResult: await bobPhone.get(old) },
      body.session,
    )
    expect(res.status).toBe(401)
    expect(names(await bodyOf<MfaNextBody>(res))).toEqual(['external'])
  })

  it('refuses /mfa/payload when passkey:tx is not offered, and bad payloads', async () => {
    const plain = await begin(base, 'bob')
    expect((await post(base, '/mfa/payload', { payload: 'x' }, plain.session)).status).toBe(400)
    const tx = await begin(base, 'bob', { deviceInfo: { deviceId: 'dev-bob' }, payload: 'a' })
    for (const body of [{}, { payload: '' }, { payload: 3 }]) {
      expect((await post(base, '/mfa/payload', body, tx.session)).status).toBe(400)
    }
  })
})
