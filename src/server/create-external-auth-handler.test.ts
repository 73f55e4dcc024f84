import { describe, expect, it, vi } from 'vitest'
import { MfaError } from '../shared/errors.js'
import { createExternalAuthHandler } from './create-external-auth-handler.js'
import type {
  ExternalAuthHandlerOptions,
  ExternalAuthRequestBody,
} from './create-external-auth-handler.js'

const URL_ = 'https://app.example.com/api/loginid/grant'
const ORIGIN = 'https://app.example.com'

function setup(overrides: Partial<ExternalAuthHandlerOptions> = {}) {
  const grantExternalAuth = vi.fn(async (username: string) => ({ token: `grant-for-${username}` }))
  const authorize = vi.fn(async (_request: Request, _body: ExternalAuthRequestBody) => ({
    username: 'alice',
  }))
  const onError = vi.fn()
  const handler = createExternalAuthHandler({
    management: { grantExternalAuth },
    authorize,
    onError,
    ...overrides,
  })
  return { handler, grantExternalAuth, authorize, onError }
}

function post(body: BodyInit | null, headers: Record<string, string> = {}, method = 'POST') {
  return new Request(URL_, {
    method,
    headers: { origin: ORIGIN, 'content-type': 'application/json', ...headers },
    ...(body !== null && { body }),
  })
}

const goodBody = JSON.stringify({ proof: 'p', username: 'alice', session: 's' })

async function expectError(response: Response, status: number, code: string) {
  expect(response.status).toBe(status)
  expect(response.headers.get('cache-control')).toBe('no-store')
  expect(response.headers.get('content-type')).toBe('application/json')
  expect(response.headers.get('vary')).toContain('Origin')
  expect(await response.json()).toEqual({ error: code })
}

describe('createExternalAuthHandler', () => {
  it('mints for the user authorize returns: 200 { token } with no-store', async () => {
    const { handler, grantExternalAuth, authorize } = setup()
    const response = await handler(post(goodBody))
    expect(response.status).toBe(200)
    expect(response.headers.get('cache-control')).toBe('no-store')
    expect(await response.json()).toEqual({ token: 'grant-for-alice' })
    expect(grantExternalAuth).toHaveBeenCalledTimes(1)
    expect(grantExternalAuth.mock.calls[0]?.[0]).toBe('alice')
    expect(authorize.mock.calls[0]?.[1]).toEqual({ proof: 'p', username: 'alice', session: 's' })
  })

  it('ignores a username claimed in the body', async () => {
    const { handler, grantExternalAuth } = setup({ authorize: async () => ({ username: 'bob' }) })
    const response = await handler(post(JSON.stringify({ proof: 'p', username: 'mallory' })))
    expect(await response.json()).toEqual({ token: 'grant-for-bob' })
    expect(grantExternalAuth.mock.calls.map((call) => call[0])).toEqual(['bob'])
  })

  it('405 with Allow: POST for other methods', async () => {
    const { handler, grantExternalAuth } = setup()
    for (const method of ['GET', 'PUT', 'DELETE', 'OPTIONS']) {
      const response = await handler(post(method === 'GET' ? null : goodBody, {}, method))
      expect(response.headers.get('allow')).toBe('POST')
      await expectError(response, 405, 'ERR_METHOD_NOT_ALLOWED')
    }
    expect(grantExternalAuth).not.toHaveBeenCalled()
  })

  it('415 unless Content-Type is application/json', async () => {
    const { handler, authorize } = setup()
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data']) {
      await expectError(
        await handler(post(goodBody, { 'content-type': type })),
        415,
        'ERR_UNSUPPORTED_MEDIA_TYPE',
      )
    }
    const noType = new Request(URL_, {
      method: 'POST',
      headers: { origin: ORIGIN },
      body: goodBody,
    })
    noType.headers.delete('content-type')
    await expectError(await handler(noType), 415, 'ERR_UNSUPPORTED_MEDIA_TYPE')
    const charset = await handler(
      post(goodBody, { 'content-type': 'application/json; charset=utf-8' }),
    )
    expect(charset.status).toBe(200)
    expect(authorize).toHaveBeenCalledTimes(1)
  })

  it('413 for a body over 16 KiB, read from the stream (Content-Length is not trusted)', async () => {
    const { handler, authorize } = setup()
    const big = JSON.stringify({ proof: 'x'.repeat(16 * 1024) })
    await expectError(await handler(post(big)), 413, 'ERR_PAYLOAD_TOO_LARGE')
    // A stream without Content-Length, with a lying Content-Length.
    let pulled = 0
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled++
        if (pulled > 1000) controller.close()
        else controller.enqueue(new Uint8Array(1024).fill(0x20))
      },
    })
    const request = new Request(URL_, {
      method: 'POST',
      headers: { origin: ORIGIN, 'content-type': 'application/json', 'content-length': '10' },
      body: stream,
      duplex: 'half',
    } as RequestInit)
    await expectError(await handler(request), 413, 'ERR_PAYLOAD_TOO_LARGE')
    expect(pulled).toBeLessThan(40) // stopped reading soon after the cap
    // exactly 16 KiB is fine
    const exact = `{"proof":"${'y'.repeat(16 * 1024 - 12)}"}`
    expect(new TextEncoder().encode(exact).byteLength).toBe(16 * 1024)
    expect((await handler(post(exact))).status).toBe(200)
    expect(authorize).toHaveBeenCalledTimes(1)
  })

  it('403 for a foreign, null or missing Origin; same-origin and listed origins pass', async () => {
    const { handler, grantExternalAuth } = setup({ allowedOrigins: ['https://shop.example.net/'] })
    for (const origin of [
      'https://evil.example',
      'null',
      'http://app.example.com',
      'https://app.example.com.evil.io',
    ]) {
      await expectError(await handler(post(goodBody, { origin })), 403, 'ERR_ORIGIN_FORBIDDEN')
    }
    const missing = post(goodBody)
    missing.headers.delete('origin')
    await expectError(await handler(missing), 403, 'ERR_ORIGIN_FORBIDDEN')
    expect(grantExternalAuth).not.toHaveBeenCalled()

    const listed = await handler(post(goodBody, { origin: 'https://shop.example.net' }))
    expect(listed.status).toBe(200)
    expect(listed.headers.get('access-control-allow-origin')).toBe('https://shop.example.net')
    expect(listed.headers.get('vary')).toBe('Origin')
    const same = await handler(post(goodBody))
    expect(same.status).toBe(200)
    expect(same.headers.get('access-control-allow-origin')).toBeNull()
    expect(same.headers.get('access-control-allow-credentials')).toBeNull()
    expect(same.headers.get('vary')).toBe('Origin')
    // A foreign origin gets no CORS header at all (its page cannot read the answer).
    const foreign = await handler(post(goodBody, { origin: 'https://evil.example' }))
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull()
    expect(foreign.headers.get('access-control-allow-credentials')).toBeNull()
  })

  it('allowMissingOrigin lets non-browser callers without Origin through', async () => {
    const { handler } = setup({ allowMissingOrigin: true })
    const missing = post(goodBody)
    missing.headers.delete('origin')
    expect((await handler(missing)).status).toBe(200)
    await expectError(
      await handler(post(goodBody, { origin: 'https://evil.example' })),
      403,
      'ERR_ORIGIN_FORBIDDEN',
    )
  })

  it('answers CORS preflights only for listed origins', async () => {
    const { handler } = setup({ allowedOrigins: ['https://shop.example.net'] })
    const preflight = (origin: string) =>
      new Request(URL_, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type, x-csrf-token',
        },
      })
    const ok = await handler(preflight('https://shop.example.net'))
    expect(ok.status).toBe(204)
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://shop.example.net')
    expect(ok.headers.get('access-control-allow-methods')).toBe('POST')
    expect(ok.headers.get('access-control-allow-headers')).toBe('content-type, x-csrf-token')
    expect(ok.headers.get('access-control-allow-credentials')).toBe('true')
    expect(ok.headers.get('cache-control')).toBe('no-store')
    expect(ok.headers.get('vary')).toContain('Origin')
    const denied = await handler(preflight('https://evil.example'))
    expect(denied.headers.get('access-control-allow-origin')).toBeNull()
    expect(denied.headers.get('access-control-allow-credentials')).toBeNull()
    expect(denied.headers.get('access-control-allow-methods')).toBeNull()
    await expectError(denied, 403, 'ERR_ORIGIN_FORBIDDEN')
    // Same-origin callers never preflight; a preflight claiming the own origin is not answered.
    await expectError(await handler(preflight(ORIGIN)), 403, 'ERR_ORIGIN_FORBIDDEN')
  })

  it('400 for invalid JSON, non-objects and invalid UTF-8', async () => {
    const { handler, authorize } = setup()
    for (const body of [
      '{not json',
      '',
      '[1,2]',
      'null',
      '"str"',
      new Uint8Array([0x7b, 0xff, 0x7d]),
    ]) {
      await expectError(await handler(post(body)), 400, 'ERR_INVALID_JSON')
    }
    expect(authorize).not.toHaveBeenCalled()
  })

  it('401 when authorize returns null or undefined; never mints', async () => {
    for (const result of [null, undefined]) {
      const { handler, grantExternalAuth } = setup({ authorize: async () => result })
      await expectError(await handler(post(goodBody)), 401, 'ERR_UNAUTHORIZED')
      expect(grantExternalAuth).not.toHaveBeenCalled()
    }
  })

  it('500 ERR_AUTHORIZE without detail when authorize throws or returns no username', async () => {
    const secret = 'db password hunter2'
    const cases: ExternalAuthHandlerOptions['authorize'][] = [
      async () => {
        throw new Error(secret)
      },
      () => {
        throw new Error(secret)
      },
      async () => ({ username: '' }),
      async () => ({}) as { username: string },
    ]
    for (const authorize of cases) {
      const { handler, grantExternalAuth, onError } = setup({ authorize })
      const response = await handler(post(goodBody))
      const text = await response.clone().text()
      expect(text).not.toContain('hunter2')
      await expectError(response, 500, 'ERR_AUTHORIZE')
      expect(grantExternalAuth).not.toHaveBeenCalled()
      expect(onError).toHaveBeenCalledTimes(1)
      expect(onError.mock.calls[0]?.[1]).toMatchObject({ code: 'ERR_AUTHORIZE', status: 500 })
    }
  })

  it('maps management failures to 502 / 503 without detail', async () => {
    const cases = [
      [new MfaError('ERR_API_KEY_INVALID', 'key', { status: 401 }), 502, 'ERR_GRANT_FAILED'],
      [new MfaError('ERR_API_KEY_SCOPE', 'scope', { status: 403 }), 502, 'ERR_GRANT_FAILED'],
      [new MfaError('ERR_BAD_REQUEST', 'bad', { status: 400 }), 502, 'ERR_GRANT_FAILED'],
      [
        new MfaError('ERR_LOGINID_UNAVAILABLE', 'down', { status: 503 }),
        503,
        'ERR_LOGINID_UNAVAILABLE',
      ],
      [new MfaError('ERR_NETWORK', 'net'), 503, 'ERR_LOGINID_UNAVAILABLE'],
      [new MfaError('ERR_TIMEOUT', 'slow'), 503, 'ERR_LOGINID_UNAVAILABLE'],
      [new MfaError('ERR_INVALID_ARGUMENT', 'username'), 500, 'ERR_AUTHORIZE'],
      [new Error('boom'), 500, 'ERR_INTERNAL'],
    ] as const
    for (const [error, status, code] of cases) {
      const { handler, onError } = setup({
        management: {
          grantExternalAuth: async () => {
            throw error
          },
        },
      })
      const response = await handler(post(goodBody))
      await expectError(response, status, code)
      expect(onError).toHaveBeenCalledWith(error, expect.objectContaining({ code, status }))
    }
  })

  it('a throwing onError does not change the answer', async () => {
    const { handler } = setup({
      authorize: async () => {
        throw new Error('x')
      },
      onError: () => {
        throw new Error('logger down')
      },
    })
    await expectError(await handler(post(goodBody)), 500, 'ERR_AUTHORIZE')
  })

  it('validates its options at creation', () => {
    const management = { grantExternalAuth: async () => ({ token: 't' }) }
    const authorize = async () => null
    expect(() => createExternalAuthHandler({ management, authorize: 'x' as never })).toThrow(
      MfaError,
    )
    expect(() => createExternalAuthHandler({ management: {} as never, authorize })).toThrow(
      MfaError,
    )
    expect(() =>
      createExternalAuthHandler({ management, authorize, allowedOrigins: ['not an origin'] }),
    ).toThrow(MfaError)
    expect(() =>
      createExternalAuthHandler({ management, authorize, allowedOrigins: ['*'] }),
    ).toThrow(MfaError)
  })
})
