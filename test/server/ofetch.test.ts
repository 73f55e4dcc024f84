// The server entry's HTTP to LoginID (the management client, the JWKS fetch) runs on ofetch,
// loaded on the first request (not at `import 'loginid-mfa-flow/server'`), with ofetch's retry
// off and its FetchError (which holds the request options and the Authorization header) never kept.
import { inspect } from 'node:util'
import type * as OfetchModule from 'ofetch'
import { afterEach, describe, expect, it, vi } from 'vitest'

const spy = vi.hoisted(() => ({ loaded: 0, creates: [] as unknown[][], rawCalls: 0 }))

vi.mock('ofetch', async (importOriginal) => {
  spy.loaded++
  const real = await importOriginal<typeof OfetchModule>()
  const create: typeof real.ofetch.create = (defaults, globals) => {
    spy.creates.push([defaults, globals])
    const $fetch = real.ofetch.create(defaults, globals)
    const realRaw = $fetch.raw
    const raw: typeof $fetch.raw = (request, options) => {
      spy.rawCalls++
      return realRaw(request, options)
    }
    return Object.assign($fetch, { raw })
  }
  return { ...real, ofetch: { create } }
})

const API_KEY = 'key_ofetch_s3cr3t'
const B64 = Buffer.from(`${API_KEY}:`).toString('base64')
const BASE = 'https://app.api.loginid.test'

afterEach(() => vi.unstubAllGlobals())

const { createManagementClient, verifyLoginIDToken } = await import('../../src/server.js')

describe('the management client on ofetch', () => {
  it('loads ofetch only on the first request, then sends through $fetch.raw over the custom fetch', async () => {
    const calls: { url: string; auth: string | null }[] = []
    const custom = (async (input: RequestInfo | URL, init?: RequestInit) => {
      calls.push({ url: String(input), auth: new Headers(init?.headers).get('authorization') })
      return new Response(JSON.stringify({ token: 'grant-1' }), {
        status: 200,
        headers: { 'content-type': 'application/json' },
      })
    }) as typeof fetch
    const management = createManagementClient({ baseUrl: BASE, apiKey: API_KEY, fetch: custom })
    expect(spy.loaded).toBe(0)

    await expect(management.grantExternalAuth('alice')).resolves.toEqual({ token: 'grant-1' })
    await expect(management.grantExternalAuth('bob')).resolves.toEqual({ token: 'grant-1' })

    expect(spy.loaded).toBe(1)
    expect(spy.creates).toHaveLength(1)
    const [defaults, globals] = spy.creates[0]!
    expect(defaults).toMatchObject({
      redirect: 'manual',
      ignoreResponseError: true,
      responseType: 'stream',
      retry: 0,
    })
    expect((globals as { fetch: unknown }).fetch).toBe(custom)
    expect(spy.rawCalls).toBe(2)
    expect(calls).toEqual([
      { url: `${BASE}/fido2/v2/mgmt/grant/external-auth`, auth: `Basic ${B64}` },
      { url: `${BASE}/fido2/v2/mgmt/grant/external-auth`, auth: `Basic ${B64}` },
    ])
  })

  it('looks globalThis.fetch up at call time when no fetch is given', async () => {
    const management = createManagementClient({ baseUrl: BASE, apiKey: API_KEY })
    vi.stubGlobal('fetch', async () => new Response('{}', { status: 400 }))
    await expect(management.verifyToken('jwt')).rejects.toMatchObject({ code: 'ERR_BAD_REQUEST' })
    vi.stubGlobal('fetch', async () => new Response(null, { status: 204 }))
    await expect(management.verifyToken('jwt')).resolves.toBe(true)
  })

  it('keeps the platform error as cause, never ofetch FetchError, and retries only a connection never opened', async () => {
    let attempts = 0
    vi.stubGlobal('fetch', async () => {
      attempts++
      throw Object.assign(new TypeError('fetch failed'), {
        cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      })
    })
    const management = createManagementClient({
      baseUrl: BASE,
      apiKey: API_KEY,
      retries: 2,
      retryDelayMs: 1,
    })
    const error = await management.grantExternalAuth('alice').catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'ERR_NETWORK' })
    expect(attempts).toBe(3)
    const cause = (error as { cause?: unknown }).cause
    expect(cause).toBeInstanceOf(TypeError)
    expect((cause as Error).name).not.toBe('FetchError')
    expect((cause as Error).message).toBe('fetch failed')
    const shown = inspect(error, { showHidden: true, depth: 10 })
    expect(shown).not.toContain(API_KEY)
    expect(shown).not.toContain(B64)
    expect(shown).not.toContain('FetchError')
  })

  it('does not let ofetch retry a 500 (a grant is not idempotent)', async () => {
    let attempts = 0
    vi.stubGlobal('fetch', async () => {
      attempts++
      return new Response('{}', { status: 500, headers: { 'content-type': 'application/json' } })
    })
    const management = createManagementClient({ baseUrl: BASE, apiKey: API_KEY, retryDelayMs: 1 })
    await expect(management.grantExternalAuth('alice')).rejects.toMatchObject({
      code: 'ERR_LOGINID_UNAVAILABLE',
    })
    expect(attempts).toBe(1)
  })

  it('fetches the JWKS through ofetch too, without following a redirect', async () => {
    const before = spy.rawCalls
    const seen: { url: string; redirect: unknown }[] = []
    vi.stubGlobal('fetch', async (input: RequestInfo | URL, init?: RequestInit) => {
      seen.push({ url: String(input), redirect: init?.redirect })
      return new Response(null, { status: 302, headers: { location: 'https://evil.test/' } })
    })
    const part = (value: unknown): string =>
      Buffer.from(JSON.stringify(value)).toString('base64url')
    const token = `${part({ alg: 'ES256', kid: 'k1' })}.${part({ sub: 'x' })}.${'A'.repeat(86)}`
    const baseUrl = 'https://jwks-ofetch.api.loginid.test'
    await expect(verifyLoginIDToken(token, { baseUrl })).rejects.toMatchObject({
      code: 'ERR_BAD_RESPONSE',
    })
    expect(seen).toEqual([{ url: `${baseUrl}/fido2/v2/.well-known/jwks.json`, redirect: 'manual' }])
    expect(spy.rawCalls).toBe(before + 1)
  })
})
