// Attack matrix of `createManagementClient` (the part of `loginid-mfa-flow/server` that holds the
// API key): each case names an attack (a hostile network, a hostile or broken LoginID, a caller
// who controls the username) and what it gets. Served over real loopback HTTP, no mocks.
import { createServer } from 'node:http'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { inspect } from 'node:util'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createManagementClient } from '../../src/server.js'
import type { ManagementClientOptions } from '../../src/server.js'
import { failure, pumpEndless } from './hostile.js'

const API_KEY = 'key_attack_matrix_s3cr3t'
const B64 = Buffer.from(`${API_KEY}:`).toString('base64')
const SECRETS = [API_KEY, B64]

const servers: Server[] = []
afterEach(async () => {
  vi.unstubAllGlobals()
  for (const server of servers.splice(0)) {
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
})

/** A loopback stub of LoginID; `hits` counts the requests that reached it (body read). */
async function stub(
  answer: (req: IncomingMessage, res: ServerResponse, body: string) => void,
): Promise<{ url: string; hits: string[] }> {
  const hits: string[] = []
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (chunk: Buffer) => (body += chunk.toString()))
    req.on('end', () => {
      hits.push(body)
      answer(req, res, body)
    })
  })
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits }
}

function client(baseUrl: string, extra: Partial<ManagementClientOptions> = {}) {
  return createManagementClient({ baseUrl, apiKey: API_KEY, retryDelayMs: 1, ...extra })
}

const json = (res: ServerResponse, status: number, body: unknown): void => {
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(JSON.stringify(body))
}

describe('attack matrix: createManagementClient', () => {
  it('a 307 to another origin: refused (ERR_BAD_RESPONSE), the username never re-posted there', async () => {
    const evil = await stub((_req, res) => json(res, 200, { token: 'evil-grant' }))
    let status = 307
    const loginid = await stub((_req, res) => {
      res.writeHead(status, { location: `${evil.url}/steal` })
      res.end()
    })
    for (status of [301, 302, 303, 307, 308]) {
      const error = await failure(client(loginid.url).grantExternalAuth('alice'))
      expect(error).toMatchObject({ code: 'ERR_BAD_RESPONSE', status })
    }
    expect(evil.hits).toEqual([])
  })

  it('a fetch that never settles: ERR_TIMEOUT at timeoutMs, and the caller signal still aborts', async () => {
    const never = (() => new Promise<Response>(() => undefined)) as typeof fetch
    const started = Date.now()
    const error = await failure(
      client('https://app.api.loginid.test', { fetch: never, timeoutMs: 100 }).grantExternalAuth(
        'alice',
      ),
    )
    expect(error.code).toBe('ERR_TIMEOUT')
    expect(Date.now() - started).toBeLessThan(2_000)

    const controller = new AbortController()
    const pending = client('https://app.api.loginid.test', { fetch: never }).grantExternalAuth(
      'alice',
      { signal: controller.signal },
    )
    setTimeout(() => controller.abort(), 20)
    await expect(pending).rejects.toMatchObject({ code: 'ERR_ABORTED' })
  })

  it('a body that never ends: ERR_TIMEOUT at timeoutMs, not retried', async () => {
    const loginid = await stub((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.write('{"token":')
    })
    const error = await failure(
      client(loginid.url, { timeoutMs: 150, retries: 2 }).grantExternalAuth('alice'),
    )
    expect(error.code).toBe('ERR_TIMEOUT')
    expect(loginid.hits).toHaveLength(1)
  })

  it.each([2 ** 31, 3e9, 1e12, Infinity, Number.NaN, 0, -1])(
    'timeoutMs %s (beyond what a timer holds, or not a duration): refused at creation',
    (timeoutMs) => {
      expect(() => client('https://app.api.loginid.test', { timeoutMs })).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }),
      )
    },
  )

  it('timeoutMs 2^31 − 1 is accepted and does not fire early', async () => {
    const loginid = await stub((_req, res) => setTimeout(() => json(res, 200, { token: 't' }), 50))
    await expect(
      client(loginid.url, { timeoutMs: 2 ** 31 - 1 }).grantExternalAuth('alice'),
    ).resolves.toEqual({ token: 't' })
  })

  it('a custom fetch error holding the key under a symbol or a non-enumerable key: no trace of it', async () => {
    const makers = [
      (auth: string) => Object.assign(new TypeError('fetch failed'), { [Symbol('req')]: auth }),
      (auth: string) =>
        Object.defineProperty(new TypeError('fetch failed'), 'request', {
          value: { headers: { authorization: auth } },
          enumerable: false,
        }),
      (auth: string) =>
        new TypeError('fetch failed', {
          cause: Object.assign(new Error('ECONNRESET'), { [Symbol.for('headers')]: auth }),
        }),
    ]
    for (const make of makers) {
      const leaky = (async (_input: RequestInfo | URL, init?: RequestInit) => {
        throw make(new Headers(init?.headers).get('authorization') ?? '')
      }) as typeof fetch
      const error = await failure(
        client('https://app.api.loginid.test', { fetch: leaky, retries: 0 }).grantExternalAuth(
          'alice',
        ),
      )
      expect(error.code).toBe('ERR_NETWORK')
      const text = `${inspect(error, { depth: 6, showHidden: true })} ${inspect(error.cause, { depth: 6, showHidden: true })}`
      for (const secret of SECRETS) expect(text).not.toContain(secret)
    }
  })

  it('the global fetch throwing such an error: its cause is dropped too', async () => {
    vi.stubGlobal('fetch', async (_input: RequestInfo | URL, init?: RequestInit) => {
      const auth = new Headers(init?.headers).get('authorization') ?? ''
      throw Object.defineProperty(new TypeError('fetch failed'), Symbol('h'), { value: auth })
    })
    const error = await failure(
      client('https://app.api.loginid.test', { retries: 0 }).grantExternalAuth('alice'),
    )
    expect(error.code).toBe('ERR_NETWORK')
    expect(error.cause).toBeUndefined()
    const text = inspect(error, { depth: 6, showHidden: true })
    for (const secret of SECRETS) expect(text).not.toContain(secret)
  })

  it.each(['alice\u0085', 'alice\u009b[2J', 'al\u0000ice', 'alice\u007f', 'a\r\nb'])(
    'username %j with a control character (C0, DEL, C1): ERR_INVALID_ARGUMENT, nothing sent',
    async (username) => {
      const loginid = await stub((_req, res) => json(res, 200, { token: 't' }))
      await expect(client(loginid.url).grantExternalAuth(username)).rejects.toMatchObject({
        code: 'ERR_INVALID_ARGUMENT',
      })
      await expect(client(loginid.url).grant(username, ['passkey:read'])).rejects.toMatchObject({
        code: 'ERR_INVALID_ARGUMENT',
      })
      expect(loginid.hits).toEqual([])
    },
  )

  it('an endless answer (chunked, no length): ERR_BAD_RESPONSE after 1 MiB', async () => {
    let sent = (): number => 0
    const loginid = await stub((_req, res) => {
      sent = pumpEndless(res, '')
    })
    const error = await failure(client(loginid.url, { timeoutMs: 10_000 }).grantExternalAuth('a'))
    expect(error.code).toBe('ERR_BAD_RESPONSE')
    expect(sent()).toBeLessThan(64 * 1024 * 1024)
  })

  it('a declared 200 MB answer: ERR_BAD_RESPONSE without reading it', async () => {
    const loginid = await stub((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '209715200' })
      res.write('{"token":"')
    })
    const error = await failure(client(loginid.url).grantExternalAuth('alice'))
    expect(error.code).toBe('ERR_BAD_RESPONSE')
  })

  it('held: an answer of exactly 1 MiB is still read', async () => {
    const padding = ' '.repeat(1024 * 1024 - JSON.stringify({ token: 'big' }).length)
    const loginid = await stub((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(`${JSON.stringify({ token: 'big' })}${padding}`)
    })
    await expect(client(loginid.url).grantExternalAuth('alice')).resolves.toEqual({ token: 'big' })
  })

  it('a connection reset after LoginID read the POST: ERR_NETWORK, never retried (one grant)', async () => {
    const loginid = await stub((req) => req.socket.destroy())
    const error = await failure(client(loginid.url, { retries: 3 }).grantExternalAuth('alice'))
    expect(error.code).toBe('ERR_NETWORK')
    expect(loginid.hits).toHaveLength(1)
  })

  it('a connection refused (nothing listening): retried, since it cannot have reached LoginID', async () => {
    const closed = await stub(() => undefined)
    const url = closed.url
    const server = servers.pop()!
    await new Promise<void>((resolve) => server.close(() => resolve()))
    let attempts = 0
    const counting = ((input: RequestInfo | URL, init?: RequestInit) => {
      attempts++
      return fetch(input, init)
    }) as typeof fetch
    const error = await failure(
      client(url, { retries: 2, fetch: counting }).grantExternalAuth('alice'),
    )
    expect(error.code).toBe('ERR_NETWORK')
    expect(attempts).toBe(3)
  })

  it('a 500 (LoginID may have minted): not retried; 502/503/504: retried', async () => {
    let status = 500
    const loginid = await stub((_req, res) => json(res, status, { msg: 'x', msgCode: 'x' }))
    await failure(client(loginid.url, { retries: 2 }).grantExternalAuth('alice'))
    expect(loginid.hits).toHaveLength(1)
    status = 503
    await failure(client(loginid.url, { retries: 2 }).grantExternalAuth('alice'))
    expect(loginid.hits).toHaveLength(4)
  })

  it('held: LoginID echoing the key in msg and msgCode never surfaces it', async () => {
    const loginid = await stub((_req, res) =>
      json(res, 401, { msg: `bad ${API_KEY} Basic ${B64}`, msgCode: `x${API_KEY}` }),
    )
    const error = await failure(client(loginid.url).grantExternalAuth('alice'))
    expect(error.code).toBe('ERR_API_KEY_INVALID')
    const text = `${inspect(error, { depth: 6, showHidden: true })} ${JSON.stringify(error)}`
    for (const secret of SECRETS) expect(text).not.toContain(secret)
  })
})
