// A hostile or broken LoginID (issue 9 §4): echoed secrets, huge fields, cross-origin redirects,
// a fetch that ignores its signal, a body that never ends, a session that is not a header value,
// and tokens that are not strings. Each of these failed (or leaked) before the client used its own
// fetch-based request module.
import { createServer } from 'node:http'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { createMfaClient, fetchGrantToken, runMfa } from '../../src/index.js'
import type { MfaClient, MfaEvent, MfaSessionResult } from '../../src/index.js'
import { ApiError } from './helpers.js'

const BASE = 'https://app1.api.loginid.io'
const SESSION = 'sess_7f3a9c1d2e4b6a8c0d1e2f3a4b5c6d7e8f9a0b1c'
const GRANT =
  'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhZGEiLCJleHAiOjE3MDAwMDAwMDB9.c2lnbmF0dXJlLXNpZ25hdHVyZQ'
const ACCESS = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhZGEifQ.c2ln'

const json = (status: number, body: unknown, headers: Record<string, string> = {}): Response =>
  new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  })

const next = (session = SESSION) => ({
  flow: 'signIn',
  session,
  msg: 'more',
  msgCode: 'more',
  next: [{ action: { name: 'external', label: 'External' } }],
})

/** A fake LoginID: `begin` offers `external`; `verify` answers third-party/verify. */
function fakeLoginID(verify: (body: unknown) => Response | Promise<Response>): typeof fetch {
  return async (input, init) => {
    const url = new URL(String(input instanceof Request ? input.url : input))
    const body: unknown = JSON.parse(String(init?.body ?? '{}'))
    if (url.pathname === '/fido2/v2/mfa/begin') return json(200, next())
    if (url.pathname === '/fido2/v2/mfa/third-party/verify') return verify(body)
    return json(404, { msg: 'no route', msgCode: 'not_found' })
  }
}

/** A LoginIDMfa-shaped beginFlow that offers `external`. */
const offersExternal = async (): Promise<MfaSessionResult> => ({
  isComplete: false,
  session: SESSION,
  nextAction: 'external',
  remainingFactors: [{ type: 'external', label: 'External' }],
})

const run = (client: MfaClient, events: MfaEvent[] = []) =>
  runMfa({
    client,
    username: 'ada@example.com',
    externalAuthenticator: () => true,
    tokenProvider: () => GRANT,
    onEvent: (e) => events.push(e),
  })

/** Every string reachable from an error: message, stack, JSON, and its whole cause chain. */
function everything(error: unknown): string {
  const parts: string[] = []
  for (let e = error; e !== undefined && e !== null; e = (e as { cause?: unknown }).cause) {
    parts.push(String(e), String((e as Error).stack), JSON.stringify(e))
    if (typeof e === 'object') parts.push(...Object.values(e).map((v) => String(v)))
  }
  return parts.join('\n')
}

describe('LoginID echoes what it was sent', () => {
  it('keeps the grant token and the session out of the error and the error event', async () => {
    const events: MfaEvent[] = []
    const client = createMfaClient({
      baseUrl: BASE,
      fetch: fakeLoginID(() =>
        json(400, { msg: `bad token ${GRANT} for session ${SESSION}`, msgCode: `bad_${SESSION}` }),
      ),
    })
    const err = await run(client, events).catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'ERR_BAD_REQUEST', status: 400 })
    const error = events.find((e) => e.type === 'error')
    expect(error).toBeDefined()
    for (const text of [everything(err), everything((error as { error: unknown }).error)]) {
      expect(text).not.toContain(GRANT)
      expect(text).not.toContain(SESSION)
    }
    expect((err as Error).message).toContain('[REDACTED]')
  })

  it('bounds a huge msg and msgCode', async () => {
    const client = createMfaClient({
      baseUrl: BASE,
      fetch: fakeLoginID(() =>
        json(400, { msg: 'x '.repeat(100_000), msgCode: 'y'.repeat(200_000) }),
      ),
    })
    const err = (await run(client).catch((e: unknown) => e)) as Error & { msgCode: string }
    expect(err).toMatchObject({ code: 'ERR_BAD_REQUEST' })
    expect(err.message.length).toBeLessThan(600)
    expect(err.msgCode.length).toBeLessThanOrEqual(201)
  })

  it("redacts the session a LoginIDMfa's ApiError echoes", async () => {
    const client: MfaClient = {
      beginFlow: offersExternal,
      performAction: () =>
        Promise.reject(
          new ApiError(
            `${BASE}/fido2/v2/mfa/third-party/verify`,
            400,
            'Bad Request',
            { msg: `session ${SESSION} rejected`, msgCode: 'bad' },
            { method: 'POST', url: BASE, headers: { Authorization: SESSION } },
          ),
        ),
    }
    const err = await run(client).catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'ERR_BAD_REQUEST' })
    expect(everything(err)).not.toContain(SESSION)
  })
})

describe('redirects', () => {
  const servers: Server[] = []
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))))
  })
  const listen = async (handler: Parameters<typeof createServer>[1]): Promise<string> => {
    const server = createServer(handler)
    servers.push(server)
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  }

  it('refuses a 307 to another origin: the grant token is not re-posted there', async () => {
    const stolen: string[] = []
    const other = await listen((req, res) => {
      let body = ''
      req.on('data', (c: Buffer) => (body += String(c)))
      req.on('end', () => {
        stolen.push(body)
        res.setHeader('content-type', 'application/json')
        res.end(JSON.stringify({ accessToken: ACCESS }))
      })
    })
    const loginid = await listen((req, res) => {
      req.resume()
      req.on('end', () => {
        if (req.url === '/fido2/v2/mfa/begin') {
          res.setHeader('content-type', 'application/json')
          res.end(JSON.stringify(next()))
        } else {
          res.writeHead(307, { location: `${other}/steal` }).end()
        }
      })
    })
    const client = createMfaClient({ baseUrl: loginid.replace('127.0.0.1', 'localhost') })
    await expect(run(client)).rejects.toMatchObject({ code: 'ERR_BAD_RESPONSE' })
    expect(stolen).toEqual([])
  })

  it('refuses a redirect a fetch hands back', async () => {
    const client = createMfaClient({
      baseUrl: BASE,
      fetch: fakeLoginID(
        () => new Response(null, { status: 302, headers: { location: 'https://evil.example/' } }),
      ),
    })
    await expect(run(client)).rejects.toMatchObject({ code: 'ERR_BAD_RESPONSE' })
  })

  it('fetchGrantToken refuses a redirect too', async () => {
    const provider = fetchGrantToken('https://app.example/grant', {
      fetch: async () => new Response(null, { status: 307, headers: { location: '/x' } }),
    })
    await expect(
      provider({
        username: 'ada',
        flow: 'signIn',
        reason: 'newDevice',
        session: SESSION,
        remainingFactors: [],
        attempt: 1,
        signal: new AbortController().signal,
        proof: true,
      }),
    ).rejects.toMatchObject({ code: 'ERR_TOKEN_PROVIDER', cause: { code: 'ERR_BAD_RESPONSE' } })
  })
})

describe('timeouts hold whatever fetch does', () => {
  const neverSettles: typeof fetch = () => new Promise<Response>(() => undefined)

  it('beginFlow fails with ERR_TIMEOUT when fetch ignores its signal', async () => {
    const client = createMfaClient({ baseUrl: BASE, fetch: neverSettles, timeoutMs: 50 })
    await expect(client.beginFlow('ada')).rejects.toMatchObject({ code: 'ERR_TIMEOUT' })
  })

  it('a run without a deadline fails with ERR_TIMEOUT when the body never ends', async () => {
    const endless: typeof fetch = async () =>
      new Response(new ReadableStream({ start: (c) => c.enqueue(new TextEncoder().encode('{')) }), {
        headers: { 'content-type': 'application/json' },
      })
    const client = createMfaClient({ baseUrl: BASE, fetch: endless, timeoutMs: 50 })
    await expect(run(client)).rejects.toMatchObject({ code: 'ERR_TIMEOUT' })
  })

  it('an abort settles at once when fetch ignores the signal', async () => {
    const client = createMfaClient({ baseUrl: BASE, fetch: neverSettles })
    const controller = new AbortController()
    const pending = client.beginFlow('ada', { signal: controller.signal })
    controller.abort()
    await expect(pending).rejects.toMatchObject({ code: 'ERR_ABORTED' })
  })
})

describe('a session that is not a header value', () => {
  it('keeps it out of the cause chain and the error event', async () => {
    const bad = `${SESSION}\r\nX-Injected: 1`
    const events: MfaEvent[] = []
    // Like the platform fetch: building the request validates the headers, and the TypeError's
    // text holds the value.
    const client = createMfaClient({
      baseUrl: BASE,
      fetch: async (input, init) => {
        const request = new Request(input, init)
        if (new URL(request.url).pathname === '/fido2/v2/mfa/begin') return json(200, next(bad))
        return json(500, {})
      },
    })
    const err = await run(client, events).catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'ERR_NETWORK' })
    const error = events.find((e) => e.type === 'error') as { error: unknown }
    expect(everything(err)).not.toContain(SESSION)
    expect(everything(error.error)).not.toContain(SESSION)
  })
})

describe('tokens that are not strings', () => {
  it.each([[{ evil: true }], [12345], [['a']]])(
    'a completion with accessToken %j is ERR_BAD_RESPONSE (built-in client)',
    async (accessToken) => {
      const client = createMfaClient({
        baseUrl: BASE,
        fetch: fakeLoginID(() => json(200, { accessToken })),
      })
      await expect(run(client)).rejects.toMatchObject({ code: 'ERR_BAD_RESPONSE' })
    },
  )

  it.each([[{ evil: true }], [12345]])(
    'a completion with accessToken %j is ERR_BAD_RESPONSE (a LoginIDMfa-shaped client)',
    async (accessToken) => {
      const client: MfaClient = {
        beginFlow: offersExternal,
        performAction: async () =>
          ({ isComplete: true, remainingFactors: [], accessToken }) as never,
      }
      await expect(run(client)).rejects.toMatchObject({ code: 'ERR_BAD_RESPONSE' })
    },
  )
})
