// Tests with teeth for createManagementClient (issue 16, third pass), each with a `fetch` that
// answers itself: what reaches the fetch (headers, its own signal aborted with the call), what
// is left behind (no listener on the caller's signal), and how odd answers end (a redirect with
// no body, a 300, an opaque redirect, a custom fetch's lying Content-Length, a body failing
// mid-read, an answer that is not a Response): always a typed error, never a retry of what may
// have reached LoginID.
import { getEventListeners } from 'node:events'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { failure } from '../../test/support/mfa-errors.js'
import { createManagementClient } from './create-management-client.js'
import type { ManagementClientOptions } from './create-management-client.js'

const BASE = 'https://app1.api.loginid.test'
const API_KEY = 'key_teeth3_s3cr3t'

type Fetch = typeof globalThis.fetch

function client(fetch: Fetch, extra: Partial<ManagementClientOptions> = {}) {
  return createManagementClient({
    baseUrl: BASE,
    apiKey: API_KEY,
    retryDelayMs: 1,
    fetch,
    ...extra,
  })
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  })

afterEach(() => {
  vi.unstubAllGlobals()
})

describe('createManagementClient: options', () => {
  it('refuses options that are not an object with ERR_INVALID_ARGUMENT', () => {
    for (const options of [undefined, null, 'https://app1.api.loginid.test', 42]) {
      let thrown: unknown
      try {
        createManagementClient(options as never)
      } catch (error) {
        thrown = error
      }
      expect(thrown).toMatchObject({ name: 'MfaError', code: 'ERR_INVALID_ARGUMENT' })
    }
  })
})

describe('createManagementClient: the request the fetch gets', () => {
  it('a JSON POST with Content-Type and Accept, and its own signal', async () => {
    const seen: {
      headers: Headers
      signal: AbortSignal | null | undefined
      method?: string | undefined
    }[] = []
    const fetch = vi.fn(async (_url: RequestInfo | URL, init?: RequestInit) => {
      seen.push({ headers: new Headers(init?.headers), signal: init?.signal, method: init?.method })
      return json(200, { token: 't' })
    })
    expect(await client(fetch as Fetch).grantExternalAuth('alice')).toEqual({ token: 't' })
    expect(seen[0]?.method).toBe('POST')
    expect(seen[0]?.headers.get('content-type')).toBe('application/json')
    expect(seen[0]?.headers.get('accept')).toBe('application/json')
    expect(seen[0]?.signal).toBeInstanceOf(AbortSignal)
  })

  it("the fetch's signal is aborted when the caller aborts, and when the attempt times out", async () => {
    const signals: AbortSignal[] = []
    const hanging = vi.fn(
      (_url: RequestInfo | URL, init?: RequestInit) =>
        new Promise<Response>(() => {
          if (init?.signal) signals.push(init.signal)
        }),
    )
    const controller = new AbortController()
    const aborted = failure(
      client(hanging as Fetch).grantExternalAuth('alice', { signal: controller.signal }),
    )
    await vi.waitFor(() => expect(signals).toHaveLength(1))
    controller.abort()
    expect((await aborted).code).toBe('ERR_ABORTED')
    expect(signals[0]?.aborted).toBe(true)

    const timedOut = await failure(
      client(hanging as Fetch, { timeoutMs: 20 }).grantExternalAuth('bob'),
    )
    expect(timedOut.code).toBe('ERR_TIMEOUT')
    expect(signals[1]?.aborted).toBe(true)
  })

  it("leaves no listener on the caller's signal once a call settles", async () => {
    const controller = new AbortController()
    const ok = client(vi.fn(async () => json(200, { token: 't' })) as Fetch)
    for (let i = 0; i < 3; i++) await ok.grantExternalAuth('alice', { signal: controller.signal })
    const failing = client(vi.fn(async () => json(400, {})) as Fetch)
    await failure(failing.grantExternalAuth('alice', { signal: controller.signal }))
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0)
  })

  it('errors name the call: POST and its path', async () => {
    const error = await failure(
      client(vi.fn(async () => json(400, {})) as Fetch).grant('alice', ['passkey:read']),
    )
    expect(error).toMatchObject({ method: 'POST', path: '/fido2/v2/mgmt/grant', status: 400 })
    const controller = new AbortController()
    controller.abort()
    const aborted = await failure(
      client(vi.fn() as unknown as Fetch).verifyToken('jwt', { signal: controller.signal }),
    )
    expect(aborted).toMatchObject({
      code: 'ERR_ABORTED',
      method: 'POST',
      path: '/fido2/v2/mgmt/token/verify',
    })
  })
})

describe('createManagementClient: odd answers', () => {
  it('a redirect without a body, and a 300, are refused as ERR_BAD_RESPONSE, sent once', async () => {
    for (const response of [
      () => new Response(null, { status: 302, headers: { location: 'https://evil.example/' } }),
      () => json(300, { token: 'from-a-300' }),
    ]) {
      const fetch = vi.fn(async () => response())
      const error = await failure(client(fetch as Fetch).grantExternalAuth('alice'))
      expect(error).toMatchObject({ code: 'ERR_BAD_RESPONSE' })
      expect(fetch).toHaveBeenCalledTimes(1)
    }
  })

  it('an opaque redirect (a browser-like fetch with redirect: manual) is refused', async () => {
    const fetch = vi.fn(async () => {
      const response = json(200, { token: 'behind-a-redirect' })
      Object.defineProperty(response, 'type', { value: 'opaqueredirect' })
      return response
    })
    const error = await failure(client(fetch as Fetch).grantExternalAuth('alice'))
    expect(error.code).toBe('ERR_BAD_RESPONSE')
    expect(fetch).toHaveBeenCalledTimes(1)
  })

  it("counts a custom fetch's body instead of trusting its Content-Length", async () => {
    const big = JSON.stringify({ token: 'hidden', pad: 'x'.repeat(1024 * 1024) })
    const fetch = vi.fn(
      async () => new Response(big, { status: 200, headers: { 'content-length': '20' } }),
    )
    const error = await failure(client(fetch as Fetch).grantExternalAuth('alice'))
    expect(error.code).toBe('ERR_BAD_RESPONSE')
  })

  it('a body that fails mid-read is ERR_NETWORK and not retried (the grant may exist)', async () => {
    const fetch = vi.fn(
      async () =>
        new Response(
          new ReadableStream<Uint8Array>({
            start(controller) {
              controller.enqueue(new TextEncoder().encode('{"tok'))
              controller.error(new Error('connection reset'))
            },
          }),
          { status: 200 },
        ),
    )
    const error = await failure(client(fetch as Fetch).grantExternalAuth('alice'))
    expect(error.code).toBe('ERR_NETWORK')
    expect(fetch).toHaveBeenCalledTimes(1)
  })

  it('a fetch that answers something other than a Response is ERR_NETWORK, not retried', async () => {
    const fetch = vi.fn(async () => ({ status: 200 }) as unknown as Response)
    const error = await failure(client(fetch as Fetch).grantExternalAuth('alice'))
    expect(error.code).toBe('ERR_NETWORK')
    expect(error.cause).toBeUndefined()
    expect(fetch).toHaveBeenCalledTimes(1)
  })
})

describe('createManagementClient: the cause of a network failure', () => {
  const refused = () =>
    new TypeError('fetch failed', {
      cause: Object.assign(new Error('connect ECONNRESET'), { code: 'ECONNRESET' }),
    })

  it("keeps the global fetch's clean error as cause, for the logs", async () => {
    const thrown = refused()
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => {
        throw thrown
      }),
    )
    const management = createManagementClient({ baseUrl: BASE, apiKey: API_KEY, retries: 0 })
    const error = await failure(management.grantExternalAuth('alice'))
    expect(error.code).toBe('ERR_NETWORK')
    expect(error.cause).toBe(thrown)
  })

  it("never keeps a custom fetch's error, even a clean one", async () => {
    const error = await failure(
      client(
        vi.fn(async () => {
          throw refused()
        }) as Fetch,
        { retries: 0 },
      ).grantExternalAuth('alice'),
    )
    expect(error.code).toBe('ERR_NETWORK')
    expect(error.cause).toBeUndefined()
  })
})
