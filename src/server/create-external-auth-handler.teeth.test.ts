// Tests with teeth for createExternalAuthHandler (issue 16): each one fails when a deliberate
// breakage that the other tests let through is applied. What a browser or an app relies on:
// status, JSON error code, CORS and cache headers, which user is minted for, what onError is told.
import { describe, expect, it, vi } from 'vitest'
import { MfaError } from '../shared/errors.js'
import { createExternalAuthHandler } from './create-external-auth-handler.js'
import type { ExternalAuthHandlerOptions } from './create-external-auth-handler.js'

const URL_ = 'https://app.example.com/api/loginid/grant'
const ORIGIN = 'https://app.example.com'
const SHOP = 'https://shop.example.net'
const goodBody = JSON.stringify({ proof: 'p' })

function setup(overrides: Partial<ExternalAuthHandlerOptions> = {}) {
  const grantExternalAuth = vi.fn(
    async (username: string, _options?: { signal?: AbortSignal }) => ({
      token: `grant-for-${username}`,
    }),
  )
  const onError = vi.fn()
  const handler = createExternalAuthHandler({
    management: { grantExternalAuth },
    authorize: async () => ({ username: 'alice' }),
    allowedOrigins: [SHOP],
    onError,
    ...overrides,
  })
  return { handler, grantExternalAuth, onError }
}

function request(
  body: BodyInit | null,
  headers: Record<string, string> = {},
  method = 'POST',
): Request {
  return new Request(URL_, {
    method,
    headers: { origin: SHOP, 'content-type': 'application/json', ...headers },
    ...(body !== null && { body }),
  })
}

function expectCors(response: Response, origin = SHOP): void {
  expect(response.headers.get('access-control-allow-origin')).toBe(origin)
  expect(response.headers.get('access-control-allow-credentials')).toBe('true')
  expect(response.headers.get('vary')).toContain('Origin')
}

function expectNoCors(response: Response): void {
  expect(response.headers.get('access-control-allow-origin')).toBeNull()
  expect(response.headers.get('access-control-allow-credentials')).toBeNull()
}

async function expectError(response: Response, status: number, code: string): Promise<void> {
  expect(response.status).toBe(status)
  expect(response.headers.get('content-type')).toBe('application/json')
  expect(response.headers.get('cache-control')).toBe('no-store')
  expect(response.headers.get('x-content-type-options')).toBe('nosniff')
  expect(await response.json()).toEqual({ error: code })
}

const throwing = (error: unknown) => async (): Promise<never> => {
  throw error
}

describe('createExternalAuthHandler: an allowed cross-origin caller can read every answer', () => {
  // Without CORS headers the browser hides the status from fetchGrantToken, which then cannot
  // tell "sign in again" (401) from "the server is down" (503).
  const cases: [string, () => Promise<Response>, number, string | undefined][] = [
    ['200', async () => setup().handler(request(goodBody)), 200, undefined],
    ['400', async () => setup().handler(request('{not json')), 400, 'ERR_INVALID_JSON'],
    [
      '401',
      async () => setup({ authorize: async () => null }).handler(request(goodBody)),
      401,
      'ERR_UNAUTHORIZED',
    ],
    [
      '405',
      async () => setup().handler(request(goodBody, {}, 'PUT')),
      405,
      'ERR_METHOD_NOT_ALLOWED',
    ],
    [
      '413',
      async () => setup().handler(request(JSON.stringify({ proof: 'x'.repeat(17_000) }))),
      413,
      'ERR_PAYLOAD_TOO_LARGE',
    ],
    [
      '415',
      async () => setup().handler(request(goodBody, { 'content-type': 'text/plain' })),
      415,
      'ERR_UNSUPPORTED_MEDIA_TYPE',
    ],
    [
      '500 (authorize threw)',
      async () => setup({ authorize: throwing(new Error('db down')) }).handler(request(goodBody)),
      500,
      'ERR_AUTHORIZE',
    ],
    [
      '500 (authorize returned no username)',
      async () => setup({ authorize: async () => ({ username: '  ' }) }).handler(request(goodBody)),
      500,
      'ERR_AUTHORIZE',
    ],
    [
      '502',
      async () =>
        setup({
          management: { grantExternalAuth: throwing(new MfaError('ERR_API_KEY_SCOPE', 'scope')) },
        }).handler(request(goodBody)),
      502,
      'ERR_GRANT_FAILED',
    ],
    [
      '503',
      async () =>
        setup({
          management: { grantExternalAuth: throwing(new MfaError('ERR_NETWORK', 'net')) },
        }).handler(request(goodBody)),
      503,
      'ERR_LOGINID_UNAVAILABLE',
    ],
  ]
  it.each(cases)('%s carries the CORS headers', async (_, answer, status, code) => {
    const response = await answer()
    expectCors(response)
    if (code === undefined) {
      expect(response.status).toBe(status)
      expect(await response.json()).toEqual({ token: 'grant-for-alice' })
    } else {
      await expectError(response, status, code)
    }
  })

  it('a 403 for a foreign origin carries none, and neither does a same-origin answer', async () => {
    const { handler } = setup()
    const foreign = await handler(request(goodBody, { origin: 'https://evil.example' }))
    expectNoCors(foreign)
    await expectError(foreign, 403, 'ERR_ORIGIN_FORBIDDEN')
    const same = await handler(request(goodBody, { origin: ORIGIN }))
    expect(same.status).toBe(200)
    expectNoCors(same)
  })

  it('405 tells which method is allowed, for a plain OPTIONS too', async () => {
    const { handler, grantExternalAuth } = setup()
    for (const method of ['GET', 'OPTIONS', 'PATCH']) {
      const response = await handler(request(method === 'GET' ? null : goodBody, {}, method))
      expect(response.headers.get('allow')).toBe('POST')
      expectCors(response)
      await expectError(response, 405, 'ERR_METHOD_NOT_ALLOWED')
    }
    expect(grantExternalAuth).not.toHaveBeenCalled()
    const post = await handler(request(goodBody))
    expect(post.headers.get('allow')).toBeNull()
  })
})

describe('createExternalAuthHandler: preflights', () => {
  const preflight = (headers: Record<string, string>) =>
    new Request(URL_, {
      method: 'OPTIONS',
      headers: { origin: SHOP, 'access-control-request-method': 'POST', ...headers },
    })

  it('allows the requested headers only when they are a plain list of names', async () => {
    const { handler } = setup()
    const cases: [Record<string, string>, string][] = [
      [{}, 'Content-Type'],
      [{ 'access-control-request-headers': 'content-type' }, 'content-type'],
      [{ 'access-control-request-headers': ' x-a ,x-b ' }, 'x-a ,x-b'],
      [{ 'access-control-request-headers': 'x-a, x b' }, 'Content-Type'],
      [{ 'access-control-request-headers': 'x-a;b' }, 'Content-Type'],
      [{ 'access-control-request-headers': ',' }, 'Content-Type'],
    ]
    for (const [headers, allowed] of cases) {
      const response = await handler(preflight(headers))
      expect(response.status).toBe(204)
      expect(response.headers.get('access-control-allow-headers')).toBe(allowed)
    }
  })

  it('answers 204 with POST, a 10-minute max age, no-store and the full Vary', async () => {
    const { handler, grantExternalAuth } = setup()
    const response = await handler(preflight({}))
    expect(response.status).toBe(204)
    expect(await response.text()).toBe('')
    expectCors(response)
    expect(response.headers.get('access-control-allow-methods')).toBe('POST')
    expect(response.headers.get('access-control-max-age')).toBe('600')
    expect(response.headers.get('cache-control')).toBe('no-store')
    const vary = response.headers.get('vary') ?? ''
    for (const name of [
      'Origin',
      'Access-Control-Request-Method',
      'Access-Control-Request-Headers',
    ])
      expect(vary).toContain(name)
    expect(grantExternalAuth).not.toHaveBeenCalled()
  })
})

describe('createExternalAuthHandler: Origin', () => {
  it('accepts an Origin with a trailing slash; refuses other spellings of it', async () => {
    const { handler } = setup()
    expect((await handler(request(goodBody, { origin: `${SHOP}/` }))).status).toBe(200)
    for (const origin of [
      `${SHOP}/path`,
      'HTTPS://SHOP.EXAMPLE.NET',
      `${SHOP}:443`,
      'shop.example.net',
      'https://user@shop.example.net',
    ]) {
      const response = await handler(request(goodBody, { origin }))
      await expectError(response, 403, 'ERR_ORIGIN_FORBIDDEN')
    }
  })

  it('normalizes the allowedOrigins entries to origins', async () => {
    const { handler } = setup({ allowedOrigins: ['https://shop.example.net/some/path?x=1'] })
    const response = await handler(request(goodBody))
    expect(response.status).toBe(200)
    expectCors(response)
  })

  it('refuses allowedOrigins entries that are not http(s) URLs', () => {
    for (const origin of ['ftp://files.example', 'javascript:alert(1)', 42, 'shop.example.net']) {
      expect(() => setup({ allowedOrigins: [origin as string] })).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }),
      )
    }
    expect(() => setup({ allowedOrigins: ['http://localhost:3000'] })).not.toThrow()
  })

  it('without allowMissingOrigin, a request with no Origin is refused before authorize', async () => {
    const authorize = vi.fn(async () => ({ username: 'alice' }))
    const { handler } = setup({ authorize })
    const missing = request(goodBody)
    missing.headers.delete('origin')
    await expectError(await handler(missing), 403, 'ERR_ORIGIN_FORBIDDEN')
    expect(authorize).not.toHaveBeenCalled()
  })
})

describe('createExternalAuthHandler: content type', () => {
  it('accepts application/json in any case and with parameters, nothing else', async () => {
    const { handler } = setup()
    for (const type of ['APPLICATION/JSON', ' application/json ; charset=utf-8']) {
      expect((await handler(request(goodBody, { 'content-type': type }))).status).toBe(200)
    }
    for (const type of ['application/jsonx', 'application/json-patch+json', 'text/json', '']) {
      const response = await handler(request(goodBody, { 'content-type': type }))
      await expectError(response, 415, 'ERR_UNSUPPORTED_MEDIA_TYPE')
    }
  })
})

describe('createExternalAuthHandler: minting', () => {
  it('gives the grant its own signal, detached from the request once the answer is made', async () => {
    const { handler, grantExternalAuth } = setup()
    const client = new AbortController()
    const incoming = new Request(request(goodBody), { signal: client.signal })
    await handler(incoming)
    const signal = (grantExternalAuth.mock.calls[0]?.[1] as { signal?: AbortSignal } | undefined)
      ?.signal
    expect(signal).toBeInstanceOf(AbortSignal)
    // After the answer the grant's signal is detached (create-external-auth-handler.signal.test.ts
    // checks the abort while the grant is pending, and Deno's abort after a success).
    client.abort()
    expect(signal?.aborted).toBe(false)
  })

  it('the 200 answer holds only the token, with no-store and nosniff', async () => {
    const { handler } = setup()
    const response = await handler(request(goodBody))
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('application/json')
    expect(response.headers.get('cache-control')).toBe('no-store')
    expect(response.headers.get('x-content-type-options')).toBe('nosniff')
    expect(await response.json()).toEqual({ token: 'grant-for-alice' })
  })

  it('tells onError the code, status and request of every server-side failure', async () => {
    const cases: [Partial<ExternalAuthHandlerOptions>, string, number][] = [
      [{ authorize: throwing(new Error('db')) }, 'ERR_AUTHORIZE', 500],
      [
        { management: { grantExternalAuth: throwing(new MfaError('ERR_API_KEY_INVALID', 'k')) } },
        'ERR_GRANT_FAILED',
        502,
      ],
      [
        { management: { grantExternalAuth: throwing(new MfaError('ERR_ABORTED', 'gone')) } },
        'ERR_LOGINID_UNAVAILABLE',
        503,
      ],
      [
        { management: { grantExternalAuth: throwing(new MfaError('ERR_TOKEN_INVALID', 'x')) } },
        'ERR_GRANT_FAILED',
        502,
      ],
      [{ management: { grantExternalAuth: throwing('not an error') } }, 'ERR_INTERNAL', 500],
    ]
    for (const [overrides, code, status] of cases) {
      const { handler, onError } = setup(overrides)
      const incoming = request(goodBody)
      await expectError(await handler(incoming), status, code)
      expect(onError).toHaveBeenCalledTimes(1)
      expect(onError.mock.calls[0]?.[1]).toEqual({ code, status, request: incoming })
    }
  })

  it('answers 500 ERR_INTERNAL (no CORS, onError told) when the request itself breaks', async () => {
    const { handler, onError } = setup()
    const broken = {
      method: 'POST',
      url: URL_,
      headers: {
        get: () => {
          throw new Error('broken headers')
        },
        has: () => false,
      },
    } as unknown as Request
    const response = await handler(broken)
    await expectError(response, 500, 'ERR_INTERNAL')
    expectNoCors(response)
    expect(onError).toHaveBeenCalledWith(
      expect.any(Error),
      expect.objectContaining({ code: 'ERR_INTERNAL', status: 500 }),
    )
  })

  it('does not mint for an identity that is not an object with a username', async () => {
    for (const identity of [{ username: 42 }, { name: 'alice' }]) {
      const { handler, grantExternalAuth } = setup({
        authorize: async () => identity as unknown as { username: string },
      })
      await expectError(await handler(request(goodBody)), 500, 'ERR_AUTHORIZE')
      expect(grantExternalAuth).not.toHaveBeenCalled()
    }
  })
})

describe('createExternalAuthHandler: options', () => {
  it('refuses missing or malformed options with ERR_INVALID_ARGUMENT', () => {
    const management = { grantExternalAuth: async () => ({ token: 't' }) }
    const authorize = async () => null
    const bad: unknown[] = [
      undefined,
      null,
      { authorize },
      { management, authorize, onError: 'log' },
      { management, authorize, allowedOrigins: SHOP },
    ]
    for (const options of bad) {
      expect(() => createExternalAuthHandler(options as ExternalAuthHandlerOptions)).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }),
      )
    }
    expect(() => createExternalAuthHandler({ management, authorize })).not.toThrow()
  })
})
