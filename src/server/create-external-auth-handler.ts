/**
 * `loginid-mfa-flow/server`: `createExternalAuthHandler`, the Fetch-standard route handler that
 * mints a grant token for the MFA `external` factor after the app has authenticated the user.
 *
 * @module
 */
import { MfaError } from '../shared/errors.js'
import { readBodyText } from '../internal/read-body.js'
import { isTimerDuration, MAX_TIMER_MS } from '../internal/guards.js'
import type { ManagementClient } from './create-management-client.js'
import { GRANT_ROUTE, grantRoute, toOrigin } from './internal/grant-route.js'
import type { GrantRoute, RouteAnswer, RouteInput } from './internal/grant-route.js'

export { EXTERNAL_AUTH_MAX_BODY_BYTES } from './internal/grant-route.js'

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
 * | 400 | `ERR_BAD_REQUEST` | (`toNodeListener`) a request target or `Host` header that is not valid |
 * | 405 | `ERR_METHOD_NOT_ALLOWED` | not POST (the answer has `Allow: POST`), TRACE and CONNECT too |
 * | 403 | `ERR_ORIGIN_FORBIDDEN` | `Origin` missing, `null`, or neither same-origin nor allowed |
 * | 415 | `ERR_UNSUPPORTED_MEDIA_TYPE` | `Content-Type` is not `application/json` |
 * | 413 | `ERR_PAYLOAD_TOO_LARGE` | body over 16 KiB |
 * | 408 | `ERR_REQUEST_TIMEOUT` | the body did not arrive within `readTimeoutMs` |
 * | 400 | `ERR_INVALID_JSON` | body is not a JSON object (or not UTF-8, or unreadable) |
 * | 401 | `ERR_UNAUTHORIZED` | `authorize` returned `null` / `undefined` |
 * | 500 | `ERR_AUTHORIZE` | `authorize` threw or returned no valid username |
 * | 502 | `ERR_GRANT_FAILED` | LoginID refused to mint (API key, scope, 4xx): a server misconfiguration |
 * | 503 | `ERR_LOGINID_UNAVAILABLE` | LoginID unreachable, timed out or 5xx |
 * | 500 | `ERR_INTERNAL` | anything else |
 */
export type ExternalAuthErrorCode =
  | 'ERR_BAD_REQUEST'
  | 'ERR_METHOD_NOT_ALLOWED'
  | 'ERR_ORIGIN_FORBIDDEN'
  | 'ERR_UNSUPPORTED_MEDIA_TYPE'
  | 'ERR_PAYLOAD_TOO_LARGE'
  | 'ERR_REQUEST_TIMEOUT'
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
  /**
   * How long the request body may take to arrive, in milliseconds; a slower body (a slow-drip
   * attack holding a connection open) is answered `408 ERR_REQUEST_TIMEOUT`.
   *
   * @defaultValue 10_000
   */
  readTimeoutMs?: number
}

/** A Fetch-standard route handler: `Request` in, `Response` out. Never throws. */
export type ExternalAuthHandler = (request: Request) => Promise<Response>

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
    onError,
    readTimeoutMs = 10_000,
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
  if (!isTimerDuration(readTimeoutMs)) {
    throw new MfaError(
      'ERR_INVALID_ARGUMENT',
      `readTimeoutMs must be a number of milliseconds from 1 to ${MAX_TIMER_MS}`,
    )
  }
  const route = grantRoute(options, new Set(allowedOrigins.map(toOrigin)), readTimeoutMs)

  async function externalAuthHandler(request: Request): Promise<Response> {
    let origin: string | undefined
    try {
      origin = new URL(request.url).origin
    } catch {
      origin = undefined
    }
    const input: RouteInput = {
      method: request.method,
      header: (name) => request.headers.get(name),
      origin,
      readBody: (maxBytes, timeoutMs) => readBodyText(request, maxBytes, timeoutMs),
      request: () => request,
      signal: () => request.signal,
    }
    return toResponse(await route(input))
  }
  return Object.defineProperty(externalAuthHandler, GRANT_ROUTE, {
    value: route satisfies GrantRoute,
  })
}

function toResponse(answer: RouteAnswer): Response {
  return new Response(answer.body, { status: answer.status, headers: answer.headers })
}
