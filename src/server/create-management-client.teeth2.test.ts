// Tests with teeth for createManagementClient (issue 16, second pass): the error a caller gets
// for each LoginID error status (code, status, msgCode), with and without LoginID's AppError
// body; that no timer is left pending once a call settles; and how `retries` is validated.
// Every request goes through a custom fetch, so nothing reaches the network.
import { afterEach, describe, expect, it, vi } from 'vitest'
import { failure } from '../../test/support/mfa-errors.js'
import { createManagementClient } from './create-management-client.js'
import type { ManagementClientOptions } from './create-management-client.js'

const BASE = 'https://app1.api.loginid.test'
const API_KEY = 'key_teeth2_s3cr3t'

afterEach(() => {
  vi.useRealTimers()
})

/** A fetch that answers every request with `status` and `body` (JSON unless a string). */
function answering(status: number, body?: unknown) {
  return vi.fn(
    async (_input: RequestInfo | URL, _init?: RequestInit) =>
      new Response(
        body === undefined ? null : typeof body === 'string' ? body : JSON.stringify(body),
        {
          status,
          headers: { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json' },
        },
      ),
  )
}

function client(fetch: typeof globalThis.fetch, extra: Partial<ManagementClientOptions> = {}) {
  return createManagementClient({
    baseUrl: BASE,
    apiKey: API_KEY,
    fetch,
    retryDelayMs: 1,
    retries: 0,
    ...extra,
  })
}

type Call = 'grantExternalAuth' | 'grant' | 'verifyToken'
const calls: Record<Call, (c: ReturnType<typeof client>) => Promise<unknown>> = {
  grantExternalAuth: (c) => c.grantExternalAuth('alice'),
  grant: (c) => c.grant('alice', ['passkey:read']),
  verifyToken: (c) => c.verifyToken('a.b.c'),
}
const PATHS: Record<Call, string> = {
  grantExternalAuth: '/fido2/v2/mgmt/grant/external-auth',
  grant: '/fido2/v2/mgmt/grant',
  verifyToken: '/fido2/v2/mgmt/token/verify',
}

describe('createManagementClient: error statuses, by call', () => {
  // [status, code for the grant calls, code for token/verify] without an AppError body.
  const table = [
    [400, 'ERR_BAD_REQUEST', 'ERR_BAD_REQUEST'],
    [401, 'ERR_API_KEY_INVALID', 'ERR_TOKEN_INVALID'],
    [403, 'ERR_API_KEY_SCOPE', 'ERR_API_KEY_SCOPE'],
    [404, 'ERR_NOT_FOUND', 'ERR_NOT_FOUND'],
    [409, 'ERR_HTTP', 'ERR_HTTP'],
    [422, 'ERR_BAD_REQUEST', 'ERR_BAD_REQUEST'],
    [429, 'ERR_HTTP', 'ERR_HTTP'],
    [500, 'ERR_LOGINID_UNAVAILABLE', 'ERR_LOGINID_UNAVAILABLE'],
    [503, 'ERR_LOGINID_UNAVAILABLE', 'ERR_LOGINID_UNAVAILABLE'],
  ] as const

  for (const [status, grantCode, verifyCode] of table) {
    for (const call of Object.keys(calls) as Call[]) {
      const code = call === 'verifyToken' ? verifyCode : grantCode
      it(`${call}: ${status} without a body is ${code}, no msgCode, one request`, async () => {
        const fetch = answering(status)
        const error = await failure(calls[call](client(fetch)))
        expect(error.code).toBe(code)
        expect(error.status).toBe(status)
        expect(error.method).toBe('POST')
        expect(error.path).toBe(PATHS[call])
        expect(error.msgCode).toBeUndefined()
        expect(fetch).toHaveBeenCalledTimes(1)
      })

      it(`${call}: ${status} with an AppError body keeps its msgCode, same code`, async () => {
        const fetch = answering(status, { msgCode: 'some_code', msg: 'LoginID says no' })
        const error = await failure(calls[call](client(fetch)))
        expect(error.code).toBe(code)
        expect(error.status).toBe(status)
        expect(error.msgCode).toBe('some_code')
      })
    }
  }

  it('a text (non-JSON) error body gives no msgCode and the status code', async () => {
    const error = await failure(calls.grant(client(answering(429, 'slow down'))))
    expect(error.code).toBe('ERR_HTTP')
    expect(error.status).toBe(429)
    expect(error.msgCode).toBeUndefined()
  })

  it('a msgCode that is not a string is dropped', async () => {
    const error = await failure(calls.grant(client(answering(409, { msgCode: 42, msg: 7 }))))
    expect(error.code).toBe('ERR_HTTP')
    expect(error.msgCode).toBeUndefined()
  })

  it('token/verify 401: unauthorized is the key, token_expired and others the token', async () => {
    for (const [msgCode, code] of [
      ['unauthorized', 'ERR_API_KEY_INVALID'],
      ['token_expired', 'ERR_TOKEN_EXPIRED'],
      ['token_invalid', 'ERR_TOKEN_INVALID'],
      ['', 'ERR_TOKEN_INVALID'],
    ] as const) {
      const error = await failure(calls.verifyToken(client(answering(401, { msgCode }))))
      expect(error.code).toBe(code)
      expect(error.status).toBe(401)
    }
  })

  it('the grant calls read any 401 msgCode as a rejected key, token_expired included', async () => {
    for (const call of ['grantExternalAuth', 'grant'] as const) {
      for (const msgCode of ['unauthorized', 'token_expired']) {
        const error = await failure(calls[call](client(answering(401, { msgCode }))))
        expect(error.code).toBe('ERR_API_KEY_INVALID')
      }
    }
  })

  it('a 2xx other than 204 is a success: its token is returned', async () => {
    const c = client(answering(201, { token: 'tok-201' }))
    await expect(c.grantExternalAuth('alice')).resolves.toEqual({ token: 'tok-201' })
  })
})

describe('createManagementClient: no timer left behind', () => {
  it('after a success, an error answer, a network failure and a retried 503', async () => {
    vi.useFakeTimers()
    const ok = client(answering(200, { token: 't' }) as typeof fetch)
    await expect(ok.grantExternalAuth('alice')).resolves.toEqual({ token: 't' })
    expect(vi.getTimerCount()).toBe(0)
    await expect(ok.verifyToken('a.b.c')).resolves.toBe(true)
    expect(vi.getTimerCount()).toBe(0)

    await failure(client(answering(403, { msgCode: 'forbidden' })).grant('alice', ['x']))
    expect(vi.getTimerCount()).toBe(0)

    const broken = vi.fn(async () => {
      throw new TypeError('fetch failed')
    })
    expect((await failure(client(broken).grantExternalAuth('alice'))).code).toBe('ERR_NETWORK')
    expect(vi.getTimerCount()).toBe(0)

    let n = 0
    const flaky = vi.fn(async () =>
      ++n === 1 ? new Response(null, { status: 503 }) : Response.json({ token: 'second' }),
    )
    const pending = client(flaky, { retries: 1, retryDelayMs: 50 }).grantExternalAuth('alice')
    await vi.advanceTimersByTimeAsync(100)
    await expect(pending).resolves.toEqual({ token: 'second' })
    expect(flaky).toHaveBeenCalledTimes(2)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('after a caller abort in flight, and after a timeout', async () => {
    vi.useFakeTimers()
    const hanging = vi.fn(
      (_input: RequestInfo | URL, init?: RequestInit) =>
        new Promise<Response>((_resolve, reject) => {
          init?.signal?.addEventListener('abort', () => reject(init.signal?.reason))
        }),
    )
    const controller = new AbortController()
    const aborted = client(hanging, { timeoutMs: 60_000 }).grantExternalAuth('alice', {
      signal: controller.signal,
    })
    await vi.advanceTimersByTimeAsync(1)
    controller.abort()
    expect((await failure(aborted)).code).toBe('ERR_ABORTED')
    expect(vi.getTimerCount()).toBe(0)

    const timedOut = client(hanging, { timeoutMs: 1_000, retries: 2 }).grantExternalAuth('alice')
    const settled = failure(timedOut)
    await vi.advanceTimersByTimeAsync(1_000)
    expect((await settled).code).toBe('ERR_TIMEOUT')
    expect(hanging).toHaveBeenCalledTimes(2) // the aborted call, then one timed-out attempt, never retried
    expect(vi.getTimerCount()).toBe(0)
  })

  it('a signal aborted during the backoff leaves no backoff timer', async () => {
    vi.useFakeTimers()
    const unavailable = answering(503)
    const controller = new AbortController()
    const call = client(unavailable, { retries: 3, retryDelayMs: 10_000 }).grantExternalAuth(
      'alice',
      { signal: controller.signal },
    )
    const settled = failure(call)
    await vi.advanceTimersByTimeAsync(1)
    expect(vi.getTimerCount()).toBe(1) // the backoff
    controller.abort()
    expect((await settled).code).toBe('ERR_ABORTED')
    expect(unavailable).toHaveBeenCalledTimes(1)
    expect(vi.getTimerCount()).toBe(0)
  })
})

describe('createManagementClient: retries option', () => {
  it('retries: 0 sends one request for a 503 and for a connection refused', async () => {
    const unavailable = answering(503)
    const e1 = await failure(client(unavailable, { retries: 0 }).grantExternalAuth('alice'))
    expect(e1.code).toBe('ERR_LOGINID_UNAVAILABLE')
    expect(unavailable).toHaveBeenCalledTimes(1)

    const refused = vi.fn(async () => {
      throw Object.assign(new TypeError('fetch failed'), {
        cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }),
      })
    })
    const e2 = await failure(client(refused, { retries: 0 }).grantExternalAuth('alice'))
    expect(e2.code).toBe('ERR_NETWORK')
    expect(refused).toHaveBeenCalledTimes(1)
  })

  it('retries: 1 sends two requests for a 503 and for a connection refused', async () => {
    const unavailable = answering(503)
    await failure(client(unavailable, { retries: 1 }).grantExternalAuth('alice'))
    expect(unavailable).toHaveBeenCalledTimes(2)

    const refused = vi.fn(async () => {
      throw Object.assign(new TypeError('fetch failed'), {
        cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }),
      })
    })
    await failure(client(refused, { retries: 1 }).grantExternalAuth('alice'))
    expect(refused).toHaveBeenCalledTimes(2)
  })

  it('the default retries twice', async () => {
    const unavailable = answering(502)
    const c = createManagementClient({
      baseUrl: BASE,
      apiKey: API_KEY,
      fetch: unavailable,
      retryDelayMs: 0,
    })
    await failure(c.grantExternalAuth('alice'))
    expect(unavailable).toHaveBeenCalledTimes(3)
  })

  it('refuses retries that are not an integer from 0 to 10, before any request', () => {
    const fetch = answering(200, { token: 't' })
    for (const retries of [false, true, null, '1', -1, 11, 1.5, Number.NaN, Infinity]) {
      let thrown: unknown
      try {
        client(fetch, { retries: retries as number })
      } catch (error) {
        thrown = error
      }
      expect(thrown, String(retries)).toMatchObject({ code: 'ERR_INVALID_ARGUMENT' })
    }
    expect(fetch).not.toHaveBeenCalled()
    for (const retries of [0, 10]) expect(() => client(fetch, { retries })).not.toThrow()
  })
})
