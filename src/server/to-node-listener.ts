/// <reference types="node" />
/**
 * `loginid-mfa-flow/server`: `toNodeListener`, an adapter from a Fetch-standard handler to a
 * `node:http` / Express listener. The only module of the server entry that touches Node APIs.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http'

/** A Node request, possibly with a body an Express body parser has already read. */
export type NodeRequest = IncomingMessage & {
  /** Set by Express body parsers (`express.json()`); used instead of the consumed stream. */
  body?: unknown
  /** Set by Express (honours its `trust proxy` setting). */
  protocol?: string
}

/**
 * A `node:http` request listener that is also an Express route handler. The returned promise
 * settles once the response has been written (or handed to `next`); it never rejects.
 */
export type NodeListener = (
  req: NodeRequest,
  res: ServerResponse,
  next?: (error?: unknown) => void,
) => Promise<void>

/**
 * Adapt a Fetch-standard handler (`(request: Request) => Promise<Response>`, such as
 * `createExternalAuthHandler(...)`) to `node:http` and Express.
 *
 * The request URL is built from the `Host` header and the protocol (Express's `req.protocol`
 * when present, else whether the socket is TLS). If an Express body parser already read the
 * body into `req.body`, that is used (objects are re-serialized as JSON, strings and buffers
 * passed as they are); otherwise the stream is handed over unread, so the handler's size limit
 * applies while reading. The request's `signal` aborts when the client goes away.
 *
 * @example node:http
 * ```ts
 * import { createServer } from 'node:http'
 * import { toNodeListener } from 'loginid-mfa-flow/server'
 * import type { ExternalAuthHandler } from 'loginid-mfa-flow/server'
 *
 * // Partial: the route from createExternalAuthHandler.
 * declare const handler: ExternalAuthHandler
 *
 * createServer(toNodeListener(handler)).listen(3000)
 * ```
 *
 * @example Express
 * ```ts
 * import express from 'express'
 * import { toNodeListener } from 'loginid-mfa-flow/server'
 * import type { ExternalAuthHandler } from 'loginid-mfa-flow/server'
 *
 * // Partial: the route from createExternalAuthHandler.
 * declare const handler: ExternalAuthHandler
 *
 * const app = express()
 * app.post('/api/loginid/grant', toNodeListener(handler))
 * ```
 */
export function toNodeListener(handler: (request: Request) => Promise<Response>): NodeListener {
  if (typeof handler !== 'function') {
    throw new TypeError('toNodeListener needs a handler function')
  }
  return function nodeListener(req, res, next) {
    return run(handler, req, res).catch((error: unknown) => {
      if (next) {
        next(error)
        return
      }
      if (!res.headersSent) {
        res.statusCode = 500
        res.setHeader('Content-Type', 'application/json')
        res.setHeader('Cache-Control', 'no-store')
        res.end('{"error":"ERR_INTERNAL"}')
      } else {
        res.destroy()
      }
    })
  }
}

async function run(
  handler: (request: Request) => Promise<Response>,
  req: NodeRequest,
  res: ServerResponse,
): Promise<void> {
  const controller = new AbortController()
  res.on('close', () => {
    if (!res.writableFinished) controller.abort()
  })

  const headers = new Headers()
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue
    if (Array.isArray(value)) for (const item of value) headers.append(name, item)
    else headers.set(name, value)
  }
  const method = (req.method ?? 'GET').toUpperCase()
  const init: RequestInit & { duplex?: 'half' } = { method, headers, signal: controller.signal }
  const bodyStream = method === 'GET' || method === 'HEAD' ? undefined : requestBody(req)
  let drain: (() => void) | undefined
  if (bodyStream !== undefined) {
    if (bodyStream instanceof Uint8Array) {
      init.body = bodyStream
      headers.delete('content-length')
      headers.delete('transfer-encoding')
    } else {
      init.body = bodyStream.stream
      init.duplex = 'half'
      drain = bodyStream.drain
    }
  }
  const request = new Request(requestUrl(req), init)

  const response = await handler(request)

  res.statusCode = response.status
  const cookies = response.headers.getSetCookie()
  response.headers.forEach((value, name) => {
    if (name !== 'set-cookie') res.setHeader(name, value)
  })
  if (cookies.length > 0) res.setHeader('Set-Cookie', cookies)
  const payload = method === 'HEAD' ? undefined : new Uint8Array(await response.arrayBuffer())
  await new Promise<void>((resolve) => {
    res.end(payload, () => resolve())
  })
  // Whatever the handler did not read (an oversized body) is discarded, not buffered.
  drain?.()
}

function requestUrl(req: NodeRequest): string {
  const encrypted = (req.socket as { encrypted?: boolean } | undefined)?.encrypted === true
  const protocol =
    req.protocol === 'http' || req.protocol === 'https'
      ? req.protocol
      : encrypted
        ? 'https'
        : 'http'
  const host = req.headers.host ?? 'localhost'
  return new URL(req.url ?? '/', `${protocol}://${host}`).href
}

/** The body: what a body parser left in `req.body`, or the unread stream. */
function requestBody(
  req: NodeRequest,
): Uint8Array<ArrayBuffer> | { stream: ReadableStream<Uint8Array>; drain: () => void } | undefined {
  // Express body parsers set `_body` once they have read the stream into `req.body`.
  const parsed = (req as { _body?: unknown })._body === true || req.readableEnded
  if (parsed && req.body !== undefined) {
    const body = req.body
    if (body instanceof Uint8Array) return new Uint8Array(body)
    if (typeof body === 'string') return new TextEncoder().encode(body)
    return new TextEncoder().encode(JSON.stringify(body))
  }
  if (req.readableEnded) return undefined
  let onData: ((chunk: Buffer | string) => void) | undefined
  const stop = (): void => {
    if (onData) req.off('data', onData)
    onData = undefined
    req.resume()
  }
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      onData = (chunk) => {
        controller.enqueue(typeof chunk === 'string' ? new TextEncoder().encode(chunk) : chunk)
        if ((controller.desiredSize ?? 1) <= 0) req.pause()
      }
      req.on('data', onData)
      req.once('end', () => {
        try {
          controller.close()
        } catch {
          // already cancelled
        }
      })
      req.once('error', (error) => {
        try {
          controller.error(error)
        } catch {
          // already cancelled
        }
      })
    },
    pull() {
      req.resume()
    },
    cancel() {
      stop()
    },
  })
  return { stream, drain: () => (req.readableEnded ? undefined : stop()) }
}
