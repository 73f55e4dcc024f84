import { http, HttpResponse, delay } from 'msw'
import { setupServer } from 'msw/node'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { MfaError } from '../shared/errors.js'
import { VERSION } from '../shared/version.js'
import { exposed } from '../../test/support/mfa-errors.js'
import { createManagementClient } from './create-management-client.js'

const BASE = 'https://app1.api.loginid.test'
const API_KEY = 'key_ünïcode_s3cr3t'
const B64 = Buffer.from(`${API_KEY}:`, 'utf8').toString('base64')
const EXTERNAL = `${BASE}/fido2/v2/mgmt/grant/external-auth`

const server = setupServer()
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }))
afterEach(() => server.resetHandlers())
afterAll(() => server.close())

function client(extra: Partial<Parameters<typeof createManagementClient>[0]> = {}) {
  return createManagementClient({ baseUrl: BASE, apiKey: API_KEY, retryDelayMs: 1, ...extra })
}

async function failure(promise: Promise<unknown>): Promise<MfaError> {
  const error = await promise.then(
    () => undefined,
    (err: unknown) => err,
  )
  expect(error).toBeInstanceOf(MfaError)
  return error as MfaError
}

describe('createManagementClient', () => {
  it('sends Basic base64(key + ":") (UTF-8), the User-Agent and the JSON body', async () => {
    let seen: { auth: string | null; ua: string | null; body: unknown } | undefined
    server.use(
      http.post(EXTERNAL, async ({ request }) => {
        seen = {
          auth: request.headers.get('authorization'),
          ua: request.headers.get('user-agent'),
          body: await request.json(),
        }
        return HttpResponse.json({ token: 'grant-1' })
      }),
    )
    await expect(client().grantExternalAuth('  alice@example.com ')).resolves.toEqual({
      token: 'grant-1',
    })
    expect(seen).toEqual({
      auth: `Basic ${B64}`,
      ua: `loginid-mfa-flow/${VERSION}`,
      body: { username: 'alice@example.com' },
    })
  })

  it('grant sends { grants, username } and verifyToken maps 204 to true', async () => {
    let grantBody: unknown
    let verifyBody: unknown
    server.use(
      http.post(`${BASE}/fido2/v2/mgmt/grant`, async ({ request }) => {
        grantBody = await request.json()
        return HttpResponse.json({ token: 'scoped' })
      }),
      http.post(`${BASE}/fido2/v2/mgmt/token/verify`, async ({ request }) => {
        verifyBody = await request.json()
        return new HttpResponse(null, { status: 204 })
      }),
    )
    await expect(client().grant('bob', ['passkey:read'])).resolves.toEqual({ token: 'scoped' })
    expect(grantBody).toEqual({ grants: ['passkey:read'], username: 'bob' })
    await expect(client().verifyToken('a.b.c')).resolves.toBe(true)
    expect(verifyBody).toEqual({ jwtAccess: 'a.b.c' })
  })

  it.each([
    [401, 'unauthorized', 'ERR_API_KEY_INVALID'],
    [403, 'forbidden', 'ERR_API_KEY_SCOPE'],
    [400, 'bad_request', 'ERR_BAD_REQUEST'],
    [500, 'serious_error', 'ERR_LOGINID_UNAVAILABLE'],
    [404, 'not_found', 'ERR_NOT_FOUND'],
  ] as const)(
    'maps %i to %s with status, msgCode, method and path',
    async (status, msgCode, code) => {
      server.use(http.post(EXTERNAL, () => HttpResponse.json({ msg: 'nope', msgCode }, { status })))
      const error = await failure(client().grantExternalAuth('alice'))
      expect(error.code).toBe(code)
      expect(error.status).toBe(status)
      expect(error.msgCode).toBe(msgCode)
      expect(error.method).toBe('POST')
      expect(error.path).toBe('/fido2/v2/mgmt/grant/external-auth')
    },
  )

  it('names the external:verify scope on a 403 from grant/external-auth', async () => {
    server.use(
      http.post(EXTERNAL, () =>
        HttpResponse.json({ msg: 'forbidden', msgCode: 'forbidden' }, { status: 403 }),
      ),
    )
    const error = await failure(client().grantExternalAuth('alice'))
    expect(error.code).toBe('ERR_API_KEY_SCOPE')
    expect(error.message).toContain('external:verify')
  })

  it('maps token/verify 401s: unauthorized is the key, others the token', async () => {
    const answers = [
      { msgCode: 'unauthorized', code: 'ERR_API_KEY_INVALID' },
      { msgCode: 'invalid_token', code: 'ERR_TOKEN_INVALID' },
      { msgCode: 'token_expired', code: 'ERR_TOKEN_EXPIRED' },
    ]
    for (const { msgCode, code } of answers) {
      server.use(
        http.post(`${BASE}/fido2/v2/mgmt/token/verify`, () =>
          HttpResponse.json({ msg: 'x', msgCode }, { status: 401 }),
        ),
      )
      const error = await failure(client().verifyToken('a.b.c'))
      expect(error.code).toBe(code)
    }
  })

  it('retries 502, 503 and 504, then gives up with ERR_LOGINID_UNAVAILABLE', async () => {
    for (const status of [502, 503, 504]) {
      let calls = 0
      server.use(
        http.post(EXTERNAL, () => {
          calls++
          return HttpResponse.json({ msg: 'down', msgCode: 'down' }, { status })
        }),
      )
      const error = await failure(client({ retries: 2 }).grantExternalAuth('alice'))
      expect(error.code).toBe('ERR_LOGINID_UNAVAILABLE')
      expect(error.status).toBe(status)
      expect(calls).toBe(3)
    }
  })

  it('backs off before each retry (retryDelayMs, doubling)', async () => {
    let calls = 0
    server.use(
      http.post(EXTERNAL, () => {
        calls++
        return new HttpResponse(null, { status: 503 })
      }),
    )
    const delays: number[] = []
    const realSetTimeout = globalThis.setTimeout
    // Record every timer the client sets and run it at once (the per-attempt timeouts are
    // recorded as well: they are the large ones).
    const spy = vi.spyOn(globalThis, 'setTimeout').mockImplementation(((
      callback: () => void,
      ms?: number,
    ) => {
      delays.push(ms ?? 0)
      return ms === 60_000 ? realSetTimeout(() => undefined, 0) : realSetTimeout(callback, 0)
    }) as typeof setTimeout)
    try {
      await expect(
        client({ retries: 2, retryDelayMs: 1_000, timeoutMs: 60_000 }).grantExternalAuth('alice'),
      ).rejects.toMatchObject({ code: 'ERR_LOGINID_UNAVAILABLE' })
    } finally {
      spy.mockRestore()
    }
    expect(calls).toBe(3)
    const backoffs = delays.filter((ms) => ms > 0 && ms !== 60_000)
    expect(backoffs).toHaveLength(2)
    // up to 50 % jitter subtracted: [500, 1000] then [1000, 2000]
    expect(backoffs[0]).toBeGreaterThanOrEqual(500)
    expect(backoffs[0]).toBeLessThanOrEqual(1_000)
    expect(backoffs[1]).toBeGreaterThanOrEqual(1_000)
    expect(backoffs[1]).toBeLessThanOrEqual(2_000)
  })

  it('succeeds when a retry does', async () => {
    let calls = 0
    server.use(
      http.post(EXTERNAL, () => {
        calls++
        return calls === 1
          ? new HttpResponse('bad gateway', { status: 503 })
          : HttpResponse.json({ token: 'late' })
      }),
    )
    await expect(client().grantExternalAuth('alice')).resolves.toEqual({ token: 'late' })
    expect(calls).toBe(2)
  })

  it('never retries a 500, 400, 401 or 403', async () => {
    for (const status of [500, 400, 401, 403, 429]) {
      let calls = 0
      server.use(
        http.post(EXTERNAL, () => {
          calls++
          return HttpResponse.json({ msg: 'x', msgCode: 'x' }, { status })
        }),
      )
      await expect(client({ retries: 3 }).grantExternalAuth('alice')).rejects.toBeInstanceOf(
        MfaError,
      )
      expect(calls).toBe(1)
    }
  })

  it('does not retry a network error that may have reached LoginID, and reports ERR_NETWORK', async () => {
    let calls = 0
    server.use(
      http.post(EXTERNAL, () => {
        calls++
        return HttpResponse.error()
      }),
    )
    const error = await failure(client({ retries: 1 }).grantExternalAuth('alice'))
    expect(error.code).toBe('ERR_NETWORK')
    expect(calls).toBe(1)
  })

  it('retries a connection that was never opened (refused, DNS)', async () => {
    for (const code of ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN']) {
      let calls = 0
      const refused = createManagementClient({
        baseUrl: BASE,
        apiKey: API_KEY,
        retries: 2,
        retryDelayMs: 1,
        fetch: (async () => {
          calls++
          throw new TypeError('fetch failed', { cause: Object.assign(new Error(code), { code }) })
        }) as typeof fetch,
      })
      await expect(refused.grantExternalAuth('alice')).rejects.toMatchObject({
        code: 'ERR_NETWORK',
      })
      expect(calls).toBe(3)
    }
  })

  it('times out each attempt with ERR_TIMEOUT and does not retry it', async () => {
    let calls = 0
    server.use(
      http.post(EXTERNAL, async () => {
        calls++
        await delay('infinite')
        return HttpResponse.json({ token: 'never' })
      }),
    )
    const error = await failure(client({ timeoutMs: 30, retries: 2 }).grantExternalAuth('alice'))
    expect(error.code).toBe('ERR_TIMEOUT')
    expect(error.path).toBe('/fido2/v2/mgmt/grant/external-auth')
    expect(calls).toBe(1)
  })

  it('stops on the caller signal, also between retries', async () => {
    server.use(http.post(EXTERNAL, () => new HttpResponse(null, { status: 503 })))
    const controller = new AbortController()
    const pending = client({ retries: 5, retryDelayMs: 60_000 }).grantExternalAuth('alice', {
      signal: controller.signal,
    })
    setTimeout(() => controller.abort(), 20)
    await expect(pending).rejects.toMatchObject({ code: 'ERR_ABORTED' })
  })

  it('rejects a response without a token as ERR_BAD_RESPONSE', async () => {
    server.use(http.post(EXTERNAL, () => HttpResponse.text('<html>ok</html>')))
    await expect(client().grantExternalAuth('alice')).rejects.toMatchObject({
      code: 'ERR_BAD_RESPONSE',
    })
  })

  it('validates options and input before any request', async () => {
    // onUnhandledRequest: 'error' would fail any request made here.
    const bad = [
      { baseUrl: 'http://app.api.loginid.io', apiKey: API_KEY },
      { baseUrl: 'not a url', apiKey: API_KEY },
      { baseUrl: BASE, apiKey: '' },
      { baseUrl: BASE, apiKey: API_KEY, timeoutMs: 0 },
      { baseUrl: BASE, apiKey: API_KEY, retries: -1 },
      { baseUrl: BASE, apiKey: API_KEY, retries: 1.5 },
    ]
    for (const options of bad) {
      expect(() => createManagementClient(options)).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }),
      )
    }
    expect(() =>
      createManagementClient({ baseUrl: 'http://127.0.0.1:8080', apiKey: API_KEY }),
    ).not.toThrow()
    const c = client()
    for (const username of ['', '   ', 'a'.repeat(257), 'a\nb', 42 as unknown as string]) {
      await expect(c.grantExternalAuth(username)).rejects.toMatchObject({
        code: 'ERR_INVALID_ARGUMENT',
      })
    }
    server.use(http.post(EXTERNAL, () => HttpResponse.json({ token: 'long-name' })))
    await expect(c.grantExternalAuth('a'.repeat(256))).resolves.toEqual({ token: 'long-name' })
    await expect(c.grant('alice', [])).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' })
    await expect(c.verifyToken('')).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' })
  })

  it('never exposes the API key: errors, causes, JSON, String, stack, client object', async () => {
    const secrets = [API_KEY, B64, encodeURIComponent(API_KEY)]
    const errors: unknown[] = []
    const scenarios = [
      // LoginID echoing the key and the header back in its message.
      () =>
        HttpResponse.json(
          { msg: `bad key ${API_KEY} / Basic ${B64}`, msgCode: 'unauthorized' },
          { status: 401 },
        ),
      () => HttpResponse.json({ msg: `scope ${API_KEY}`, msgCode: `x${API_KEY}` }, { status: 403 }),
      () => HttpResponse.json({ msg: 'x' }, { status: 400 }),
      () => new HttpResponse(`down ${B64}`, { status: 503 }),
      () => HttpResponse.error(),
    ]
    for (const scenario of scenarios) {
      server.use(http.post(EXTERNAL, scenario))
      errors.push(await failure(client({ retries: 1 }).grantExternalAuth('alice')))
    }
    // A custom fetch whose failure echoes the request headers.
    const leaky = createManagementClient({
      baseUrl: BASE,
      apiKey: API_KEY,
      retries: 0,
      fetch: (async (_input: RequestInfo | URL, init?: RequestInit) => {
        const auth = new Headers(init?.headers).get('authorization')
        throw new TypeError(`socket hang up (${auth})`, { cause: new Error(`${auth}`) })
      }) as typeof fetch,
    })
    errors.push(await failure(leaky.grantExternalAuth('alice')))
    // A fetch that attaches the request (its headers, as data or as a Headers object) to the
    // error it throws, directly or one level down, as some HTTP libraries do.
    const attaching = [
      (init?: RequestInit) =>
        Object.assign(new TypeError('fetch failed'), {
          request: { headers: { authorization: new Headers(init?.headers).get('authorization') } },
        }),
      (init?: RequestInit) =>
        Object.assign(new TypeError('fetch failed'), { headers: new Headers(init?.headers) }),
      (init?: RequestInit) =>
        new TypeError('fetch failed', {
          cause: new AggregateError([
            Object.assign(new Error('ECONNRESET'), { options: { headers: init?.headers } }),
          ]),
        }),
    ]
    for (const make of attaching) {
      const attached = createManagementClient({
        baseUrl: BASE,
        apiKey: API_KEY,
        retries: 0,
        fetch: (async (_input: RequestInfo | URL, init?: RequestInit) => {
          throw make(init)
        }) as typeof fetch,
      })
      const error = await failure(attached.grantExternalAuth('alice'))
      expect(error.code).toBe('ERR_NETWORK')
      errors.push(error)
    }
    for (const error of errors) {
      const text = exposed(error)
      for (const secret of secrets) expect(text).not.toContain(secret)
    }
    // A key pasted into the wrong option (or a base URL carrying it) is not echoed back.
    for (const baseUrl of [
      API_KEY,
      `https://${encodeURIComponent(API_KEY)}:@app1.api.loginid.test`,
      `http://app1.api.loginid.test/?key=${encodeURIComponent(API_KEY)}`,
      `https://app1.api.loginid.test/#${API_KEY}`,
    ]) {
      let thrown: unknown
      try {
        createManagementClient({ baseUrl, apiKey: API_KEY })
      } catch (error) {
        thrown = error
      }
      expect(thrown).toMatchObject({ code: 'ERR_INVALID_ARGUMENT' })
      errors.push(thrown)
    }
    for (const error of errors) {
      const text = exposed(error)
      for (const secret of secrets) expect(text).not.toContain(secret)
    }
    const c = client()
    const view = `${JSON.stringify(c)} ${String(c)} ${Object.values(c).join(' ')}`
    for (const secret of secrets) expect(view).not.toContain(secret)
  })
})
