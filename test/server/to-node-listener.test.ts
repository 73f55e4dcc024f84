import { createServer, request as httpRequest } from 'node:http'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { createExternalAuthHandler, toNodeListener } from '../../src/server.js'
import type { NodeListener } from '../../src/server.js'

let server: Server | undefined
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()))
  server = undefined
})

async function listen(
  listener: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<string> {
  server = createServer(listener)
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

function grantHandler(minted: string[] = [], seen: unknown[] = []) {
  return createExternalAuthHandler({
    management: {
      grantExternalAuth: async (username) => {
        minted.push(username)
        return { token: `grant-for-${username}` }
      },
    },
    authorize: async (request, body) => {
      seen.push(body)
      return request.headers.get('cookie') === 'sid=ok' ? { username: 'alice' } : null
    },
  })
}

describe('toNodeListener', () => {
  it('runs the handler over node:http (same-origin check against the Host header)', async () => {
    const minted: string[] = []
    const base = await listen(toNodeListener(grantHandler(minted)))
    const response = await fetch(`${base}/grant`, {
      method: 'POST',
      headers: { origin: base, 'content-type': 'application/json', cookie: 'sid=ok' },
      body: JSON.stringify({ proof: 'p', username: 'mallory' }),
    })
    expect(response.status).toBe(200)
    expect(response.headers.get('cache-control')).toBe('no-store')
    expect(await response.json()).toEqual({ token: 'grant-for-alice' })
    expect(minted).toEqual(['alice'])

    const foreign = await fetch(`${base}/grant`, {
      method: 'POST',
      headers: { origin: 'https://evil.example', 'content-type': 'application/json' },
      body: '{}',
    })
    expect(foreign.status).toBe(403)
    const get = await fetch(`${base}/grant`)
    expect(get.status).toBe(405)
    expect(get.headers.get('allow')).toBe('POST')
  })

  it('answers 413 for a large streamed body and keeps serving', async () => {
    const base = await listen(toNodeListener(grantHandler()))
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${base}/grant`, {
        method: 'POST',
        headers: { origin: base, 'content-type': 'application/json' }, // chunked, no length
      })
      req.on('response', (res) => {
        res.resume()
        resolve(res.statusCode ?? 0)
        req.destroy()
      })
      req.on('error', reject)
      let sent = 0
      const pump = (): void => {
        while (sent < 1024 * 1024) {
          sent += 8192
          if (!req.write(Buffer.alloc(8192, 0x20))) {
            req.once('drain', pump)
            return
          }
        }
        req.end()
      }
      pump()
    }).catch(() => 0)
    expect(status).toBe(413)
    const next = await fetch(`${base}/grant`, {
      method: 'POST',
      headers: { origin: base, 'content-type': 'application/json', cookie: 'sid=ok' },
      body: '{}',
    })
    expect(next.status).toBe(200)
  })

  it('uses a body an Express body parser already read into req.body', async () => {
    const seen: unknown[] = []
    const listener: NodeListener = toNodeListener(grantHandler([], seen))
    // What express.json() does: read the stream, set req.body and req._body.
    const base = await listen((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (chunk: Buffer) => chunks.push(chunk))
      req.on('end', () => {
        Object.assign(req, {
          body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
          _body: true,
          protocol: 'http',
        })
        void listener(req, res)
      })
    })
    const response = await fetch(`${base}/grant`, {
      method: 'POST',
      headers: { origin: base, 'content-type': 'application/json', cookie: 'sid=ok' },
      body: JSON.stringify({ proof: { code: 123 }, session: 's' }),
    })
    expect(response.status).toBe(200)
    expect(seen).toEqual([{ proof: { code: 123 }, session: 's' }])
  })

  it('passes Set-Cookie through and turns a throwing handler into 500 or next(err)', async () => {
    const base = await listen(
      toNodeListener(async (request) => {
        if (new URL(request.url).pathname === '/throw') throw new Error('secret detail')
        const headers = new Headers()
        headers.append('set-cookie', 'a=1')
        headers.append('set-cookie', 'b=2')
        return new Response('ok', { headers })
      }),
    )
    const ok = await fetch(`${base}/`)
    expect(ok.headers.getSetCookie()).toEqual(['a=1', 'b=2'])
    const failed = await fetch(`${base}/throw`)
    expect(failed.status).toBe(500)
    expect(await failed.text()).toBe('{"error":"ERR_INTERNAL"}')

    let passed: unknown
    const listener = toNodeListener(async () => {
      throw new Error('to next')
    })
    const second = createServer((req, res) =>
      listener(req, res, (err) => {
        passed = err
        res.statusCode = 418
        res.end()
      }),
    )
    await new Promise<void>((resolve) => second.listen(0, '127.0.0.1', resolve))
    try {
      const url = `http://127.0.0.1:${(second.address() as AddressInfo).port}`
      expect((await fetch(url)).status).toBe(418)
      expect(passed).toBeInstanceOf(Error)
    } finally {
      await new Promise<void>((resolve) => second.close(() => resolve()))
    }
  })
})
