// Internal HTTP helpers shared by the built-in MFA client and the management client.
// Not exported from any entry. Nothing here ever reads or keeps a header value.
import { MfaError } from '../shared/errors.js'
import type { MfaErrorCode } from '../shared/errors.js'

/** The `MfaErrorCode` for a LoginID HTTP status (used for every status but 401-with-session). */
export function codeForStatus(status: number): MfaErrorCode {
  if (status === 400 || status === 413 || status === 415 || status === 422) return 'ERR_BAD_REQUEST'
  if (status === 401) return 'ERR_SESSION_INVALID'
  if (status === 403) return 'ERR_FORBIDDEN'
  if (status === 404) return 'ERR_NOT_FOUND'
  if (status >= 500) return 'ERR_LOGINID_UNAVAILABLE'
  return 'ERR_HTTP'
}

/** LoginID's `{ msg, msgCode }` (or `message`) from an error body of any shape. */
export function parseAppError(data: unknown): {
  msg?: string | undefined
  msgCode?: string | undefined
} {
  const r = (data ?? {}) as Record<string, unknown>
  const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined)
  const msg = text(r.msg) ?? text(r.message)
  const msgCode = text(r.msgCode)
  return { msg, msgCode }
}

/** Where a request went, for error context. Never a header. */
/**
 * The error for an HTTP error status: LoginID's `msg` (or a text body) and `msgCode`, bounded and
 * redacted (`secrets` are what was sent: a session, a token, a code).
 */
export function statusError(
  status: number,
  data: unknown,
  secrets?: readonly string[],
  where: { method?: string; path?: string } = {},
): MfaError {
  const { msg, msgCode } = parseAppError(data)
  const text = msg ?? (typeof data === 'string' && data ? data : `HTTP ${status}`)
  return new MfaError(codeForStatus(status), redact(text, secrets), {
    ...where,
    status,
    msgCode: msgCode && redact(msgCode, secrets),
  })
}

export interface RequestContext {
  method: string
  path: string
  /** The caller's signal: when it is aborted, the failure is `ERR_ABORTED`. */
  signal?: AbortSignal | undefined
  /** What was sent that must never be echoed (the session, a grant token): redacted. */
  secrets?: readonly string[] | undefined
}

/** JWT/JWS-shaped strings, and long opaque strings (sessions, tokens, keys). */
const TOKEN_LIKE = /[\w-]{8,}\.[\w-]{8,}\.[\w-]*|[A-Za-z0-9+/_=-]{32,}/g

/**
 * `text` with every `secrets` entry (8+ characters), anything JWT-shaped and any long opaque
 * string replaced by `[REDACTED]`, then clipped: what a server echoes goes into errors only so.
 */
export function redact(text: string, secrets: readonly string[] = []): string {
  let out = text.length > 10_000 ? text.slice(0, 10_000) : text
  for (const secret of secrets) {
    if (secret.length >= 8) out = out.split(secret).join('[REDACTED]')
  }
  return clip(out.replace(TOKEN_LIKE, '[REDACTED]'))
}

/** Keep LoginID's text short and single-line in messages. */
export function clip(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim()
  return line.length > 200 ? `${line.slice(0, 200)}…` : line
}

/**
 * Turn whatever a fetch (plain or ofetch) threw into an `MfaError`: aborts, timeouts, network
 * failures and HTTP statuses. The original error is kept as `cause` only when it cannot hold
 * request headers (ofetch's `FetchError.options` holds them, so it is never kept).
 */
export function toMfaError(error: unknown, ctx: RequestContext): MfaError {
  if (error instanceof MfaError) return error
  const where = { method: ctx.method, path: ctx.path }
  if (ctx.signal?.aborted) {
    return new MfaError('ERR_ABORTED', 'the request was aborted', where)
  }
  const err = error as {
    name?: string
    status?: number
    statusCode?: number
    data?: unknown
    cause?: unknown
    message?: string
  }
  const causeName = (err?.cause as { name?: string } | undefined)?.name
  if (err?.name === 'TimeoutError' || causeName === 'TimeoutError') {
    return new MfaError('ERR_TIMEOUT', 'LoginID did not answer in time', where)
  }
  if (err?.name === 'AbortError' || causeName === 'AbortError') {
    return new MfaError('ERR_ABORTED', 'the request was aborted', where)
  }
  const status = err?.status ?? err?.statusCode
  if (typeof status === 'number') return statusError(status, err.data, ctx.secrets, where)
  // A network failure: keep only the low-level cause (a TypeError / system error), never the
  // ofetch error object, which references the request options and their headers.
  const low =
    err?.cause instanceof Error ? err.cause : error instanceof TypeError ? error : undefined
  return new MfaError('ERR_NETWORK', 'could not reach LoginID', {
    ...where,
    ...(low !== undefined && { cause: low }),
  })
}
