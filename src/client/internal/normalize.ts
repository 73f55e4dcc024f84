// Internal: whatever a client, an adapter or an app callback threw, as an MfaError. Knows what
// `LoginIDMfa` (@loginid/websdk3 3.5.0) throws (PROTOCOL.md b.5): `ApiError { status, body,
// request }` (its request holds the session header, so it is never kept), `LoginIDError`,
// `PasskeyError { code, cause }` whose `name` is left "Error", and `AbortError`.
import { MfaError } from '../../shared/errors.js'
import type { MfaFactorName } from '../../shared/protocol.js'
import { redact, statusError } from '../../internal/http.js'
import { isRecord } from '../../internal/guards.js'
import { isPasskeyCode, toPasskeyError } from '../webauthn-errors.js'

/** LoginID msgCodes of a 401 that mean the MFA session itself is bad, not the factor's input. */
export const SESSION_CODES: readonly string[] = ['session_expired', 'unauthorized']

/** DOMException names a WebAuthn ceremony rejects with. */
const WEBAUTHN_NAME =
  /^(NotAllowed|Abort|InvalidState|NotSupported|Security|Constraint|Unknown)Error$/

const nameOf = (value: unknown): string => {
  const name = (value as { name?: unknown } | null | undefined)?.name
  return typeof name === 'string' ? name : ''
}

/**
 * A cause that is safe to keep: an HTTP library's error (ofetch's `FetchError`, an axios error,
 * websdk's `ApiError`) references the request and its `Authorization` header, so only its
 * low-level cause is kept.
 */
export function safeCause(error: unknown): unknown {
  const holdsRequest =
    isRecord(error) &&
    (error.name === 'FetchError' || 'options' in error || 'request' in error || 'config' in error)
  return holdsRequest ? (error.cause instanceof Error ? error.cause : undefined) : error
}

/**
 * A passkey ceremony failure (from the built-in client, a `LoginIDMfa`, or an adapter) as an
 * `ERR_PASSKEY_*` MfaError, else undefined. websdk's `PasskeyError` is told by its `code` or by a
 * `cause` with a WebAuthn DOMException name; the cause, when there is one, decides the code, so
 * both clients report the same thing.
 */
export function asPasskeyFailure(error: unknown, action: MfaFactorName): MfaError | undefined {
  if (error instanceof MfaError)
    return /^ERR_(PASSKEY|WEBAUTHN)_/.test(error.code) ? error : undefined
  const e = error as { code?: unknown; cause?: unknown } | null
  const ceremony = action === 'passkey:reg' ? 'create' : 'get'
  const sdkCode = isPasskeyCode(e?.code)
  const wrapped = WEBAUTHN_NAME.test(nameOf(e?.cause))
  if (sdkCode || wrapped || nameOf(error) === 'PasskeyError') {
    return toPasskeyError(wrapped || !sdkCode ? (e?.cause ?? error) : error, ceremony)
  }
  return WEBAUTHN_NAME.test(nameOf(error)) ? toPasskeyError(error, ceremony) : undefined
}

/** Any error a client threw, as an MfaError (never keeping a request, a header or a session). */
export function normalize(error: unknown, action?: MfaFactorName): MfaError {
  if (error instanceof MfaError) return error
  const e = error as {
    status?: unknown
    body?: unknown
    data?: unknown
    request?: { headers?: Record<string, unknown> }
  } | null
  if (typeof e?.status === 'number') {
    const auth = e.request?.headers?.Authorization ?? e.request?.headers?.authorization
    // Stryker disable next-line ArrayDeclaration: redacting a constant the text never holds changes nothing
    return statusError(e.status, e.body ?? e.data, typeof auth === 'string' ? [auth] : [])
  }
  // Stryker disable next-line MethodExpression: a passkey step classifies its own errors before they get here
  const passkey = action?.startsWith('passkey:') ? asPasskeyFailure(error, action) : undefined
  if (passkey) return passkey
  const name = nameOf(error)
  if (name === 'AbortError') return new MfaError('ERR_ABORTED', 'the MFA client was aborted')
  const cause = safeCause(error)
  const options = cause === undefined ? {} : { cause }
  if (name === 'TypeError' || name === 'FetchError')
    return new MfaError('ERR_NETWORK', 'could not reach LoginID', options)
  const message = (error as { message?: unknown } | null)?.message
  const detail =
    name === 'LoginIDError' && typeof message === 'string' ? `: ${redact(message)}` : ''
  return new MfaError('ERR_BAD_RESPONSE', `the MFA client failed${detail}`, options)
}
