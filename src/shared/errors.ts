/**
 * Errors shared by every entry point (`loginid-mfa-flow`, `loginid-mfa-flow/server`,
 * `loginid-mfa-flow/testing`).
 *
 * @module
 */

/**
 * Every code an {@link MfaError} can carry. The union is closed: `switch (err.code)` is exhaustive.
 *
 * Groups:
 * - input and transport: `ERR_INVALID_ARGUMENT`, `ERR_NETWORK`, `ERR_TIMEOUT`, `ERR_ABORTED`,
 *   `ERR_BAD_RESPONSE`;
 * - LoginID HTTP answers: `ERR_BAD_REQUEST` (400), `ERR_SESSION_INVALID` (401 without a session:
 *   the MFA session is unknown, expired or used up), `ERR_FORBIDDEN` (403), `ERR_NOT_FOUND` (404),
 *   `ERR_LOGINID_UNAVAILABLE` (5xx), `ERR_HTTP` (any other status);
 * - the flow driver: `ERR_EXTERNAL_DENIED`, `ERR_TOKEN_PROVIDER`, `ERR_TOKEN_REJECTED`,
 *   `ERR_UNSUPPORTED_ACTION`, `ERR_UNKNOWN_ACTION`, `ERR_NO_ACTION`, `ERR_MAX_STEPS`,
 *   `ERR_OTP_FAILED`, `ERR_OTP_NO_CONTACT`;
 * - passkeys: `ERR_PASSKEY_CANCELLED`, `ERR_PASSKEY_EXISTS`, `ERR_PASSKEY_UNSUPPORTED`,
 *   `ERR_PASSKEY_DOMAIN`, `ERR_PASSKEY_FAILED`, `ERR_WEBAUTHN_UNAVAILABLE`;
 * - server: `ERR_API_KEY_INVALID` (401 from the management API), `ERR_API_KEY_SCOPE` (403),
 *   `ERR_TOKEN_EXPIRED`, `ERR_TOKEN_INVALID`, `ERR_TOKEN_CLAIMS`;
 * - suspended flows: `ERR_NO_PENDING_FLOW`, `ERR_SESSION_EXPIRED`, `ERR_STATE_MISMATCH`,
 *   `ERR_STORAGE`.
 */
export type MfaErrorCode =
  | 'ERR_INVALID_ARGUMENT'
  | 'ERR_NETWORK'
  | 'ERR_TIMEOUT'
  | 'ERR_ABORTED'
  | 'ERR_BAD_RESPONSE'
  | 'ERR_BAD_REQUEST'
  | 'ERR_SESSION_INVALID'
  | 'ERR_FORBIDDEN'
  | 'ERR_NOT_FOUND'
  | 'ERR_LOGINID_UNAVAILABLE'
  | 'ERR_HTTP'
  | 'ERR_EXTERNAL_DENIED'
  | 'ERR_TOKEN_PROVIDER'
  | 'ERR_TOKEN_REJECTED'
  | 'ERR_UNSUPPORTED_ACTION'
  | 'ERR_UNKNOWN_ACTION'
  | 'ERR_NO_ACTION'
  | 'ERR_MAX_STEPS'
  | 'ERR_OTP_FAILED'
  | 'ERR_OTP_NO_CONTACT'
  | 'ERR_PASSKEY_CANCELLED'
  | 'ERR_PASSKEY_EXISTS'
  | 'ERR_PASSKEY_UNSUPPORTED'
  | 'ERR_PASSKEY_DOMAIN'
  | 'ERR_PASSKEY_FAILED'
  | 'ERR_WEBAUTHN_UNAVAILABLE'
  | 'ERR_API_KEY_INVALID'
  | 'ERR_API_KEY_SCOPE'
  | 'ERR_TOKEN_EXPIRED'
  | 'ERR_TOKEN_INVALID'
  | 'ERR_TOKEN_CLAIMS'
  | 'ERR_NO_PENDING_FLOW'
  | 'ERR_SESSION_EXPIRED'
  | 'ERR_STATE_MISMATCH'
  | 'ERR_STORAGE'

/** Options for {@link MfaError}. Never put a header value, API key, session or token here. */
export interface MfaErrorOptions {
  /** The underlying error (a network failure, a DOMException, a callback's throw). */
  cause?: unknown
  /** HTTP status of the LoginID (or app backend) response, when there was one. */
  status?: number | undefined
  /** LoginID's `msgCode` from an `{ msg, msgCode }` error body, when there was one. */
  msgCode?: string | undefined
  /** HTTP method of the failed request. */
  method?: string | undefined
  /** Path of the failed request, without query string or host (e.g. `/fido2/v2/mfa/begin`). */
  path?: string | undefined
}

const PREFIX = '[loginid-mfa-flow]'

/** The optional fields an MfaError copies from its options, in `toJSON` order. */
const FIELDS = ['status', 'msgCode', 'method', 'path'] as const

/**
 * The one error class of this library. `code` says what happened; for HTTP failures `status`,
 * `msgCode`, `method` and `path` say where. It never holds a header value: the `Authorization`
 * header carries the API key on the server and the MFA session in the browser.
 *
 * @example Narrow with the code
 * ```ts
 * import { isMfaError, MfaError, runMfa } from 'loginid-mfa-flow'
 * import type { RunMfaOptions } from 'loginid-mfa-flow'
 *
 * // Partial: the run's options and your app's message display.
 * declare const options: RunMfaOptions
 * declare function showMessage(text: string): void
 *
 * try {
 *   await runMfa(options)
 * } catch (err) {
 *   if (isMfaError(err, 'ERR_EXTERNAL_DENIED')) showMessage('Sign-in was declined')
 *   else if (err instanceof MfaError && err.code === 'ERR_ABORTED') showMessage('Cancelled')
 *   else throw err
 * }
 * ```
 */
export class MfaError extends Error {
  override readonly name = 'MfaError'
  /** What happened; a member of the closed {@link MfaErrorCode} union. */
  readonly code: MfaErrorCode
  /** HTTP status, for HTTP failures. */
  declare readonly status?: number
  /** LoginID's `msgCode`, for LoginID HTTP failures. */
  declare readonly msgCode?: string
  /** HTTP method, for HTTP failures. */
  declare readonly method?: string
  /** Request path (no host, no query), for HTTP failures. */
  declare readonly path?: string

  constructor(code: MfaErrorCode, message: string, options: MfaErrorOptions = {}) {
    const { cause, status, msgCode, method, path } = options
    const http = [status, msgCode].filter((part) => part !== undefined && part !== '')
    super(
      `${PREFIX}${method && path ? ` ${method} ${path}:` : ''}${http.length ? ` ${http.join(' ')}:` : ''} ${message}`,
      cause === undefined ? undefined : { cause },
    )
    this.code = code
    for (const key of FIELDS)
      if (options[key] !== undefined) Object.assign(this, { [key]: options[key] })
  }

  toJSON(): Record<string, unknown> {
    const json: Record<string, unknown> = {
      name: this.name,
      code: this.code,
      message: this.message,
    }
    for (const key of FIELDS) if (this[key] !== undefined) json[key] = this[key]
    return json
  }
}

/**
 * Whether `err` is an {@link MfaError}, optionally with one of the given codes. Narrows the type.
 *
 * @example
 * ```ts
 * import { isMfaError } from 'loginid-mfa-flow'
 *
 * // Partial: what was caught, and your app's retry.
 * declare const err: unknown
 * declare function retryLater(): void
 *
 * if (isMfaError(err, 'ERR_TIMEOUT', 'ERR_NETWORK')) retryLater()
 * ```
 */
export function isMfaError<C extends MfaErrorCode = MfaErrorCode>(
  err: unknown,
  ...codes: C[]
): err is MfaError & { readonly code: C } {
  return err instanceof MfaError && (codes.length === 0 || codes.includes(err.code as C))
}

/** Internal (not exported by any entry): an `ERR_INVALID_ARGUMENT` error for a bad argument. */
export const invalidArgument = (message: string): MfaError =>
  new MfaError('ERR_INVALID_ARGUMENT', message)
