// Tests with teeth for the Node request bodies of toNodeListener (issue 16): the grant route's
// capped, timed read and the stream any other Fetch handler gets. A request here is a
// PassThrough with the fields node:http sets, so each outcome (too large, timeout, a client that
// goes away, a body parser's result) is driven exactly, and what a server relies on is checked:
// the verdict, and nothing left behind (listeners, a timer, a paused socket).
import { PassThrough } from 'node:stream'
import type { IncomingMessage } from 'node:http'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { nodeBody, readNodeBody } from './node-body.js'

type FakeRequest = IncomingMessage &
  PassThrough & { body?: unknown; _body?: unknown; complete: boolean }

function fakeRequest(headers: Record<string, string> = {}): FakeRequest {
  const stream = new PassThrough()
  return Object.assign(stream, { headers, complete: false }) as unknown as FakeRequest
}

/** A request whose stream a body parser read to the end. */
async function consumed(fields: Record<string, unknown>): Promise<FakeRequest> {
  const req = fakeRequest()
  req.resume()
  req.end('the raw bytes the parser read')
  await new Promise((resolve) => req.once('end', resolve))
  return Object.assign(req, fields)
}

const LISTENED = ['data', 'end', 'error', 'close'] as const
const listeners = (req: FakeRequest) => LISTENED.map((event) => req.listenerCount(event))

afterEach(() => {
  vi.useRealTimers()
})

describe('readNodeBody: the grant route body', () => {
  it('reads a streamed body of exactly maxBytes; one byte more is too_large', async () => {
    const exact = fakeRequest()
    const read = readNodeBody(exact, 8, 1_000)
    exact.write('{"a":')
    exact.end('12}')
    expect(await read).toEqual({ ok: true, text: '{"a":12}' })

    const over = fakeRequest()
    const tooLarge = readNodeBody(over, 8, 1_000)
    over.write('{"a":')
    over.write('123}')
    expect(await tooLarge).toEqual({ ok: false, reason: 'too_large' })
  })

  it('counts string chunks (a stream with an encoding set) in UTF-8 bytes', async () => {
    const req = fakeRequest()
    req.setEncoding('utf8')
    const read = readNodeBody(req, 4, 1_000)
    req.end(Buffer.from('"é"'))
    expect(await read).toEqual({ ok: true, text: '"é"' })

    const over = fakeRequest()
    over.setEncoding('utf8')
    const tooLarge = readNodeBody(over, 3, 1_000)
    over.end(Buffer.from('"é"'))
    expect(await tooLarge).toEqual({ ok: false, reason: 'too_large' })
  })

  it('refuses a declared Content-Length over maxBytes without reading; maxBytes is fine', async () => {
    const declared = fakeRequest({ 'content-length': '9' })
    expect(await readNodeBody(declared, 8, 1_000)).toEqual({ ok: false, reason: 'too_large' })
    expect(listeners(declared)).toEqual([0, 0, 0, 0])

    const exact = fakeRequest({ 'content-length': '8' })
    const read = readNodeBody(exact, 8, 1_000)
    exact.end('{"a":12}')
    expect(await read).toEqual({ ok: true, text: '{"a":12}' })
  })

  it('a body that does not arrive within timeoutMs is timeout, and nothing is left behind', async () => {
    vi.useFakeTimers()
    const req = fakeRequest()
    const read = readNodeBody(req, 100, 5_000)
    req.write('{"slow":')
    await vi.advanceTimersByTimeAsync(4_999)
    expect(vi.getTimerCount()).toBe(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(await read).toEqual({ ok: false, reason: 'timeout' })
    expect(listeners(req)).toEqual([0, 0, 0, 0])
  })

  it('after a complete body: no timer and no listener left', async () => {
    vi.useFakeTimers()
    const req = fakeRequest()
    const read = readNodeBody(req, 100, 5_000)
    req.end('{}')
    expect(await read).toEqual({ ok: true, text: '{}' })
    expect(vi.getTimerCount()).toBe(0)
    expect(listeners(req)).toEqual([0, 0, 0, 0])
  })

  it('a stream error, or a client gone before the end, is unreadable', async () => {
    const failing = fakeRequest()
    const failed = readNodeBody(failing, 100, 1_000)
    failing.emit('error', new Error('socket hang up'))
    expect(await failed).toEqual({ ok: false, reason: 'unreadable' })
    expect(listeners(failing)).toEqual([0, 0, 0, 0])

    const gone = fakeRequest()
    const left = readNodeBody(gone, 100, 1_000)
    gone.write('{"a"')
    gone.emit('close')
    expect(await left).toEqual({ ok: false, reason: 'unreadable' })
  })

  it("a 'close' after a complete request changes nothing", async () => {
    const req = fakeRequest()
    const read = readNodeBody(req, 100, 1_000)
    req.write('{}')
    req.complete = true
    req.emit('close')
    req.end()
    expect(await read).toEqual({ ok: true, text: '{}' })
  })

  it('a stream read to the end with nothing parsed is an empty body, at once', async () => {
    const req = await consumed({})
    expect(await readNodeBody(req, 100, 60_000)).toEqual({ ok: true, text: '' })
  })

  it("uses a body parser's result (req._body), with the size cap", async () => {
    const parsed = fakeRequest()
    Object.assign(parsed, { _body: true, body: { proof: 'p' } })
    expect(await readNodeBody(parsed, 100, 1_000)).toEqual({ ok: true, text: '{"proof":"p"}' })
    // 13 bytes: exactly the cap passes, one under fails.
    expect(await readNodeBody(parsed, 13, 1_000)).toEqual({ ok: true, text: '{"proof":"p"}' })
    expect(await readNodeBody(parsed, 12, 1_000)).toEqual({ ok: false, reason: 'too_large' })
  })

  it('uses req.body of a stream read to the end even without _body (another parser)', async () => {
    const req = await consumed({ body: '{"from":"parser"}' })
    expect(await readNodeBody(req, 100, 1_000)).toEqual({ ok: true, text: '{"from":"parser"}' })
  })

  it('ignores a req.body set by something that did not read the stream', async () => {
    const req = fakeRequest()
    Object.assign(req, { body: { forged: true } })
    const read = readNodeBody(req, 100, 1_000)
    req.end('{"real":1}')
    expect(await read).toEqual({ ok: true, text: '{"real":1}' })
  })
})

/** nodeBody's stream form (the request is neither parsed nor ended). */
function streamed(req: FakeRequest): { stream: ReadableStream<Uint8Array>; drain: () => void } {
  const body = nodeBody(req)
  if (body === undefined || body instanceof Uint8Array) throw new Error('expected a stream')
  return body
}

describe('nodeBody: the stream a Fetch handler gets', () => {
  it('string chunks arrive as their UTF-8 bytes; an error reaches the reader', async () => {
    const req = fakeRequest()
    req.setEncoding('utf8')
    const body = streamed(req)
    const reader = body.stream.getReader()
    req.write(Buffer.from('é'))
    const first = await reader.read()
    expect(new TextDecoder().decode(first.value)).toBe('é')
    const failure = new Error('reset')
    req.emit('error', failure)
    await expect(reader.read()).rejects.toBe(failure)
  })

  it('pauses the request while nobody reads, not while a read waits', async () => {
    const req = fakeRequest()
    const body = streamed(req)
    const reader = body.stream.getReader()
    const pending = reader.read()
    req.write('a')
    await pending
    expect(req.isPaused()).toBe(false)
    req.write('b')
    await new Promise((resolve) => setImmediate(resolve))
    expect(req.isPaused()).toBe(true)
  })

  it('cancelling the stream stops listening and lets the rest of the body drain', async () => {
    const req = fakeRequest()
    const body = streamed(req)
    req.write('a')
    req.write('b')
    await new Promise((resolve) => setImmediate(resolve))
    expect(req.isPaused()).toBe(true)
    await body.stream.cancel()
    expect(req.listenerCount('data')).toBe(0)
    expect(req.isPaused()).toBe(false)
  })

  it('drain() discards what the handler left unread; after the end it does nothing', async () => {
    const req = fakeRequest()
    const body = streamed(req)
    req.write('a')
    req.write('b')
    await new Promise((resolve) => setImmediate(resolve))
    body.drain()
    expect(req.listenerCount('data')).toBe(0)
    expect(req.isPaused()).toBe(false)

    const ended = fakeRequest()
    const whole = streamed(ended)
    const text = new Response(whole.stream).text()
    ended.end('all')
    expect(await text).toBe('all')
    ended.pause()
    whole.drain()
    expect(ended.isPaused()).toBe(true)
  })

  it("a body parser's result is a copy; a stream read to the end without one is no body", async () => {
    const bytes = Buffer.from('raw')
    const req = await consumed({ _body: true, body: bytes })
    const body = nodeBody(req)
    expect(body).toBeInstanceOf(Uint8Array)
    expect(Buffer.from(body as Uint8Array).toString()).toBe('raw')
    expect((body as Uint8Array).buffer).not.toBe(bytes.buffer)
    expect(nodeBody(await consumed({}))).toBeUndefined()
  })
})
