// Attack matrix of the grant route (`createExternalAuthHandler` served with `toNodeListener`):
// each case names what a caller who controls the request line, headers and body tries, and what
// it gets. Real loopback HTTP, raw sockets where Fetch cannot say it; LoginID is the simulator
// over real HTTP, with a real management client.
import { createServer } from 'node:http'
import type { Server } from 'node:http'
import { connect } from 'node:net'
import type { AddressInfo } from 'node:net'
import { inspect } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createExternalAuthHandler,
  createManagementClient,
  toNodeListener,
} from '../../src/server.js'
import type { ExternalAuthHandlerOptions, NodeListenerOptions } from '../../src/server.js'
import { SIMULATOR_API_KEY, startLoginIDSimulator } from '../../src/testing.js'
import type { RunningLoginIDSimulator } from '../../src/testing.js'

const KEY_B64 = Buffer.from(`${SIMULATOR_API_KEY}:`).toString('base64')
let loginid: RunningLoginIDSimulator
const servers: Server[] = []
beforeAll(async () => {
  loginid = await startLoginIDSimulator({ users: [{ username: 'alice@example.com' }] })
})
afterAll(async () => {
  for (const server of servers) {
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
  await loginid.close()
})

interface Route {
  base: string
  port: number
  minted: string[]
  authorized: unknown[]
  errors: unknown[]
}

/** The grant route on loopback; `authorize` accepts `x-user: <name>` with proof "ok". */
async function route(
  extra: Partial<ExternalAuthHandlerOptions> = {},
  listener: NodeListenerOptions = {},
): Promise<Route> {
  const minted: string[] = []
  const authorized: unknown[] = []
  const errors: unknown[] = []
  const management = createManagementClient({ baseUrl: loginid.baseUrl, apiKey: SIMULATOR_API_KEY })
  const handler = createExternalAuthHandler({
    management: {
      grantExternalAuth: async (username, options) => {
        minted.push(username)
        return management.grantExternalAuth(username, options)
      },
    },
    authorize: (request, body) => {
      authorized.push(body)
      const user = request.headers.get('x-user')
      return body.proof === 'ok' && user ? { username: user } : null
    },
    onError: (error) => errors.push(error),
    ...extra,
  })
  const server = createServer(toNodeListener(handler, listener))
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return { base: `http://127.0.0.1:${port}`, port, minted, authorized, errors }
}

/** Send raw HTTP/1.1 text; resolve with the status, the headers text and the body. */
function raw(
  port: number,
  text: string,
  drip?: { chunks: string[]; everyMs: number },
): Promise<{ status: number; head: string; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(text)
      if (drip) {
        let i = 0
        const timer = setInterval(() => {
          if (i >= drip.chunks.length || socket.destroyed) return clearInterval(timer)
          socket.write(drip.chunks[i++]!)
        }, drip.everyMs)
        socket.once('close', () => clearInterval(timer))
      }
    })
    let out = ''
    socket.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8')
      // One answer is enough: close once its body is complete.
      const [head = '', body = ''] = out.split('\r\n\r\n')
      const length = /content-length: (\d+)/i.exec(head)?.[1]
      if (length !== undefined && Buffer.byteLength(body) >= Number(length)) socket.destroy()
    })
    socket.on('error', reject)
    socket.on('close', () => {
      const [head = '', body = ''] = out.split('\r\n\r\n')
      resolve({ status: Number(head.split(' ')[1]), head, body })
    })
  })
}

const post = (r: Route, body: string, headers: Record<string, string> = {}): Promise<Response> =>
  fetch(`${r.base}/api/grant`, {
    method: 'POST',
    headers: {
      origin: r.base,
      'content-type': 'application/json',
      'x-user': 'alice@example.com',
      ...headers,
    },
    body,
  })

describe('attack matrix: the grant route over toNodeListener', () => {
  it('held: the baseline mints for the authorized user, with no-store', async () => {
    const r = await route()
    const response = await post(r, '{"proof":"ok","username":"mallory"}')
    expect(response.status).toBe(200)
    expect(response.headers.get('cache-control')).toBe('no-store')
    expect(await response.json()).toHaveProperty('token')
    expect(r.minted).toEqual(['alice@example.com'])
  })

  it('absolute-form target with its own origin (POST https://evil.example/api): 403, nothing minted', async () => {
    const r = await route()
    const body = '{"proof":"ok"}'
    const answer = await raw(
      r.port,
      `POST https://evil.example/api HTTP/1.1\r\nHost: 127.0.0.1:${r.port}\r\nOrigin: https://evil.example\r\nX-User: alice@example.com\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
    )
    expect(answer.status).toBe(403)
    expect(r.minted).toEqual([])
  })

  it('a //evil.example path with Origin http://evil.example: 403, nothing minted', async () => {
    const r = await route()
    const body = '{"proof":"ok"}'
    const answer = await raw(
      r.port,
      `POST //evil.example/api HTTP/1.1\r\nHost: 127.0.0.1:${r.port}\r\nOrigin: http://evil.example\r\nX-User: alice@example.com\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
    )
    expect(answer.status).toBe(403)
    expect(r.minted).toEqual([])
  })

  it('a Host naming the attacker with a matching Origin: only same-origin to itself, so a configured publicOrigin wins', async () => {
    const r = await route({}, { publicOrigin: 'https://app.example.com' })
    const body = '{"proof":"ok"}'
    const forged = await raw(
      r.port,
      `POST /api HTTP/1.1\r\nHost: evil.example\r\nOrigin: http://evil.example\r\nX-User: alice@example.com\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
    )
    expect(forged.status).toBe(403)
    const real = await post(r, body, { origin: 'https://app.example.com' })
    expect(real.status).toBe(200)
    expect(r.minted).toEqual(['alice@example.com'])
  })

  it.each([
    ['TRACE', `TRACE /api HTTP/1.1\r\nHost: 127.0.0.1\r\n`, 405],
    ['Host: a b', `POST /api HTTP/1.1\r\nHost: a b\r\nContent-Length: 0\r\n`, 400],
    ['Host: x:99999', `POST /api HTTP/1.1\r\nHost: x:99999\r\nContent-Length: 0\r\n`, 400],
    ['Host: x:', `POST /api HTTP/1.1\r\nHost: x:\r\nContent-Length: 0\r\n`, 400],
    ['no Host (HTTP/1.0)', `POST /api HTTP/1.0\r\nContent-Length: 0\r\n`, 400],
    ['asterisk-form', `POST * HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n`, 400],
  ])('%s: %s → %i, never 500', async (_, head, status) => {
    const r = await route()
    const answer = await raw(r.port, `${head}Connection: close\r\n\r\n`)
    expect(answer.status).toBe(status)
    expect(answer.head.toLowerCase()).toContain('cache-control: no-store')
    expect(r.minted).toEqual([])
  })

  it('a slow-drip body: 408 at readTimeoutMs, not a connection held for minutes', async () => {
    const r = await route({ readTimeoutMs: 200 })
    const started = Date.now()
    const answer = await raw(
      r.port,
      `POST /api HTTP/1.1\r\nHost: 127.0.0.1:${r.port}\r\nOrigin: ${r.base}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{`,
      { chunks: Array.from({ length: 50 }, () => ' '), everyMs: 50 },
    )
    expect(answer.status).toBe(408)
    expect(JSON.parse(answer.body)).toEqual({ error: 'ERR_REQUEST_TIMEOUT' })
    expect(Date.now() - started).toBeLessThan(2_000)
    expect(r.authorized).toEqual([])
  })

  it('held: a Content-Length larger than the body sent (lying length) ends in 408, not a hang', async () => {
    const r = await route({ readTimeoutMs: 150 })
    const answer = await raw(
      r.port,
      `POST /api HTTP/1.1\r\nHost: 127.0.0.1:${r.port}\r\nOrigin: ${r.base}\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"proof":"ok"}`,
    )
    expect(answer.status).toBe(408)
    expect(r.minted).toEqual([])
  })

  it.each(['GET', 'PUT', 'DELETE', 'PATCH'])('held: %s → 405 with Allow: POST', async (method) => {
    const r = await route()
    const response = await fetch(`${r.base}/api`, {
      method,
      headers: { origin: r.base },
      ...(method === 'GET' ? {} : { body: '{}' }),
    })
    expect(response.status).toBe(405)
    expect(response.headers.get('allow')).toBe('POST')
    expect(response.headers.get('cache-control')).toBe('no-store')
  })

  it.each([['text/plain'], ['application/x-www-form-urlencoded'], ['multipart/form-data'], ['']])(
    'held: Content-Type %j → 415',
    async (type) => {
      const r = await route()
      const response = await post(r, '{"proof":"ok"}', { 'content-type': type })
      expect(response.status).toBe(415)
      expect(r.minted).toEqual([])
    },
  )

  it('held: bodies over 16 KiB → 413, with a Content-Length and chunked', async () => {
    const r = await route()
    const big = JSON.stringify({ proof: 'ok', pad: 'x'.repeat(17_000) })
    expect((await post(r, big)).status).toBe(413)
    const chunked = await raw(
      r.port,
      `POST /api HTTP/1.1\r\nHost: 127.0.0.1:${r.port}\r\nOrigin: ${r.base}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${(17_000).toString(16)}\r\n${'x'.repeat(17_000)}\r\n0\r\n\r\n`,
    )
    expect(chunked.status).toBe(413)
    const declared = await raw(
      r.port,
      `POST /api HTTP/1.1\r\nHost: 127.0.0.1:${r.port}\r\nOrigin: ${r.base}\r\nContent-Type: application/json\r\nContent-Length: 99999999\r\nConnection: close\r\n\r\n{`,
    )
    expect(declared.status).toBe(413)
    expect(r.minted).toEqual([])
  })

  it('held: invalid UTF-8, arrays, non-JSON and deeply nested arrays → 400', async () => {
    const r = await route()
    for (const body of [
      Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
      '[1,2]',
      'null',
      'not json',
      `${'['.repeat(5_000)}${']'.repeat(5_000)}`,
    ]) {
      const response = await fetch(`${r.base}/api`, {
        method: 'POST',
        headers: { origin: r.base, 'content-type': 'application/json' },
        body,
      })
      expect(response.status).toBe(400)
      expect(await response.json()).toEqual({ error: 'ERR_INVALID_JSON' })
    }
    expect(r.authorized).toEqual([])
  })

  it('held: __proto__ keys and deep objects reach authorize as data; nothing is polluted', async () => {
    const r = await route()
    const polluted = await post(
      r,
      '{"proof":"ok","__proto__":{"admin":true},"constructor":{"prototype":{"x":1}}}',
    )
    expect(polluted.status).toBe(200)
    expect(({} as { admin?: unknown }).admin).toBeUndefined()
    const deep = `${'{"a":'.repeat(2_000)}1${'}'.repeat(2_000)}`
    expect((await post(r, deep)).status).toBe(401)
  })

  it.each([
    ['a missing Origin', undefined],
    ['Origin: null', 'null'],
    ['upper-case scheme and host', 'HTTP://127.0.0.1:PORT'],
    ['userinfo', 'http://user@127.0.0.1:PORT'],
    ['another port', 'http://127.0.0.1:1'],
    ['another scheme', 'https://127.0.0.1:PORT'],
    ['a suffix host', 'http://127.0.0.1.evil.example:PORT'],
    ['a path', 'http://127.0.0.1:PORT/x'],
  ])('held: %s → 403, nothing minted', async (_, origin) => {
    const r = await route()
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'x-user': 'alice@example.com',
    }
    if (origin !== undefined) headers.origin = origin.replace('PORT', String(r.port))
    const response = await fetch(`${r.base}/api`, {
      method: 'POST',
      headers,
      body: '{"proof":"ok"}',
    })
    expect(response.status).toBe(403)
    expect(response.headers.get('cache-control')).toBe('no-store')
    expect(r.minted).toEqual([])
  })

  it('held: 200 concurrent requests mint only for what authorize returned to each', async () => {
    const minted: string[] = []
    const r = await route({
      // An in-process LoginID: the property is the route's, and 200 simulator round trips on a
      // loaded machine only add time.
      management: {
        grantExternalAuth: async (username) => {
          minted.push(username)
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 20))
          return { token: `grant-for-${username}` }
        },
      },
    })
    const users = Array.from({ length: 200 }, (_, i) => `user-${i}@example.com`)
    const answers = await Promise.all(
      users.map(async (user, i) => {
        const response = await post(
          r,
          JSON.stringify({ proof: i % 2 ? 'ok' : 'no', username: 'mallory@example.com' }),
          { 'x-user': user },
        )
        const body = (await response.json()) as { token?: string }
        return { user, status: response.status, body, store: response.headers.get('cache-control') }
      }),
    )
    expect(answers.filter((a) => a.status === 200)).toHaveLength(100)
    expect(answers.filter((a) => a.status === 401)).toHaveLength(100)
    expect(answers.every((a) => a.store === 'no-store')).toBe(true)
    for (const a of answers.filter((a) => a.status === 200)) {
      expect(a.body).toEqual({ token: `grant-for-${a.user}` })
    }
    expect([...minted].sort()).toEqual(users.filter((_, i) => i % 2).sort())
    expect(minted).not.toContain('mallory@example.com')
  }, 60_000)

  it('held: the API key is in no answer, onError payload or inspect output', async () => {
    const r = await route({
      management: createManagementClient({
        baseUrl: loginid.baseUrl,
        apiKey: SIMULATOR_API_KEY,
        fetch: (async (_input: RequestInfo | URL, init?: RequestInit) => {
          const auth = new Headers(init?.headers).get('authorization') ?? ''
          throw Object.assign(new TypeError(`fetch failed ${auth}`), { [Symbol('auth')]: auth })
        }) as typeof fetch,
      }),
    })
    const response = await post(r, '{"proof":"ok"}')
    expect(response.status).toBe(503)
    const text = `${await response.text()} ${[...response.headers].join(' ')} ${inspect(r.errors, { depth: 8, showHidden: true })}`
    expect(r.errors).toHaveLength(1)
    for (const secret of [SIMULATOR_API_KEY, KEY_B64]) expect(text).not.toContain(secret)
  })

  it('held: one grant token used concurrently on 10 sessions is accepted once (single use)', async () => {
    const sessions = await Promise.all(
      Array.from({ length: 10 }, () => beginSession('alice@example.com')),
    )
    const management = createManagementClient({
      baseUrl: loginid.baseUrl,
      apiKey: SIMULATOR_API_KEY,
    })
    const { token } = await management.grantExternalAuth('alice@example.com')
    const statuses = await Promise.all(sessions.map((session) => verify(session, token)))
    expect(statuses.filter((status) => status === 200)).toHaveLength(1)
  })

  it('held: 10 concurrent grants on one session: one success', async () => {
    const session = await beginSession('alice@example.com')
    const management = createManagementClient({
      baseUrl: loginid.baseUrl,
      apiKey: SIMULATOR_API_KEY,
    })
    const tokens = await Promise.all(
      Array.from({ length: 10 }, () => management.grantExternalAuth('alice@example.com')),
    )
    const statuses = await Promise.all(tokens.map(({ token }) => verify(session, token)))
    expect(statuses.filter((status) => status === 200)).toHaveLength(1)
  })
})

async function beginSession(username: string): Promise<string> {
  const begin = await fetch(`${loginid.baseUrl}/fido2/v2/mfa/begin`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user: { username }, deviceInfo: { clientType: 'browser' } }),
  })
  expect(begin.status).toBe(200)
  return ((await begin.json()) as { session: string }).session
}

async function verify(session: string, token: string): Promise<number> {
  const response = await fetch(`${loginid.baseUrl}/fido2/v2/mfa/third-party/verify`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: session },
    body: JSON.stringify({ token }),
  })
  await response.arrayBuffer()
  return response.status
}
