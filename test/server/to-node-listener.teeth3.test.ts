// Tests with teeth for toNodeListener (issue 16, third pass): the refusals it answers itself
// (405, 400, its own 500) and the grant route served straight from the Node request. What a
// Node or Express app relies on: the status and error code, headers that keep an error answer
// out of caches and off a reused connection, nothing of the failed handler riding along, the
// URL built from the configured origin, and a client that leaves cancelling the LoginID call.
import { createServer, request as httpRequest } from 'node:http'
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http'
import { connect } from 'node:net'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { createExternalAuthHandler, toNodeListener } from '../../src/server.js'
import type { FetchHandler, NodeListener } from '../../src/server.js'
import { MfaError } from '../../src/shared/errors.js'

const servers: Server[] = []
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map((s) => {
      s.closeAllConnections()
      return new Promise<void>((resolve) => s.close(() => resolve()))
    }),
  )
})

async function listen(
  listener: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ base: string; port: number }> {
  const server = createServer(listener)
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return { base: `http://127.0.0.1:${port}`, port }
}

const serve = (listener: NodeListener) =>
  listen((req, res) => {
    void listener(req, res)
  })

interface Raw {
  status: number
  headers: Record<string, string>
  body: string
}

/** Send `head` (request line and headers, CRLF-separated, no final blank line) as raw bytes. */
function raw(port: number, head: string, body = ''): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    let data = ''
    socket.setEncoding('latin1')
    socket.on('data', (chunk: string) => (data += chunk))
    socket.on('error', reject)
    socket.on('close', () => {
      const [top = '', ...rest] = data.split('\r\n\r\n')
      const [statusLine = '', ...lines] = top.split('\r\n')
      const headers: Record<string, string> = {}
      for (const line of lines) {
        const colon = line.indexOf(':')
        headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim()
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body: rest.join('\r\n\r\n') })
    })
    socket.end(`${head}\r\nConnection: close\r\n\r\n${body}`)
  })
}

/** A request through node:http; resolves with the answer read whole. */
function send(
  url: string,
  options: { method?: string; headers?: Record<string, string | string[]>; body?: string } = {},
): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? 'GET', headers: options.headers })
    req.on('response', (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
    })
    req.on('error', reject)
    req.end(options.body)
  })
}

/** The error answer toNodeListener writes itself: JSON, never cached, not sniffed, closed. */
function expectOwnError(answer: Raw, status: number, code: string): void {
  expect(answer.status).toBe(status)
  expect(JSON.parse(answer.body)).toEqual({ error: code })
  expect(answer.headers['content-type']).toBe('application/json')
  expect(answer.headers['cache-control']).toBe('no-store')
  expect(answer.headers['x-content-type-options']).toBe('nosniff')
  expect(answer.headers['connection']).toBe('close')
  expect(answer.headers['content-length']).toBe(String(Buffer.byteLength(answer.body)))
}

function grantHandler(
  grantExternalAuth: (
    username: string,
    options?: { signal?: AbortSignal },
  ) => Promise<{ token: string }>,
  seen: Request[] = [],
) {
  return createExternalAuthHandler({
    management: { grantExternalAuth },
    authorize: (request) => {
      seen.push(request)
      return request.headers.get('cookie') === 'sid=ok' ? { username: 'alice' } : null
    },
  })
}

const mint = async (username: string) => ({ token: `grant-for-${username}` })
const echo: FetchHandler = async (request) => new Response(request.url, { status: 200 })

describe('toNodeListener: what it refuses itself', () => {
  it('TRACE gets 405 ERR_METHOD_NOT_ALLOWED; Allow: POST only for the grant route', async () => {
    const route = await serve(toNodeListener(grantHandler(mint)))
    const answer = await raw(route.port, 'TRACE /grant HTTP/1.1\r\nHost: 127.0.0.1')
    expectOwnError(answer, 405, 'ERR_METHOD_NOT_ALLOWED')
    expect(answer.headers['allow']).toBe('POST')

    const other = await serve(toNodeListener(echo))
    const plain = await raw(other.port, 'TRACE /x HTTP/1.1\r\nHost: 127.0.0.1')
    expectOwnError(plain, 405, 'ERR_METHOD_NOT_ALLOWED')
    expect(plain.headers['allow']).toBeUndefined()
  })

  it('a Host that is not a host gets 400 ERR_BAD_REQUEST, and the handler never runs', async () => {
    let ran = false
    const { port } = await serve(
      toNodeListener(async () => {
        ran = true
        return new Response('ran')
      }),
    )
    const answer = await raw(port, 'GET /x HTTP/1.1\r\nHost: 127.0.0.1:99999')
    expectOwnError(answer, 400, 'ERR_BAD_REQUEST')
    expect(ran).toBe(false)
  })

  it("drops the failed handler's headers (a cookie) from its 500", async () => {
    const { base } = await listen((req, res) => {
      res.setHeader('Set-Cookie', 'session=leaked')
      res.setHeader('X-Powered-By', 'app')
      void toNodeListener(async () => {
        throw new Error('boom')
      })(req, res)
    })
    const answer = await send(`${base}/`)
    expect(answer.status).toBe(500)
    expect(JSON.parse(answer.body)).toEqual({ error: 'ERR_INTERNAL' })
    expect(answer.headers['set-cookie']).toBeUndefined()
    expect(answer.headers['x-powered-by']).toBeUndefined()
    expect(answer.headers['x-content-type-options']).toBe('nosniff')
  })

  it('a handler that fails after the headers were sent: the connection is cut, not a 500', async () => {
    const { base } = await listen((req, res) => {
      res.writeHead(200, { 'Content-Length': '10' })
      res.write('half')
      void toNodeListener(async () => {
        throw new Error('late')
      })(req, res)
    })
    const outcome = await new Promise<string>((resolve) => {
      const req = httpRequest(`${base}/`, (res) => {
        res.on('data', () => undefined)
        res.on('end', () => resolve(`complete ${res.statusCode}`))
        res.on('error', () => resolve('cut'))
        res.on('aborted', () => resolve('cut'))
      })
      req.on('error', () => resolve('cut'))
      req.end()
    })
    expect(outcome).toBe('cut')
  })
})

describe('toNodeListener: publicOrigin', () => {
  it('builds the URL from publicOrigin and the path, whatever the Host says', async () => {
    const { port } = await serve(toNodeListener(echo, { publicOrigin: 'https://app.example.com/' }))
    const answer = await raw(port, 'GET /api/x?y=1 HTTP/1.1\r\nHost: evil.example')
    expect(answer.status).toBe(200)
    expect(answer.body).toBe('https://app.example.com/api/x?y=1')
    // Not even a Host is needed.
    const hostless = await raw(port, 'GET /p HTTP/1.0')
    expect(hostless.body).toBe('https://app.example.com/p')
  })

  it('refuses a publicOrigin with a path, or that is not a URL, when created', () => {
    for (const publicOrigin of ['https://app.example.com/api', 'not a url', 42]) {
      let thrown: unknown
      try {
        toNodeListener(echo, { publicOrigin: publicOrigin as string })
      } catch (error) {
        thrown = error
      }
      expect(thrown).toBeInstanceOf(MfaError)
      expect((thrown as MfaError).code).toBe('ERR_INVALID_ARGUMENT')
    }
  })

  it('the grant route compares Origin with publicOrigin, not with Host', async () => {
    const { base } = await serve(
      toNodeListener(grantHandler(mint), { publicOrigin: 'https://app.example.com' }),
    )
    const post = (origin: string) =>
      send(`${base}/grant`, {
        method: 'POST',
        headers: { origin, 'content-type': 'application/json', cookie: 'sid=ok' },
        body: '{}',
      })
    expect((await post('https://app.example.com')).status).toBe(200)
    expect((await post(base)).status).toBe(403)
  })
})

describe('toNodeListener: the grant route from the Node request', () => {
  it('answers with Content-Length and keeps the connection when the body was read', async () => {
    const seen: Request[] = []
    const { base } = await serve(toNodeListener(grantHandler(mint, seen)))
    const answer = await send(`${base}/grant?x=1`, {
      method: 'POST',
      headers: { origin: base, 'content-type': 'application/json', cookie: 'sid=ok' },
      body: '{"proof":"p"}',
    })
    expect(answer.status).toBe(200)
    expect(JSON.parse(answer.body)).toEqual({ token: 'grant-for-alice' })
    expect(answer.headers['content-length']).toBe(String(Buffer.byteLength(answer.body)))
    expect(answer.headers['connection']).not.toBe('close')
    // authorize gets a Request with the URL, method and headers (its body was read already).
    expect(seen[0]?.url).toBe(`${base}/grant?x=1`)
    expect(seen[0]?.method).toBe('POST')
    expect(seen[0]?.headers.get('cookie')).toBe('sid=ok')
  })

  it('an oversized declared body is refused unread, with Connection: close', async () => {
    const { base } = await serve(toNodeListener(grantHandler(mint)))
    // A keep-alive client that declares 20,000 bytes and sends two: the connection cannot be
    // reused, and the answer must say so.
    const answer = await new Promise<{
      status: number
      headers: IncomingHttpHeaders
      body: string
    }>((resolve, reject) => {
      const req = httpRequest(`${base}/grant`, {
        method: 'POST',
        headers: {
          origin: base,
          'content-type': 'application/json',
          'content-length': '20000',
          connection: 'keep-alive',
        },
      })
      req.on('response', (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => (body += chunk))
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body })
          req.destroy()
        })
      })
      req.on('error', reject)
      req.write('{}')
    })
    expect(answer.status).toBe(413)
    expect(JSON.parse(answer.body)).toEqual({ error: 'ERR_PAYLOAD_TOO_LARGE' })
    expect(answer.headers['connection']).toBe('close')
  })

  it('HEAD gets the status and headers of the refusal, no body', async () => {
    const { base } = await serve(toNodeListener(grantHandler(mint)))
    const answer = await send(`${base}/grant`, { method: 'HEAD', headers: { origin: base } })
    expect(answer.status).toBe(405)
    expect(answer.headers['allow']).toBe('POST')
    expect(Number(answer.headers['content-length'])).toBeGreaterThan(0)
    expect(answer.body).toBe('')
  })

  it('cancels the LoginID call when the client goes away before the answer', async () => {
    let entered!: () => void
    const started = new Promise<void>((resolve) => (entered = resolve))
    let cancelled!: (reason: unknown) => void
    const aborted = new Promise<unknown>((resolve) => (cancelled = resolve))
    const { base } = await serve(
      toNodeListener(
        grantHandler(
          (_username, options) =>
            new Promise((_resolve, reject) => {
              options?.signal?.addEventListener('abort', () => {
                cancelled(options.signal?.reason)
                reject(new MfaError('ERR_ABORTED', 'aborted'))
              })
              entered()
            }),
        ),
      ),
    )
    const req = httpRequest(`${base}/grant`, {
      method: 'POST',
      headers: { origin: base, 'content-type': 'application/json', cookie: 'sid=ok' },
    })
    req.on('error', () => undefined)
    req.end('{}')
    await started
    req.destroy()
    await aborted
  })

  it('does not cancel the LoginID call of a client that stays', async () => {
    let signal: AbortSignal | undefined
    const { base } = await serve(
      toNodeListener(
        grantHandler(async (username, options) => {
          signal = options?.signal
          await new Promise((resolve) => setTimeout(resolve, 20))
          return { token: `grant-for-${username}` }
        }),
      ),
    )
    const answer = await send(`${base}/grant`, {
      method: 'POST',
      headers: { origin: base, 'content-type': 'application/json', cookie: 'sid=ok' },
      body: '{}',
    })
    expect(answer.status).toBe(200)
    expect(signal).toBeDefined()
    expect(signal?.aborted).toBe(false)
  })
})

describe('toNodeListener: request headers for any Fetch handler', () => {
  it('passes repeated request headers as separate values', async () => {
    let cookies: string[] = []
    const { base } = await serve(
      toNodeListener(async (request) => {
        cookies = request.headers.getSetCookie()
        return new Response('ok')
      }),
    )
    await send(`${base}/`, { headers: { 'set-cookie': ['a=1', 'b=2'] } })
    expect(cookies).toEqual(['a=1', 'b=2'])
  })
})

describe('toNodeListener: the protocol and the settled promise', () => {
  /** Serve with the socket seen as TLS (as behind node:https) and Express's protocol, if any. */
  const overTls = (listener: NodeListener, protocol?: string) =>
    listen((req, res) => {
      Object.defineProperty(req, 'socket', { value: { encrypted: true } })
      if (protocol !== undefined) Object.assign(req, { protocol })
      void listener(req, res)
    })

  it("a TLS socket makes the URL https, unless Express's req.protocol says otherwise", async () => {
    const listener = toNodeListener(echo)
    const tls = await overTls(listener)
    expect((await send(`${tls.base}/p`)).body).toBe(`https://127.0.0.1:${tls.port}/p`)
    const proxied = await overTls(listener, 'http')
    expect((await send(`${proxied.base}/p`)).body).toBe(`http://127.0.0.1:${proxied.port}/p`)
  })

  it('a handler that cancels the body it did not want still succeeds (next never called)', async () => {
    let next = 0
    const listener = toNodeListener(async (request) => {
      await request.body?.cancel()
      return new Response('ignored the upload', { status: 202 })
    })
    const { base } = await listen((req, res) => {
      void listener(req, res, () => next++)
    })
    const answer = await send(`${base}/p`, { method: 'POST', body: 'x'.repeat(100_000) })
    expect(answer.status).toBe(202)
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(next).toBe(0)
  })

  it('takes null options like none (a JavaScript caller)', async () => {
    const { base } = await serve(toNodeListener(echo, null as never))
    expect((await send(`${base}/p`)).body).toBe(`${base}/p`)
  })

  it('settles its promise once the answer is written, and never calls next on success', async () => {
    let next = 0
    const settled: Promise<void>[] = []
    const listener = toNodeListener(echo)
    const { base } = await listen((req, res) => {
      settled.push(listener(req, res, () => next++))
    })
    expect((await send(`${base}/p`)).status).toBe(200)
    expect((await send(`${base}/p`, { method: 'POST', body: 'x' })).status).toBe(200)
    await Promise.all(settled)
    expect(next).toBe(0)
  })

  it('answers a CORS preflight for an allowed origin: 204, no body, no Content-Length', async () => {
    const handler = createExternalAuthHandler({
      management: { grantExternalAuth: mint },
      authorize: () => ({ username: 'alice' }),
      allowedOrigins: ['https://front.example'],
    })
    const { base } = await serve(toNodeListener(handler))
    const answer = await send(`${base}/grant`, {
      method: 'OPTIONS',
      headers: { origin: 'https://front.example', 'access-control-request-method': 'POST' },
    })
    expect(answer.status).toBe(204)
    expect(answer.headers['access-control-allow-origin']).toBe('https://front.example')
    expect(answer.headers['content-length']).toBeUndefined()
    expect(answer.body).toBe('')
  })
})
