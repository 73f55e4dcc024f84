// Tests with teeth for createManagementClient (issue 16): each one fails when a deliberate
// breakage that the other tests let through is applied (see CONTRIBUTING.md, mutation testing).
// What is checked is what a caller relies on: the error code, which fetch is used, that the API
// key never leaks, that a request stops when asked to.
import { http, HttpResponse, delay } from 'msw'
import { describe, expect, it, vi } from 'vitest'
import { exposed, failure } from '../../test/support/mfa-errors.js'
import { serveMsw } from '../../test/support/serve-msw.js'
import { createManagementClient } from './create-management-client.js'
import type { ManagementClientOptions } from './create-management-client.js'

const BASE = 'https://app1.api.loginid.test'
const API_KEY = 'key_teeth_s3cr3t'
const B64 = Buffer.from(`${API_KEY}:`, 'utf8').toString('base64')
const EXTERNAL = `${BASE}/fido2/v2/mgmt/grant/external-auth`
const GRANT = `${BASE}/fido2/v2/mgmt/grant`
const VERIFY = `${BASE}/fido2/v2/mgmt/token/verify`

// Any request that reaches MSW without a handler fails the test.
const server = serveMsw()

function client(extra: Partial<ManagementClientOptions> = {}) {
  return createManagementClient({ baseUrl: BASE, apiKey: API_KEY, retryDelayMs: 1, ...extra })
}

/** A fetch that answers JSON itself, recording what it was asked. */
function answeringFetch(status: number, body: unknown) {
  return vi.fn(async (_input: RequestInfo | URL, _init?: RequestInit) =>
    body === undefined
      ? new Response(null, { status })
      : new Response(JSON.stringify(body), {
          status,
          headers: { 'content-type': 'application/json' },
        }),
  )
}

/**
 * A request header as the fetch sees it. ofetch passes a `Headers`; read it directly (copying it
 * into `new Headers(...)` loses every entry in some runtimes, e.g. Vitest's threads pool).
 */
function headerOf(init: RequestInit | undefined, name: string): string | null {
  const headers = init?.headers
  if (headers && typeof (headers as Headers).get === 'function')
    return (headers as Headers).get(name)
  return new Headers(headers).get(name)
}

/** A fetch that fails like a network error whose cause is `cause(authorization header)`. */
function failingFetch(make: (authorization: string) => unknown) {
  return vi.fn(async (_input: RequestInfo | URL, init?: RequestInit) => {
    const authorization = headerOf(init, 'authorization')
    // The header must reach the fetch: otherwise there is nothing to scrub and no teeth.
    expect(authorization).toBe(`Basic ${B64}`)
    throw make(authorization ?? '')
  })
}

describe('createManagementClient: the fetch option', () => {
  it('sends every request through the given fetch, never the global one', async () => {
    // No MSW handler: the global fetch would fail with onUnhandledRequest.
    const custom = answeringFetch(200, { token: 'from-custom-fetch' })
    const global = vi.spyOn(globalThis, 'fetch')
    const c = client({ fetch: custom as typeof fetch })
    await expect(c.grantExternalAuth('alice')).resolves.toEqual({ token: 'from-custom-fetch' })
    await expect(c.grant('alice', ['passkey:read'])).resolves.toEqual({
      token: 'from-custom-fetch',
    })
    expect(custom).toHaveBeenCalledTimes(2)
    expect(String(custom.mock.calls[0]?.[0])).toBe(EXTERNAL)
    expect(String(custom.mock.calls[1]?.[0])).toBe(GRANT)
    expect(global).not.toHaveBeenCalled()
  })

  it('looks the global fetch up at call time when none is given', async () => {
    const c = client()
    const late = answeringFetch(200, { token: 'late-global' })
    vi.spyOn(globalThis, 'fetch').mockImplementation(late as typeof fetch)
    await expect(c.grantExternalAuth('alice')).resolves.toEqual({ token: 'late-global' })
    expect(late).toHaveBeenCalledTimes(1)
  })

  it('refuses a fetch option that is not a function, before any request', () => {
    for (const fetch of ['fetch', {}, null, 1]) {
      expect(() => client({ fetch: fetch as unknown as typeof globalThis.fetch })).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }),
      )
    }
  })
})

describe('createManagementClient: the API key never leaks through a network failure', () => {
  const leaks = [
    // The header in the thrown error's message, and in its cause.
    (auth: string) => new TypeError(`socket hang up (${auth})`, { cause: new Error(auth) }),
    // Only in the message of the low-level cause.
    (auth: string) => new TypeError('fetch failed', { cause: new Error(`ECONNRESET ${auth}`) }),
    // The bare key, in a property of a plain error.
    () => Object.assign(new TypeError('fetch failed'), { config: { apiKey: API_KEY } }),
  ]
  it.each(leaks.map((make, i) => [i, make] as const))(
    'drops a cause that mentions the key (#%i) but still reports ERR_NETWORK',
    async (_i, make) => {
      const fetch = failingFetch(make)
      const error = await failure(
        client({ retries: 0, fetch: fetch as typeof globalThis.fetch }).grantExternalAuth('alice'),
      )
      expect(fetch).toHaveBeenCalledTimes(1)
      expect(error.code).toBe('ERR_NETWORK')
      expect(error.path).toBe('/fido2/v2/mgmt/grant/external-auth')
      const text = exposed(error)
      expect(text).not.toContain(API_KEY)
      expect(text).not.toContain(B64)
    },
  )

  it("never keeps a custom fetch's error as cause, even a harmless one", async () => {
    // A custom fetch's error can hold anything (its own request object, headers): only the
    // platform fetch's error is scanned and kept (create-management-client.test.ts).
    const harmless = [
      new TypeError('fetch failed', { cause: new Error('ECONNREFUSED 10.0.0.1:443') }),
      new TypeError('fetch failed', {
        cause: new AggregateError([new Error('ECONNREFUSED ::1:443'), new Error('ECONNREFUSED')]),
      }),
      Object.assign(new TypeError('fetch failed'), { info: { host: 'app1.api.loginid.test' } }),
    ]
    for (const thrown of harmless) {
      const fetch = failingFetch(() => thrown)
      const error = await failure(
        client({ retries: 0, fetch: fetch as typeof globalThis.fetch }).grantExternalAuth('alice'),
      )
      expect(error.code).toBe('ERR_NETWORK')
      expect(error.cause).toBeUndefined()
    }
  })

  it('drops a cause that is not plain data (a Headers object, a class instance)', async () => {
    class Options {
      readonly note = 'no secret here'
    }
    for (const attach of [{ headers: new Headers({ a: 'b' }) }, { options: new Options() }]) {
      const fetch = failingFetch(
        () => new TypeError('fetch failed', { cause: Object.assign(new Error('x'), attach) }),
      )
      const error = await failure(
        client({ retries: 0, fetch: fetch as typeof globalThis.fetch }).grantExternalAuth('a'),
      )
      expect(error.code).toBe('ERR_NETWORK')
      expect(error.cause).toBeUndefined()
    }
  })

  it('redacts the key from LoginID error text and msgCode', async () => {
    server.use(
      http.post(EXTERNAL, () =>
        HttpResponse.json(
          { msg: `bad key ${API_KEY} twice ${API_KEY}`, msgCode: `code_${API_KEY}` },
          { status: 400 },
        ),
      ),
    )
    const error = await failure(client().grantExternalAuth('alice'))
    expect(error.code).toBe('ERR_BAD_REQUEST')
    expect(exposed(error)).not.toContain(API_KEY)
    expect(error.msgCode).toBe('code_[REDACTED]')
    // LoginID's own words stay (minus the key): the app's logs need them.
    expect(error.message).toContain('bad key [REDACTED] twice [REDACTED]')
  })
})

describe('createManagementClient: answers without a token', () => {
  it.each([
    ['{}', {}],
    ['{ token: "" }', { token: '' }],
    ['{ token: 42 }', { token: 42 }],
    ['null', null],
    ['a JSON string', 'token'],
  ])('rejects a 200 %s as ERR_BAD_RESPONSE (grantExternalAuth and grant)', async (_, body) => {
    server.use(
      http.post(EXTERNAL, () => HttpResponse.json(body)),
      http.post(GRANT, () => HttpResponse.json(body)),
    )
    const external = await failure(client().grantExternalAuth('alice'))
    expect(external.code).toBe('ERR_BAD_RESPONSE')
    expect(external.path).toBe('/fido2/v2/mgmt/grant/external-auth')
    const scoped = await failure(client().grant('alice', ['passkey:read']))
    expect(scoped.code).toBe('ERR_BAD_RESPONSE')
    expect(scoped.path).toBe('/fido2/v2/mgmt/grant')
  })

  it('a 204 from token/verify is true; a 200 is accepted too', async () => {
    server.use(http.post(VERIFY, () => HttpResponse.json({})))
    await expect(client().verifyToken('a.b.c')).resolves.toBe(true)
  })
})

describe('createManagementClient: cancellation', () => {
  it("the caller's signal cancels a request in flight with ERR_ABORTED, not a timeout", async () => {
    let arrived!: () => void
    const inFlight = new Promise<void>((resolve) => (arrived = resolve))
    let calls = 0
    server.use(
      http.post(EXTERNAL, async () => {
        calls++
        arrived()
        await delay('infinite')
        return HttpResponse.json({ token: 'never' })
      }),
    )
    const controller = new AbortController()
    // Were the signal ignored, the attempt would end with ERR_TIMEOUT after timeoutMs.
    const pending = client({ timeoutMs: 2_000, retries: 3 }).grantExternalAuth('alice', {
      signal: controller.signal,
    })
    await inFlight
    controller.abort()
    const error = await failure(pending)
    expect(error.code).toBe('ERR_ABORTED')
    expect(calls).toBe(1)
  })

  it('an already-aborted signal sends nothing', async () => {
    const fetch = answeringFetch(200, { token: 't' })
    const c = client({ fetch: fetch as typeof globalThis.fetch })
    for (const call of [
      () => c.grantExternalAuth('alice', { signal: AbortSignal.abort() }),
      () => c.grant('alice', ['x'], { signal: AbortSignal.abort() }),
      () => c.verifyToken('a.b.c', { signal: AbortSignal.abort() }),
    ]) {
      expect((await failure(call())).code).toBe('ERR_ABORTED')
    }
    expect(fetch).not.toHaveBeenCalled()
  })

  it('a signal aborted during the backoff stops the retries at once', async () => {
    let calls = 0
    server.use(
      http.post(EXTERNAL, () => {
        calls++
        return new HttpResponse(null, { status: 503 })
      }),
    )
    const controller = new AbortController()
    const pending = client({ retries: 5, retryDelayMs: 60_000 }).grantExternalAuth('alice', {
      signal: controller.signal,
    })
    await vi.waitFor(() => expect(calls).toBe(1))
    controller.abort()
    const error = await failure(pending)
    expect(error.code).toBe('ERR_ABORTED')
    expect(calls).toBe(1)
  })
})

describe('createManagementClient: what a network failure keeps for the logs', () => {
  /** The error a client fails with when its fetch throws `thrown`. */
  async function networkFailure(thrown: unknown) {
    const fetch = failingFetch(() => thrown)
    return failure(
      client({ retries: 0, fetch: fetch as typeof globalThis.fetch }).grantExternalAuth('a'),
    )
  }

  it('drops a cause whose secret is only in a message, only in a stack, or in a group', async () => {
    const onlyMessage = new TypeError(`refused for ${B64}`)
    onlyMessage.stack = 'TypeError: refused\n    at fetch (internal)'
    const onlyStack = new TypeError('refused')
    onlyStack.stack = `TypeError: refused\n    at send (Authorization: Basic ${B64})`
    const inGroup = new TypeError('fetch failed', {
      cause: new AggregateError([new Error('ok'), new Error(`key ${API_KEY}`)]),
    })
    for (const thrown of [onlyMessage, onlyStack, inGroup]) {
      const error = await networkFailure(thrown)
      expect(error.code).toBe('ERR_NETWORK')
      expect(error.cause).toBeUndefined()
      expect(exposed(error)).not.toContain(B64)
      expect(exposed(error)).not.toContain(API_KEY)
    }
  })
})

describe('createManagementClient: retries', () => {
  /** Run a failing call, recording the backoff delays (every timer runs at once). */
  async function backoffs(random: number, retryDelayMs: number, retries: number) {
    server.use(http.post(EXTERNAL, () => new HttpResponse(null, { status: 503 })))
    vi.spyOn(Math, 'random').mockReturnValue(random)
    const delays: number[] = []
    const realSetTimeout = globalThis.setTimeout
    vi.spyOn(globalThis, 'setTimeout').mockImplementation(((fn: () => void, ms?: number) => {
      if (ms === 60_000) return realSetTimeout(() => undefined, 0)
      delays.push(ms ?? 0)
      return realSetTimeout(fn, 0)
    }) as typeof setTimeout)
    const error = await failure(
      client({ retries, retryDelayMs, timeoutMs: 60_000 }).grantExternalAuth('alice'),
    )
    vi.mocked(globalThis.setTimeout).mockRestore()
    expect(error.code).toBe('ERR_LOGINID_UNAVAILABLE')
    return delays.filter((ms) => ms > 0)
  }

  it('waits retryDelayMs doubled per retry, minus up to half as jitter', async () => {
    expect(await backoffs(0, 1_000, 3)).toEqual([1_000, 2_000, 4_000])
    expect(await backoffs(0.999_999, 1_000, 2)).toEqual([
      expect.closeTo(500, 0),
      expect.closeTo(1_000, 0),
    ])
  })

  it('never waits more than 5 s between attempts', async () => {
    expect(await backoffs(0, 3_000, 3)).toEqual([3_000, 5_000, 5_000])
  })

  it('retries 10 times at most, and not at all with retries: 0', async () => {
    let calls = 0
    server.use(
      http.post(EXTERNAL, () => {
        calls++
        return new HttpResponse(null, { status: 503 })
      }),
    )
    await failure(client({ retries: 0 }).grantExternalAuth('alice'))
    expect(calls).toBe(1)
    calls = 0
    await failure(client({ retries: 10, retryDelayMs: 0 }).grantExternalAuth('alice'))
    expect(calls).toBe(11)
  })
})

describe('createManagementClient: options and input', () => {
  it('refuses bad numbers and keys, accepts the bounds', () => {
    const bad: Partial<ManagementClientOptions>[] = [
      { timeoutMs: -1 },
      { timeoutMs: Number.NaN },
      { timeoutMs: Number.POSITIVE_INFINITY },
      { retries: 11 },
      { retries: Number.NaN },
      { retryDelayMs: -1 },
      { retryDelayMs: Number.NaN },
      { apiKey: '   ' },
      { apiKey: 42 as unknown as string },
    ]
    for (const extra of bad) {
      expect(() => client(extra)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }))
    }
    for (const extra of [{ retries: 10 }, { retries: 0 }, { retryDelayMs: 0 }, { timeoutMs: 1 }]) {
      expect(() => client(extra)).not.toThrow()
    }
    expect(() => createManagementClient(null as never)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }),
    )
  })

  it('refuses usernames with control characters, scopes and tokens that are blank', async () => {
    const fetch = answeringFetch(200, { token: 't' })
    const c = client({ fetch: fetch as typeof globalThis.fetch })
    for (const username of ['a\u0000b', 'a\u001fb', 'a\u007fb', 'tab\there']) {
      await expect(c.grantExternalAuth(username)).rejects.toMatchObject({
        code: 'ERR_INVALID_ARGUMENT',
      })
    }
    for (const scopes of [['  '], [''], [42], 'passkey:read', ['ok', '']]) {
      await expect(c.grant('alice', scopes as string[])).rejects.toMatchObject({
        code: 'ERR_INVALID_ARGUMENT',
      })
    }
    for (const jwt of ['  ', 42]) {
      await expect(c.verifyToken(jwt as string)).rejects.toMatchObject({
        code: 'ERR_INVALID_ARGUMENT',
      })
    }
    expect(fetch).not.toHaveBeenCalled()
  })

  it('sends Accept: application/json and a copy of the scopes', async () => {
    const fetch = answeringFetch(200, { token: 't' })
    const scopes = ['passkey:read']
    await client({ fetch: fetch as typeof globalThis.fetch }).grant(' bob ', scopes)
    const init = fetch.mock.calls[0]?.[1]
    expect(headerOf(init, 'accept')).toBe('application/json')
    expect(JSON.parse(String(init?.body))).toEqual({ grants: ['passkey:read'], username: 'bob' })
  })

  it('reads a 401 from token/verify without msgCode as a rejected token', async () => {
    server.use(http.post(VERIFY, () => HttpResponse.json({ msg: 'no' }, { status: 401 })))
    const error = await failure(client().verifyToken('a.b.c'))
    expect(error.code).toBe('ERR_TOKEN_INVALID')
    expect(error.msgCode).toBeUndefined()
  })

  it('reads a 401 elsewhere as a rejected key, whatever its msgCode', async () => {
    server.use(
      http.post(EXTERNAL, () =>
        HttpResponse.json({ msg: 'x', msgCode: 'token_expired' }, { status: 401 }),
      ),
    )
    expect((await failure(client().grantExternalAuth('alice'))).code).toBe('ERR_API_KEY_INVALID')
  })

  it('maps other statuses by LoginID status class, without retrying', async () => {
    for (const [status, code] of [
      [429, 'ERR_HTTP'],
      [409, 'ERR_HTTP'],
      [501, 'ERR_LOGINID_UNAVAILABLE'],
    ] as const) {
      let calls = 0
      server.use(
        http.post(GRANT, () => {
          calls++
          return new HttpResponse(null, { status })
        }),
      )
      const error = await failure(client({ retries: 2 }).grant('alice', ['x']))
      expect(error.code).toBe(code)
      expect(error.status).toBe(status)
      expect(error.path).toBe('/fido2/v2/mgmt/grant')
      expect(calls).toBe(1)
    }
  })
})
