// Tests with teeth for createExternalAuthHandler (issue 16, second pass): the Origin check's
// edge cases. What a caller relies on: which Origins get a token (and CORS headers), and that a
// refused Origin gets 403 ERR_ORIGIN_FORBIDDEN before `authorize` or LoginID is ever called.
import { describe, expect, it, vi } from 'vitest'
import { createExternalAuthHandler } from './create-external-auth-handler.js'
import type { ExternalAuthHandlerOptions } from './create-external-auth-handler.js'

const URL_ = 'https://app.example.com/api/loginid/grant'
const FRONT = 'https://front.example.com'

function setup(extra: Partial<ExternalAuthHandlerOptions> = {}) {
  const grantExternalAuth = vi.fn(async (_username: string) => ({ token: 'grant-token' }))
  const authorize = vi.fn(() => ({ username: 'alice' }))
  const handler = createExternalAuthHandler({
    management: { grantExternalAuth },
    authorize,
    ...extra,
  })
  return { handler, grantExternalAuth, authorize }
}

function post(origin: string | undefined, url = URL_): Request {
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (origin !== undefined) headers.origin = origin
  return new Request(url, { method: 'POST', headers, body: '{"proof":"p"}' })
}

async function expectRefused(
  setupResult: ReturnType<typeof setup>,
  origin: string | undefined,
  url?: string,
): Promise<void> {
  const response = await setupResult.handler(post(origin, url))
  expect(response.status, String(origin)).toBe(403)
  expect(await response.json()).toEqual({ error: 'ERR_ORIGIN_FORBIDDEN' })
  expect(response.headers.get('access-control-allow-origin')).toBeNull()
  expect(response.headers.get('access-control-allow-credentials')).toBeNull()
  expect(setupResult.authorize).not.toHaveBeenCalled()
  expect(setupResult.grantExternalAuth).not.toHaveBeenCalled()
}

async function expectSameOrigin(response: Response): Promise<void> {
  expect(response.status).toBe(200)
  expect(await response.json()).toEqual({ token: 'grant-token' })
  expect(response.headers.get('access-control-allow-origin')).toBeNull()
  expect(response.headers.get('vary')).toContain('Origin')
}

describe('createExternalAuthHandler: Origin edge cases', () => {
  it('the exact request origin is same-origin: a token, no CORS headers', async () => {
    const s = setup({ allowedOrigins: [FRONT] })
    await expectSameOrigin(await s.handler(post('https://app.example.com')))
    expect(s.grantExternalAuth).toHaveBeenCalledWith('alice', expect.anything())
  })

  it('one trailing slash on the same origin is still same-origin', async () => {
    const s = setup()
    await expectSameOrigin(await s.handler(post('https://app.example.com/')))
    expect(s.grantExternalAuth).toHaveBeenCalledTimes(1)
  })

  it('a trailing slash on an allowed origin is that origin, with CORS', async () => {
    const s = setup({ allowedOrigins: [FRONT] })
    const response = await s.handler(post(`${FRONT}/`))
    expect(response.status).toBe(200)
    expect(response.headers.get('access-control-allow-origin')).toBe(FRONT)
  })

  it('refuses the opaque origin `null`, even with allowMissingOrigin', async () => {
    await expectRefused(setup(), 'null')
    await expectRefused(setup({ allowMissingOrigin: true }), 'null')
  })

  it('refuses a missing Origin unless allowMissingOrigin (then same-origin, no CORS)', async () => {
    await expectRefused(setup(), undefined)
    const s = setup({ allowMissingOrigin: true, allowedOrigins: [FRONT] })
    await expectSameOrigin(await s.handler(post(undefined)))
  })

  it('refuses userinfo, a path, a query or a fragment around the right origin', async () => {
    for (const origin of [
      'https://user@app.example.com',
      'https://user:pw@app.example.com',
      'https://app.example.com/api',
      'https://app.example.com?x=1',
      'https://app.example.com#x',
      'https://app.example.com//',
      `https://user@${FRONT.slice('https://'.length)}`,
    ]) {
      await expectRefused(setup({ allowedOrigins: [FRONT] }), origin)
    }
  })

  it('refuses another port, the explicit default port, and another scheme', async () => {
    for (const origin of [
      'https://app.example.com:8443',
      'https://app.example.com:443',
      'http://app.example.com',
      'wss://app.example.com',
      'https://front.example.com:444',
      'http://front.example.com',
    ]) {
      await expectRefused(setup({ allowedOrigins: [FRONT] }), origin)
    }
  })

  it('an explicit port is its own origin, same-origin or allowed', async () => {
    const s = setup({ allowedOrigins: ['http://localhost:5173'] })
    await expectSameOrigin(
      await s.handler(post('http://localhost:3000', 'http://localhost:3000/g')),
    )
    const cross = await s.handler(post('http://localhost:5173', 'http://localhost:3000/g'))
    expect(cross.status).toBe(200)
    expect(cross.headers.get('access-control-allow-origin')).toBe('http://localhost:5173')
    await expectRefused(
      setup({ allowedOrigins: ['http://localhost:5173'] }),
      'http://localhost:5174',
      'http://localhost:3000/g',
    )
  })

  it('compares exactly: an upper-case Origin is not the lower-case origin', async () => {
    await expectRefused(setup({ allowedOrigins: [FRONT] }), 'HTTPS://APP.EXAMPLE.COM')
    await expectRefused(setup({ allowedOrigins: [FRONT] }), 'https://FRONT.example.com')
  })

  it('refuses suffix, prefix and sub-domains of the allowed and own origins', async () => {
    for (const origin of [
      'https://app.example.com.evil.test',
      'https://evilapp.example.com',
      'https://sub.app.example.com',
      'https://front.example.com.evil.test',
      'https://evil-front.example.com',
      'https://sub.front.example.com',
      'https://example.com',
    ]) {
      await expectRefused(setup({ allowedOrigins: [FRONT] }), origin)
    }
  })

  it('refuses an Origin that is not a URL', async () => {
    for (const origin of [
      'app.example.com',
      'not a url',
      '',
      '*',
      'https://',
      '//app.example.com',
    ]) {
      await expectRefused(setup({ allowedOrigins: [FRONT] }), origin)
    }
  })

  it('an allowed cross origin gets a token with CORS; the same origin listed as allowed gets none', async () => {
    const s = setup({ allowedOrigins: [FRONT, 'https://app.example.com'] })
    const cross = await s.handler(post(FRONT))
    expect(cross.status).toBe(200)
    expect(await cross.json()).toEqual({ token: 'grant-token' })
    expect(cross.headers.get('access-control-allow-origin')).toBe(FRONT)
    expect(cross.headers.get('access-control-allow-credentials')).toBe('true')
    expect(cross.headers.get('vary')).toContain('Origin')
    await expectSameOrigin(await s.handler(post('https://app.example.com')))
  })

  it('an allowed origin behind a proxy: the request URL is internal, the public origin allowed', async () => {
    const s = setup({ allowedOrigins: ['https://app.example.com/'] })
    const response = await s.handler(post('https://app.example.com', 'http://localhost:3000/g'))
    expect(response.status).toBe(200)
    expect(response.headers.get('access-control-allow-origin')).toBe('https://app.example.com')
    await expectRefused(
      setup({ allowedOrigins: [FRONT] }),
      'https://app.example.com',
      'http://localhost:3000/g',
    )
  })

  it('a preflight: 204 with CORS for an allowed origin, 403 for a refused one', async () => {
    const preflight = (origin: string) =>
      new Request(URL_, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST' },
      })
    const s = setup({ allowedOrigins: [FRONT] })
    const ok = await s.handler(preflight(FRONT))
    expect(ok.status).toBe(204)
    expect(ok.headers.get('access-control-allow-origin')).toBe(FRONT)
    expect(ok.headers.get('access-control-allow-methods')).toBe('POST')
    for (const origin of [
      `${FRONT}.evil.test`,
      'null',
      'https://app.example.com',
      FRONT.toUpperCase(),
    ]) {
      const refused = await s.handler(preflight(origin))
      expect(refused.status, origin).toBe(403)
      expect(refused.headers.get('access-control-allow-origin')).toBeNull()
    }
  })

  it('refuses allowedOrigins entries that are not http(s) URLs, at creation', () => {
    for (const entry of ['*', 'front.example.com', 'ftp://front.example.com', 'null', 42]) {
      expect(() => setup({ allowedOrigins: [entry as string] }), String(entry)).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }),
      )
    }
  })
})
