/**
 * `loginid-mfa-flow/server`: `createExternalAuthHandler`, the Fetch-standard route handler that
 * mints a grant token for the MFA `external` factor after the app has authenticated the user.
 *
 * @module
 */
import { MfaError, isMfaError } from '../shared/errors.js'
import { readBodyText } from '../internal/read-body.js'
import type { ManagementClient } from './create-management-client.js'

/**
 * The JSON body the browser sends (`fetchGrantToken` sends `{ proof, username, session }`).
 * Everything in it is client-controlled: `authorize` must verify `proof` (or the app's own
 * session cookie) and must never trust `username`.
 */
export interface ExternalAuthRequestBody {
  /** Whatever the app's `externalAuthenticator` produced (an id token, a code, a signature). */
  proof?: unknown
  /** The username the client claims. Informational only: never mint for it. */
  username?: unknown
  /** The MFA session, when the client sends it. */
  session?: unknown
  /** Anything else the client sent. */
  [key: string]: unknown
}

/** What `authorize` returns for an authenticated user: the user to mint the grant token for. */
export interface ExternalAuthIdentity {
  /** The LoginID username, taken from the app's own verified session or proof. */
  username: string
}

/**
 * The app's own authentication check. Return the user the app has authenticated, or `null` (or
 * `undefined`) to answer 401. A throw answers 500 `ERR_AUTHORIZE`, without detail.
 *
 * `request`'s body has already been read: use `body`. Headers and cookies are intact.
 */
export type ExternalAuthAuthorize = (
  request: Request,
  body: ExternalAuthRequestBody,
) => ExternalAuthIdentity | null | undefined | Promise<ExternalAuthIdentity | null | undefined>

/**
 * The `error` codes of the handler's JSON failure bodies `{ error: code }`.
 *
 * | status | code | when |
 * |---|---|---|
 * | 405 | `ERR_METHOD_NOT_ALLOWED` | not POST (the answer has `Allow: POST`) |
 * | 403 | `ERR_ORIGIN_FORBIDDEN` | `Origin` missing, `null`, or neither same-origin nor allowed |
 * | 415 | `ERR_UNSUPPORTED_MEDIA_TYPE` | `Content-Type` is not `application/json` |
 * | 413 | `ERR_PAYLOAD_TOO_LARGE` | body over 16 KiB |
 * | 400 | `ERR_INVALID_JSON` | body is not a JSON object (or not UTF-8, or unreadable) |
 * | 401 | `ERR_UNAUTHORIZED` | `authorize` returned `null` / `undefined` |
 * | 500 | `ERR_AUTHORIZE` | `authorize` threw or returned no valid username |
 * | 502 | `ERR_GRANT_FAILED` | LoginID refused to mint (API key, scope, 4xx): a server misconfiguration |
 * | 503 | `ERR_LOGINID_UNAVAILABLE` | LoginID unreachable, timed out or 5xx |
 * | 500 | `ERR_INTERNAL` | anything else |
 */
export type ExternalAuthErrorCode =
  | 'ERR_METHOD_NOT_ALLOWED'
  | 'ERR_ORIGIN_FORBIDDEN'
  | 'ERR_UNSUPPORTED_MEDIA_TYPE'
  | 'ERR_PAYLOAD_TOO_LARGE'
  | 'ERR_INVALID_JSON'
  | 'ERR_UNAUTHORIZED'
  | 'ERR_AUTHORIZE'
  | 'ERR_GRANT_FAILED'
  | 'ERR_LOGINID_UNAVAILABLE'
  | 'ERR_INTERNAL'

/** What {@link ExternalAuthHandlerOptions.onError} is told about a server-side failure. */
export interface ExternalAuthErrorInfo {
  /** The code sent to the client. */
  code: ExternalAuthErrorCode
  /** The HTTP status sent to the client. */
  status: number
  /** The incoming request (its body already read). */
  request: Request
}

/** Options for {@link createExternalAuthHandler}. */
export interface ExternalAuthHandlerOptions {
  /** Mints the grant token; usually `createManagementClient(...)`. */
  management: Pick<ManagementClient, 'grantExternalAuth'>
  /** The app's own authentication check; see {@link ExternalAuthAuthorize}. */
  authorize: ExternalAuthAuthorize
  /**
   * Origins, besides the request URL's own, whose browsers may call this route (e.g. the
   * public `https://app.example.com` when a proxy makes the request URL `http://localhost:3000`,
   * or a front end on another origin). Cross-origin callers get CORS headers and preflight
   * answers. `*` is not supported.
   *
   * @defaultValue `[]` (same-origin only)
   */
  allowedOrigins?: readonly string[]
  /**
   * Accept requests without an `Origin` header. Browsers send `Origin` on every POST fetch
   * (same-origin too), so a missing one means a non-browser caller; allow it only for native
   * apps, and only when `authorize` checks a credential a cross-site page cannot make the
   * browser send (a bearer token, not a cookie).
   *
   * @defaultValue false
   */
  allowMissingOrigin?: boolean
  /**
   * Called for server-side failures (500, 502, 503) with the underlying error, so the app can
   * log what the client is not told. Never called with the API key (management errors do not
   * hold it). A throw here is ignored.
   */
  onError?: (error: unknown, info: ExternalAuthErrorInfo) => void
}

/** A Fetch-standard route handler: `Request` in, `Response` out. Never throws. */
export type ExternalAuthHandler = (request: Request) => Promise<Response>

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

const STATUS: Record<ExternalAuthErrorCode, number> = {
  ERR_METHOD_NOT_ALLOWED: 405,
  ERR_ORIGIN_FORBIDDEN: 403,
  ERR_UNSUPPORTED_MEDIA_TYPE: 415,
  ERR_PAYLOAD_TOO_LARGE: 413,
  ERR_INVALID_JSON: 400,
  ERR_UNAUTHORIZED: 401,
  ERR_AUTHORIZE: 500,
  ERR_GRANT_FAILED: 502,
  ERR_LOGINID_UNAVAILABLE: 503,
  ERR_INTERNAL: 500,
}

/**
 * Create the route handler the browser's `tokenProvider` (`fetchGrantToken`) calls during the
 * MFA `external` step. It checks method, `Origin`, content type and size, parses the JSON body,
 * asks `authorize` which user the app has authenticated, and mints a grant token for THAT user
 * only (a username in the body is never used). Success: `200 { token }` with
 * `Cache-Control: no-store`; failures: `{ error: code }` (see {@link ExternalAuthErrorCode}) with
 * no internal detail.
 *
 * Works as-is in Next.js route handlers, Hono, Remix, Bun, Deno and Cloudflare Workers; use
 * `toNodeListener` for `node:http` and Express.
 *
 * @throws MfaError `ERR_INVALID_ARGUMENT` for bad options (at creation, not per request)
 * @see https://docs.loginid.io/user-scenario/authentication/mfa/fallback-custom/
 *
 * @example Next.js App Router (app/api/loginid/grant/route.ts)
 * ```ts
 * import { createExternalAuthHandler, createManagementClient } from 'loginid-mfa-flow/server'
 *
 * // Partial: your app's own check of the proof the page sent.
 * declare function verifyMyOtpProof(proof: unknown): Promise<{ email: string } | null>
 *
 * const handler = createExternalAuthHandler({
 *   management: createManagementClient({
 *     baseUrl: process.env.LOGINID_BASE_URL!,
 *     apiKey: process.env.LOGINID_API_KEY!,
 *   }),
 *   async authorize(_request, body) {
 *     const user = await verifyMyOtpProof(body.proof) // the app's OWN check
 *     return user ? { username: user.email } : null
 *   },
 * })
 * export const POST = handler
 * ```
 */
export function createExternalAuthHandler(
  options: ExternalAuthHandlerOptions,
): ExternalAuthHandler {
  const {
    management,
    authorize,
    allowedOrigins = [],
    allowMissingOrigin = false,
    onError,
  } = options ?? {}
  if (
    typeof management?.grantExternalAuth !== 'function' ||
    typeof authorize !== 'function' ||
    (onError !== undefined && typeof onError !== 'function') ||
    !Array.isArray(allowedOrigins)
  ) {
    throw new MfaError(
      'ERR_INVALID_ARGUMENT',
      'createExternalAuthHandler needs management.grantExternalAuth, authorize, and optionally allowedOrigins (an array) and onError',
    )
  }
  const allowed = new Set(allowedOrigins.map(toOrigin))

  function report(error: unknown, code: ExternalAuthErrorCode, request: Request): Response {
    try {
      onError?.(error, { code, status: STATUS[code], request })
    } catch {
      // The app's logger failing must not change the answer.
    }
    return failure(code)
  }

  return async function externalAuthHandler(request: Request): Promise<Response> {
    let origin: string | undefined
    try {
      const check = checkOrigin(request, allowed, allowMissingOrigin)
      if (check.ok && check.cross) origin = check.origin
      const cors = origin === undefined ? undefined : corsHeaders(origin)

      if (request.method === 'OPTIONS' && request.headers.has('access-control-request-method')) {
        // A CORS preflight: answer it only for an allowed cross-origin caller.
        if (cors === undefined) return failure('ERR_ORIGIN_FORBIDDEN')
        return preflight(cors, request.headers.get('access-control-request-headers'))
      }
      if (request.method !== 'POST') return failure('ERR_METHOD_NOT_ALLOWED', cors)
      if (!check.ok) return failure('ERR_ORIGIN_FORBIDDEN')
      if (!isJsonContentType(request.headers.get('content-type'))) {
        return failure('ERR_UNSUPPORTED_MEDIA_TYPE', cors)
      }
      // Refuses a declared Content-Length over the cap unread, and counts the stream otherwise.
      const read = await readBodyText(request, EXTERNAL_AUTH_MAX_BODY_BYTES)
      if (!read.ok && read.reason === 'too_large') return failure('ERR_PAYLOAD_TOO_LARGE', cors)
      const body = read.ok ? parseJsonObject(read.text) : undefined
      if (body === undefined) return failure('ERR_INVALID_JSON', cors)

      let identity: ExternalAuthIdentity | null | undefined
      try {
        identity = await authorize(request, body)
      } catch (error) {
        return withCors(report(error, 'ERR_AUTHORIZE', request), cors)
      }
      if (identity === null || identity === undefined) return failure('ERR_UNAUTHORIZED', cors)
      const username = (identity as { username?: unknown }).username
      if (typeof username !== 'string' || username.trim() === '') {
        const error = new MfaError('ERR_INVALID_ARGUMENT', 'authorize returned no username')
        return withCors(report(error, 'ERR_AUTHORIZE', request), cors)
      }

      let token: string
      try {
        ;({ token } = await management.grantExternalAuth(username, { signal: request.signal }))
      } catch (error) {
        return withCors(report(error, codeForGrantError(error), request), cors)
      }
      return json(200, { token }, cors)
    } catch (error) {
      return report(error, 'ERR_INTERNAL', request)
    }
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
  request: Request,
  allowed: ReadonlySet<string>,
  allowMissing: boolean,
): OriginCheck {
  const header = request.headers.get('origin')
  if (header === null) return allowMissing ? { ok: true, cross: false } : { ok: false }
  let origin: string
  try {
    origin = new URL(header).origin
  } catch {
    return { ok: false }
  }
  if (origin === 'null' || origin !== header.replace(/\/$/, '')) return { ok: false }
  let own: string | undefined
  try {
    own = new URL(request.url).origin
  } catch {
    own = undefined
  }
  if (origin === own) return { ok: true, cross: false }
  if (allowed.has(origin)) return { ok: true, cross: true, origin }
  return { ok: false }
}

function toOrigin(value: unknown): string {
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
  const type = value.split(';')[0]?.trim().toLowerCase()
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

function json(status: number, body: unknown, extra?: Record<string, string>): Response {
  return new Response(JSON.stringify(body), { status, headers: { ...BASE_HEADERS, ...extra } })
}

function failure(code: ExternalAuthErrorCode, cors?: Record<string, string>): Response {
  const extra: Record<string, string> = { ...cors }
  if (code === 'ERR_METHOD_NOT_ALLOWED') extra.Allow = 'POST'
  return json(STATUS[code], { error: code }, extra)
}

function withCors(response: Response, cors: Record<string, string> | undefined): Response {
  if (cors === undefined) return response
  for (const [name, value] of Object.entries(cors)) response.headers.set(name, value)
  return response
}

function corsHeaders(origin: string): Record<string, string> {
  return {
    'Access-Control-Allow-Origin': origin,
    'Access-Control-Allow-Credentials': 'true',
    Vary: 'Origin',
  }
}

const HEADER_LIST = /^[\w-]+(?:\s*,\s*[\w-]+)*$/

function preflight(cors: Record<string, string>, requested: string | null): Response {
  const headers: Record<string, string> = {
    ...cors,
    'Access-Control-Allow-Methods': 'POST',
    'Access-Control-Allow-Headers':
      requested !== null && HEADER_LIST.test(requested.trim()) ? requested.trim() : 'Content-Type',
    'Access-Control-Max-Age': '600',
    'Cache-Control': 'no-store',
    Vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers',
  }
  return new Response(null, { status: 204, headers })
}
