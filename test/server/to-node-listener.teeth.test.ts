// Tests with teeth for toNodeListener (issue 16): each one fails when a deliberate breakage that
// the other tests let through is applied. What a Node or Express app relies on: the Request the
// handler sees (URL, method, headers, body, signal) and the answer the client gets.
import { createServer, request as httpRequest } from 'node:http'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { toNodeListener } from '../../src/server.js'
import type { NodeListener, NodeRequest } from '../../src/server.js'

const servers: Server[] = []
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
  )
})

async function listen(
  listener: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<string> {
  const server = createServer(listener)
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

/** What the handler saw of the request. */
interface Seen {
  url: string
  method: string
  headers: Record<string, string>
  body: string
}

/** A handler that answers with a JSON description of the Request it got. */
async function describeRequest(request: Request): Promise<Response> {
  const seen: Seen = {
    url: request.url,
    method: request.method,
    headers: Object.fromEntries(request.headers),
    body: request.method === 'GET' || request.method === 'HEAD' ? '' : await request.text(),
  }
  return Response.json(seen, { status: 201, headers: { 'x-answer': 'yes' } })
}

/** Serve `listener` after letting `prepare` do what an Express middleware would. */
async function express(
  listener: NodeListener,
  prepare: (req: NodeRequest, raw: Buffer) => void,
): Promise<string> {
  return listen((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      prepare(req, Buffer.concat(chunks))
      void listener(req, res)
    })
  })
}

describe('toNodeListener: the Request the handler sees', () => {
  it('refuses a handler that is not a function', () => {
    for (const handler of [undefined, null, {}, 'handler']) {
      expect(() => toNodeListener(handler as never)).toThrow(TypeError)
    }
  })

  it('builds the URL from Host and the path, method, headers and streamed body', async () => {
    const base = await listen(toNodeListener(describeRequest))
    const response = await fetch(`${base}/api/grant?x=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-custom': 'v' },
      body: '{"proof":"p"}',
    })
    expect(response.status).toBe(201)
    expect(response.headers.get('x-answer')).toBe('yes')
    const seen = (await response.json()) as Seen
    expect(seen.url).toBe(`${base}/api/grant?x=1`)
    expect(seen.method).toBe('POST')
    expect(seen.headers['x-custom']).toBe('v')
    expect(seen.body).toBe('{"proof":"p"}')
  })

  it("takes Express's req.protocol when it is http or https, else the socket's", async () => {
    const listener = toNodeListener(describeRequest)
    for (const [protocol, expected] of [
      ['https', 'https:'],
      ['http', 'http:'],
      ['ftp', 'http:'],
      [undefined, 'http:'],
    ] as const) {
      const base = await express(listener, (req) => {
        if (protocol !== undefined) req.protocol = protocol
        req.body = undefined
      })
      const seen = (await (await fetch(`${base}/p`)).json()) as Seen
      expect(new URL(seen.url).protocol).toBe(expected)
    }
  })

  it('passes a body parser result: an object as JSON, a string and a Buffer as they are', async () => {
    const listener = toNodeListener(describeRequest)
    const cases: [unknown, string][] = [
      [{ proof: { code: 1 } }, '{"proof":{"code":1}}'],
      ['plain text body', 'plain text body'],
      [Buffer.from('raw bytes'), 'raw bytes'],
    ]
    for (const [body, expected] of cases) {
      const base = await express(listener, (req) => {
        Object.assign(req, { body, _body: true })
      })
      const response = await fetch(`${base}/p`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: 'something else entirely, longer than the parsed body',
      })
      expect(response.status).toBe(201)
      const seen = (await response.json()) as Seen
      expect(seen.body).toBe(expected)
      // The original length no longer describes the body the handler gets.
      expect(seen.headers['content-length']).not.toBe('52')
    }
  })

  it('a stream that was read to the end without a parsed body gives an empty body', async () => {
    const listener = toNodeListener(describeRequest)
    const base = await express(listener, () => undefined)
    const response = await fetch(`${base}/p`, { method: 'POST', body: 'consumed elsewhere' })
    expect(response.status).toBe(201)
    expect(((await response.json()) as Seen).body).toBe('')
  })

  it("aborts the request's signal when the client goes away before the answer", async () => {
    let aborted!: () => void
    const abortedSeen = new Promise<void>((resolve) => (aborted = resolve))
    let entered!: () => void
    const handlerEntered = new Promise<void>((resolve) => (entered = resolve))
    const base = await listen(
      toNodeListener(
        (request) =>
          new Promise<Response>((resolve) => {
            request.signal.addEventListener('abort', () => {
              aborted()
              resolve(new Response('late'))
            })
            entered()
          }),
      ),
    )
    const req = httpRequest(`${base}/slow`, { method: 'GET' })
    req.on('error', () => undefined)
    req.end()
    await handlerEntered
    req.destroy()
    await abortedSeen
  })

  it('does not abort the signal of a request that was answered', async () => {
    let signal: AbortSignal | undefined
    const base = await listen(
      toNodeListener(async (request) => {
        signal = request.signal
        return new Response('ok')
      }),
    )
    expect(await (await fetch(`${base}/`)).text()).toBe('ok')
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(signal?.aborted).toBe(false)
  })
})

describe('toNodeListener: the answer', () => {
  it('sends no body for HEAD, but the status and headers', async () => {
    const base = await listen(
      toNodeListener(async () => new Response('body', { status: 202, headers: { 'x-h': '1' } })),
    )
    const response = await fetch(`${base}/`, { method: 'HEAD' })
    expect(response.status).toBe(202)
    expect(response.headers.get('x-h')).toBe('1')
    expect(await response.text()).toBe('')
  })

  it('answers a throwing handler with a JSON 500 that is never cached', async () => {
    const base = await listen(
      toNodeListener(async () => {
        throw new Error('secret detail')
      }),
    )
    const failed = await fetch(`${base}/`)
    expect(failed.status).toBe(500)
    expect(failed.headers.get('content-type')).toBe('application/json')
    expect(failed.headers.get('cache-control')).toBe('no-store')
    expect(await failed.json()).toEqual({ error: 'ERR_INTERNAL' })
  })

  it('one Set-Cookie stays one header', async () => {
    const base = await listen(
      toNodeListener(async () => new Response('ok', { headers: { 'set-cookie': 'a=1' } })),
    )
    expect((await fetch(`${base}/`)).headers.getSetCookie()).toEqual(['a=1'])
  })
})
