/// <reference types="node" />
/**
 * `loginid-mfa-flow/server`: `toNodeListener`, an adapter from a Fetch-standard handler to a
 * `node:http` / Express listener. The only module of the server entry that touches Node APIs.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { MfaError } from '../shared/errors.js'
import { normalizeBaseUrl } from '../internal/base-url.js'
import { parseRequestTarget } from '../internal/request-target.js'
import { GRANT_ROUTE } from './internal/grant-route.js'
import type { GrantRoute, RouteInput } from './internal/grant-route.js'
import { nodeBody, readNodeBody } from './internal/node-body.js'

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

/** Options for {@link toNodeListener}. */
export interface NodeListenerOptions {
  /**
   * The server's public origin (`https://app.example.com`), when it is known: the request URL is
   * then built from it and the request path, and the `Host` header is not consulted. Without it
   * the URL is built from the `Host` header (refused with 400 when not a valid host) and the
   * protocol.
   */
  publicOrigin?: string
}

/** What `toNodeListener` serves: a Fetch-standard handler, `Request` in, `Response` out. */
export type FetchHandler = (request: Request) => Promise<Response>

/**
 * Adapt a Fetch-standard handler (`(request: Request) => Promise<Response>`, such as
 * `createExternalAuthHandler(...)`) to `node:http` and Express.
 *
 * The request URL is built from `publicOrigin` (or the `Host` header and the protocol: Express's
 * `req.protocol` when present, else whether the socket is TLS) and the request target's path
 * only: an absolute-form target (`POST https://evil.example/api`) or a `//evil.example/api` path
 * cannot choose the origin the handler's same-origin check compares with. TRACE, CONNECT and
 * TRACK get 405; a request target or `Host` that is not valid gets 400.
 *
 * A `createExternalAuthHandler` route is served directly from the Node request (same checks and
 * answers, no Fetch `Request` or web stream per request; `authorize` gets a `Request` with the
 * headers and without the body, which is passed to it already parsed). If an Express body parser
 * already read the body into `req.body`, that is used (objects are re-serialized as JSON, strings
 * and buffers passed as they are); otherwise the stream is read with the handler's size limit
 * and deadline. The LoginID call is aborted when the client goes away before the answer.
 *
 * @throws MfaError `ERR_INVALID_ARGUMENT` for a bad `publicOrigin`
 * @example node:http
 * ```ts
 * import { createServer } from 'node:http'
 * import { toNodeListener } from 'loginid-mfa-flow/server'
 * import type { ExternalAuthHandler } from 'loginid-mfa-flow/server'
 *
 * // Partial: the route from createExternalAuthHandler.
 * declare const handler: ExternalAuthHandler
 *
 * createServer(toNodeListener(handler, { publicOrigin: 'https://app.example.com' })).listen(3000)
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
export function toNodeListener(
  handler: FetchHandler,
  options: NodeListenerOptions = {},
): NodeListener {
  if (typeof handler !== 'function') {
    throw new TypeError('toNodeListener needs a handler function')
  }
  const publicOrigin = publicOriginOf(options?.publicOrigin)
  const route = (handler as { [GRANT_ROUTE]?: GrantRoute })[GRANT_ROUTE]
  return function nodeListener(req, res, next) {
    const target = parseRequestTarget(req, protocolOf(req), publicOrigin)
    if (!target.ok) {
      const code = target.status === 405 ? 'ERR_METHOD_NOT_ALLOWED' : 'ERR_BAD_REQUEST'
      writeError(res, target.status, code, route === undefined ? undefined : 'POST')
      return Promise.resolve()
    }
    const served =
      route === undefined
        ? run(handler, req, res, `${target.origin}${target.path}`)
        : serveRoute(route, req, res, target.origin, target.path)
    return served.catch((error: unknown) => {
      if (next) {
        next(error)
        return
      }
      if (!res.headersSent) writeError(res, 500, 'ERR_INTERNAL')
      else res.destroy()
    })
  }
}

function publicOriginOf(value: unknown): string | undefined {
  if (value === undefined) return undefined
  const origin = new URL(normalizeBaseUrl(value, 'publicOrigin')).origin
  if (normalizeBaseUrl(value, 'publicOrigin') !== origin) {
    throw new MfaError('ERR_INVALID_ARGUMENT', 'publicOrigin must be an origin, without a path')
  }
  return origin
}

function protocolOf(req: NodeRequest): 'http' | 'https' {
  if (req.protocol === 'http' || req.protocol === 'https') return req.protocol
  // Stryker disable next-line OptionalChaining: node:http requests always have a socket
  return (req.socket as { encrypted?: boolean } | undefined)?.encrypted === true ? 'https' : 'http'
}

function writeError(res: ServerResponse, status: number, code: string, allow?: string): void {
  const headers: Record<string, string> = {
    'Content-Type': 'application/json',
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    Connection: 'close',
  }
  if (allow !== undefined) headers.Allow = allow
  // Nothing the failed handler had set (a cookie, say) may ride along on the error answer.
  for (const name of res.getHeaderNames()) res.removeHeader(name)
  const body = `{"error":"${code}"}`
  headers['Content-Length'] = String(body.length)
  res.writeHead(status, headers)
  res.end(body)
}

/** A `createExternalAuthHandler` route, served from the Node request. */
async function serveRoute(
  route: GrantRoute,
  req: NodeRequest,
  res: ServerResponse,
  origin: string,
  path: string,
): Promise<void> {
  // Stryker disable next-line StringLiteral: node:http sets req.method on every server request
  const method = (req.method ?? 'GET').toUpperCase()
  let request: Request | undefined
  let controller: AbortController | undefined
  const input: RouteInput = {
    method,
    header(name) {
      const value = req.headers[name]
      // Stryker disable next-line ConditionalExpression,StringLiteral: node:http makes an array only of set-cookie, a header the route never reads
      return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value
    },
    origin,
    readBody: (maxBytes, timeoutMs) => readNodeBody(req, maxBytes, timeoutMs),
    request: () => (request ??= headersOnlyRequest(req, method, `${origin}${path}`)),
    signal() {
      // Stryker disable next-line ConditionalExpression: the route asks for the signal once per request
      if (controller === undefined) {
        const own = new AbortController()
        // Abort the LoginID call only while the answer is not sent: the client went away.
        res.once('close', () => {
          // Stryker disable next-line ConditionalExpression: the route stops listening to the signal once the grant settles, before the answer is written
          if (!res.writableFinished) own.abort()
        })
        controller = own
      }
      return controller.signal
    },
  }
  const answer = await route(input)
  // A body left unread (413, 408, early answers) makes the connection unusable.
  if (!req.complete) answer.headers.Connection = 'close'
  const body = answer.body ?? undefined
  if (body !== undefined) answer.headers['Content-Length'] = String(Buffer.byteLength(body))
  res.writeHead(answer.status, answer.headers)
  // Stryker disable next-line ConditionalExpression,StringLiteral: node:http itself sends no body in an answer to HEAD; this only skips handing it over
  res.end(method === 'HEAD' ? undefined : body)
  // Stryker disable next-line all: node:http discards a request body left unread once the answer ends; resuming here only starts that sooner
  if (!req.complete) req.resume()
}

function headersOnlyRequest(req: NodeRequest, method: string, url: string): Request {
  return new Request(url, { method, headers: nodeHeaders(req) })
}

function nodeHeaders(req: NodeRequest): Headers {
  const headers = new Headers()
  for (const [name, value] of Object.entries(req.headers)) {
    // Stryker disable next-line ConditionalExpression: node:http never holds an undefined header value
    if (value === undefined) continue
    if (Array.isArray(value)) for (const item of value) headers.append(name, item)
    else headers.set(name, value)
  }
  return headers
}

/** Any other Fetch handler: a Fetch `Request` with the body as a stream, a `Response` back. */
async function run(
  handler: FetchHandler,
  req: NodeRequest,
  res: ServerResponse,
  url: string,
): Promise<void> {
  const controller = new AbortController()
  res.on('close', () => {
    if (!res.writableFinished) controller.abort()
  })
  const headers = nodeHeaders(req)
  // Stryker disable next-line StringLiteral: node:http sets req.method on every server request
  const method = (req.method ?? 'GET').toUpperCase()
  const init: RequestInit & { duplex?: 'half' } = { method, headers, signal: controller.signal }
  const body = method === 'GET' || method === 'HEAD' ? undefined : nodeBody(req)
  let drain: (() => void) | undefined
  if (body !== undefined) {
    if (body instanceof Uint8Array) {
      init.body = body
      headers.delete('content-length')
      headers.delete('transfer-encoding')
    } else {
      init.body = body.stream
      init.duplex = 'half'
      drain = body.drain
    }
  }
  let request: Request
  try {
    request = new Request(url, init)
  } catch {
    writeError(res, 400, 'ERR_BAD_REQUEST')
    return
  }

  const response = await handler(request)

  res.statusCode = response.status
  const cookies = response.headers.getSetCookie()
  response.headers.forEach((value, name) => {
    // Stryker disable next-line ConditionalExpression,StringLiteral: a joined Set-Cookie set here is replaced by the list below
    if (name !== 'set-cookie') res.setHeader(name, value)
  })
  // Stryker disable next-line ConditionalExpression,EqualityOperator: node:http sends no header for an empty list
  if (cookies.length > 0) res.setHeader('Set-Cookie', cookies)
  const payload = method === 'HEAD' ? undefined : new Uint8Array(await response.arrayBuffer())
  await new Promise<void>((resolve) => {
    res.end(payload, () => resolve())
  })
  // Whatever the handler did not read (an oversized body) is discarded, not buffered.
  drain?.()
}
