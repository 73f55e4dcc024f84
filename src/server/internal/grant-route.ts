// Internal: the grant route's logic over a minimal request view, shared by the Fetch handler
// (`createExternalAuthHandler`) and the `node:http` path of `toNodeListener`, which calls it
// directly (no Fetch `Request`, web stream or `Response` per request: they cost a fifth of the
// route's throughput). Not exported from any entry.
import { MfaError, isMfaError } from '../../shared/errors.js'
import type { ReadBodyResult } from '../../internal/read-body.js'
import type {
  ExternalAuthErrorCode,
  ExternalAuthIdentity,
  ExternalAuthRequestBody,
  ExternalAuthHandlerOptions,
} from '../create-external-auth-handler.js'

/** What the route needs of a request. */
export interface RouteInput {
  /** Upper-case method. */
  method: string
  /** A header value (lower-case name), or null. */
  header(name: string): string | null
  /** The request's own origin (`scheme://host[:port]`), or undefined when unknown. */
  origin: string | undefined
  /** Read the body: at most `maxBytes`, within `timeoutMs`. */
  readBody(maxBytes: number, timeoutMs: number): Promise<ReadBodyResult>
  /** The Fetch `Request` `authorize` and `onError` get (built on first use). */
  request(): Request
  /** Aborts the LoginID call: only while the answer is not sent and the client is connected. */
  signal(): AbortSignal
}

/** The route's answer. */
export interface RouteAnswer {
  status: number
  headers: Record<string, string>
  body: string | null
}

/** The route's core: never throws. */
export type GrantRoute = (input: RouteInput) => Promise<RouteAnswer>

/** Marks a handler made by `createExternalAuthHandler`: `toNodeListener` calls the core. */
export const GRANT_ROUTE: unique symbol = Symbol('loginid-mfa-flow.grant-route')

/**
 * The body size limit of {@link createExternalAuthHandler}, in bytes (16 KiB).
 *
 * @example Keep the browser's proof under the limit
 * ```ts
 * import { EXTERNAL_AUTH_MAX_BODY_BYTES } from 'loginid-mfa-flow/server'
 *
 * const proof = { idToken: 'eyJ...' }
 * if (new TextEncoder().encode(JSON.stringify(proof)).length > EXTERNAL_AUTH_MAX_BODY_BYTES / 2) {
 *   throw new Error('send a reference to the proof, not the proof itself')
 * }
 * ```
 */
export const EXTERNAL_AUTH_MAX_BODY_BYTES = 16 * 1024

export const STATUS: Record<ExternalAuthErrorCode, number> = {
  ERR_BAD_REQUEST: 400,
  ERR_METHOD_NOT_ALLOWED: 405,
  ERR_ORIGIN_FORBIDDEN: 403,
  ERR_UNSUPPORTED_MEDIA_TYPE: 415,
  ERR_PAYLOAD_TOO_LARGE: 413,
  ERR_REQUEST_TIMEOUT: 408,
  ERR_INVALID_JSON: 400,
  ERR_UNAUTHORIZED: 401,
  ERR_AUTHORIZE: 500,
  ERR_GRANT_FAILED: 502,
  ERR_LOGINID_UNAVAILABLE: 503,
  ERR_INTERNAL: 500,
}

/** Build the route core from validated options. */
export function grantRoute(
  options: ExternalAuthHandlerOptions,
  allowed: ReadonlySet<string>,
  readTimeoutMs: number,
): GrantRoute {
  const { management, authorize, allowMissingOrigin = false, onError } = options

  function report(error: unknown, code: ExternalAuthErrorCode, input: RouteInput): RouteAnswer {
    try {
      onError?.(error, { code, status: STATUS[code], request: input.request() })
    } catch {
      // The app's logger failing must not change the answer.
    }
    return failure(code)
  }

  return async function route(input: RouteInput): Promise<RouteAnswer> {
    let cors: Record<string, string> | undefined
    try {
      const check = checkOrigin(input, allowed, allowMissingOrigin)
      if (check.ok && check.cross) cors = corsHeaders(check.origin)

      if (input.method === 'OPTIONS' && input.header('access-control-request-method') !== null) {
        // A CORS preflight: answer it only for an allowed cross-origin caller.
        if (cors === undefined) return failure('ERR_ORIGIN_FORBIDDEN')
        return preflight(cors, input.header('access-control-request-headers'))
      }
      if (input.method !== 'POST') return failure('ERR_METHOD_NOT_ALLOWED', cors)
      if (!check.ok) return failure('ERR_ORIGIN_FORBIDDEN')
      if (!isJsonContentType(input.header('content-type'))) {
        return failure('ERR_UNSUPPORTED_MEDIA_TYPE', cors)
      }
      // Refuses a declared Content-Length over the cap unread, and counts the stream otherwise.
      const read = await input.readBody(EXTERNAL_AUTH_MAX_BODY_BYTES, readTimeoutMs)
      if (!read.ok && read.reason === 'too_large') return failure('ERR_PAYLOAD_TOO_LARGE', cors)
      if (!read.ok && read.reason === 'timeout') return failure('ERR_REQUEST_TIMEOUT', cors)
      const body = read.ok ? parseJsonObject(read.text) : undefined
      if (body === undefined) return failure('ERR_INVALID_JSON', cors)

      let identity: ExternalAuthIdentity | null | undefined
      try {
        identity = await authorize(input.request(), body)
      } catch (error) {
        return withCors(report(error, 'ERR_AUTHORIZE', input), cors)
      }
      if (identity === null || identity === undefined) return failure('ERR_UNAUTHORIZED', cors)
      const username = (identity as { username?: unknown }).username
      if (typeof username !== 'string' || username.trim() === '') {
        const error = new MfaError('ERR_INVALID_ARGUMENT', 'authorize returned no username')
        return withCors(report(error, 'ERR_AUTHORIZE', input), cors)
      }

      let token: string
      try {
        ;({ token } = await grantWhileUnanswered(management, username, input.signal()))
      } catch (error) {
        return withCors(report(error, codeForGrantError(error), input), cors)
      }
      return json(200, { token }, cors)
    } catch (error) {
      return report(error, 'ERR_INTERNAL', input)
    }
  }
}

/**
 * Mint with a signal that follows the request's signal only until the grant settles, i.e. while
 * the answer is not yet sent: a client that leaves cancels the LoginID call, and an abort after
 * the answer (Deno's default `Deno.serve` aborts `request.signal` after every successful
 * response) reaches nothing of this request, whichever behaviour the runtime has.
 */
async function grantWhileUnanswered(
  management: Pick<ExternalAuthHandlerOptions['management'], 'grantExternalAuth'>,
  username: string,
  // A Request-like from an older polyfill may have no signal (`null`).
  requestSignal: AbortSignal | null | undefined,
): Promise<{ token: string }> {
  if (!requestSignal) return management.grantExternalAuth(username)
  const controller = new AbortController()
  const forward = () => controller.abort(requestSignal.reason)
  if (requestSignal.aborted) forward()
  else requestSignal.addEventListener('abort', forward, { once: true })
  try {
    return await management.grantExternalAuth(username, { signal: controller.signal })
  } finally {
    requestSignal.removeEventListener('abort', forward)
  }
}

/** The handler's answer for a failed grant. */
function codeForGrantError(error: unknown): ExternalAuthErrorCode {
  if (!isMfaError(error)) return 'ERR_INTERNAL'
  switch (error.code) {
    case 'ERR_INVALID_ARGUMENT':
      return 'ERR_AUTHORIZE'
    case 'ERR_NETWORK':
    case 'ERR_TIMEOUT':
    case 'ERR_ABORTED':
    case 'ERR_LOGINID_UNAVAILABLE':
      return 'ERR_LOGINID_UNAVAILABLE'
    default:
      return 'ERR_GRANT_FAILED'
  }
}

type OriginCheck =
  { ok: true; cross: false } | { ok: true; cross: true; origin: string } | { ok: false }

function checkOrigin(
  input: RouteInput,
  allowed: ReadonlySet<string>,
  allowMissing: boolean,
): OriginCheck {
  const header = input.header('origin')
  if (header === null) return allowMissing ? { ok: true, cross: false } : { ok: false }
  if (header === input.origin) return { ok: true, cross: false }
  let origin: string
  try {
    origin = new URL(header).origin
  } catch {
    return { ok: false }
  }
  if (origin === 'null' || origin !== header.replace(/\/$/, '')) return { ok: false }
  if (origin === input.origin) return { ok: true, cross: false }
  if (allowed.has(origin)) return { ok: true, cross: true, origin }
  return { ok: false }
}

/** An `allowedOrigins` entry as an origin. */
export function toOrigin(value: unknown): string {
  let url: URL | undefined
  try {
    url = new URL(value as string)
  } catch {
    url = undefined
  }
  if (url?.protocol !== 'https:' && url?.protocol !== 'http:') {
    throw new MfaError(
      'ERR_INVALID_ARGUMENT',
      `allowedOrigins: ${String(value)} is not an http(s) origin`,
    )
  }
  return url.origin
}

function isJsonContentType(value: string | null): boolean {
  if (value === null) return false
  const semi = value.indexOf(';')
  const type = (semi === -1 ? value : value.slice(0, semi)).trim().toLowerCase()
  return type === 'application/json'
}

function parseJsonObject(text: string): ExternalAuthRequestBody | undefined {
  try {
    const value: unknown = JSON.parse(text)
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined
    return value as ExternalAuthRequestBody
  } catch {
    return undefined
  }
}

// Every answer depends on `Origin` (CORS headers, 403), so every answer says so: a shared cache
// that ignores `no-store` still cannot serve one origin's answer to another.
const BASE_HEADERS = {
  'Content-Type': 'application/json',
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
  Vary: 'Origin',
}

function json(status: number, body: unknown, extra?: Record<string, string>): RouteAnswer {
  return { status, headers: { ...BASE_HEADERS, ...extra }, body: JSON.stringify(body) }
}

/** The JSON failure answer for `code`. */
export function failure(code: ExternalAuthErrorCode, cors?: Record<string, string>): RouteAnswer {
  const extra: Record<string, string> = { ...cors }
  if (code === 'ERR_METHOD_NOT_ALLOWED') extra.Allow = 'POST'
  return json(STATUS[code], { error: code }, extra)
}

function withCors(answer: RouteAnswer, cors: Record<string, string> | undefined): RouteAnswer {
  if (cors !== undefined) Object.assign(answer.headers, cors)
  return answer
}

function corsHeaders(origin: string): Record<string, string> {
  return {
    'Access-Control-Allow-Origin': origin,
    'Access-Control-Allow-Credentials': 'true',
    Vary: 'Origin',
  }
}

const HEADER_LIST = /^[\w-]+(?:\s*,\s*[\w-]+)*$/

function preflight(cors: Record<string, string>, requested: string | null): RouteAnswer {
  const headers: Record<string, string> = {
    ...cors,
    'Access-Control-Allow-Methods': 'POST',
    'Access-Control-Allow-Headers':
      requested !== null && HEADER_LIST.test(requested.trim()) ? requested.trim() : 'Content-Type',
    'Access-Control-Max-Age': '600',
    'Cache-Control': 'no-store',
    Vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers',
  }
  return { status: 204, headers, body: null }
}
