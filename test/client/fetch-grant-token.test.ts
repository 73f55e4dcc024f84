import { http, HttpResponse } from 'msw'
import { setupServer } from 'msw/node'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { fetchGrantToken } from '../../src/index.js'
import type { TokenRequestContext } from '../../src/index.js'

const URL_ = 'https://app.example.test/api/loginid/grant'
const server = setupServer()
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }))
afterEach(() => server.resetHandlers())
afterAll(() => server.close())

const ctx = (extra: Partial<TokenRequestContext> = {}): TokenRequestContext => ({
  username: 'ada@example.com',
  flow: 'signIn',
  reason: 'newDevice',
  session: 'sess-1',
  remainingFactors: [],
  attempt: 1,
  signal: new AbortController().signal,
  proof: { code: '42' },
  ...extra,
})

describe('fetchGrantToken', () => {
  it('POSTs proof, username and session as JSON with credentials and headers', async () => {
    const inits: RequestInit[] = []
    let received: unknown
    server.use(
      http.post(URL_, async ({ request }) => {
        received = { body: await request.json(), csrf: request.headers.get('x-csrf') }
        return HttpResponse.json({ token: 'grant-1' })
      }),
    )
    const provider = fetchGrantToken(URL_, {
      headers: { 'x-csrf': 'c1' },
      fetch: (input, init) => (inits.push(init ?? {}), fetch(input, init)),
    })
    await expect(provider(ctx())).resolves.toBe('grant-1')
    expect(received).toEqual({
      body: { proof: { code: '42' }, username: 'ada@example.com', session: 'sess-1' },
      csrf: 'c1',
    })
    expect(inits[0]?.credentials).toBe('include')
  })

  it.each([
    [
      'a 401',
      () => HttpResponse.json({ msg: 'login first', msgCode: 'unauthenticated' }, { status: 401 }),
      401,
    ],
    ['a 200 without a token', () => HttpResponse.json({ ok: true }), 200],
    [
      'an HTML page',
      () =>
        new HttpResponse('<html></html>', {
          status: 502,
          headers: { 'content-type': 'text/html' },
        }),
      502,
    ],
  ])('maps %s to ERR_TOKEN_PROVIDER with the status', async (_name, reply, status) => {
    server.use(http.post(URL_, reply))
    await expect(fetchGrantToken(URL_)(ctx())).rejects.toMatchObject({
      code: 'ERR_TOKEN_PROVIDER',
      status,
      path: '/api/loginid/grant',
    })
  })

  it('keeps the error code of a loginid-mfa-flow/server route as msgCode', async () => {
    server.use(
      http.post(URL_, () => HttpResponse.json({ error: 'ERR_UNAUTHORIZED' }, { status: 401 })),
    )
    await expect(fetchGrantToken(URL_)(ctx())).rejects.toMatchObject({
      code: 'ERR_TOKEN_PROVIDER',
      status: 401,
      msgCode: 'ERR_UNAUTHORIZED',
    })
  })

  it('maps a network failure to ERR_TOKEN_PROVIDER and an abort to ERR_ABORTED', async () => {
    server.use(http.post(URL_, () => HttpResponse.error()))
    await expect(fetchGrantToken(URL_)(ctx())).rejects.toMatchObject({ code: 'ERR_TOKEN_PROVIDER' })
    await expect(fetchGrantToken(URL_)(ctx({ signal: AbortSignal.abort() }))).rejects.toMatchObject(
      {
        code: 'ERR_ABORTED',
      },
    )
  })

  it('rejects bad arguments at once', () => {
    expect(() => fetchGrantToken('')).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }),
    )
    expect(() => fetchGrantToken(URL_, { timeoutMs: -1 })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }),
    )
  })
})
