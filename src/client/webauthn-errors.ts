/**
 * `loginid-mfa-flow`: {@link toPasskeyError}, the one function that maps what a WebAuthn
 * ceremony throws (a `DOMException`, an `@simplewebauthn/browser` `WebAuthnError`, a plain
 * `Error`) to an {@link MfaError} with an `ERR_PASSKEY_*` code.
 *
 * @module
 */
import { MfaError } from '../shared/errors.js'
import type { MfaErrorCode } from '../shared/errors.js'

/** Which WebAuthn ceremony failed: `create` (registration) or `get` (authentication). */
export type PasskeyCeremony = 'create' | 'get'

/** Extra context for {@link toPasskeyError} messages. */
export interface PasskeyErrorContext {
  /** The relying party id the ceremony asked for; named in `ERR_PASSKEY_DOMAIN` messages. */
  rpId?: string
}

/** The codes {@link toPasskeyError} can return (besides an `MfaError` it passes through). */
export type PasskeyErrorCode = Extract<
  MfaErrorCode,
  | 'ERR_PASSKEY_CANCELLED'
  | 'ERR_PASSKEY_EXISTS'
  | 'ERR_PASSKEY_UNSUPPORTED'
  | 'ERR_PASSKEY_DOMAIN'
  | 'ERR_PASSKEY_FAILED'
>

/** The codes, in the order of the capture groups of `BY_CODE` and of `OUTCOMES`. */
const CODES: readonly PasskeyErrorCode[] = [
  'ERR_PASSKEY_CANCELLED',
  'ERR_PASSKEY_EXISTS',
  'ERR_PASSKEY_UNSUPPORTED',
  'ERR_PASSKEY_DOMAIN',
  'ERR_PASSKEY_FAILED',
]

/**
 * `ERROR_*` codes: `@simplewebauthn/browser`'s `WebAuthnError` (CEREMONY_ABORTED, INVALID_DOMAIN,
 * ...) and `@loginid/websdk3` 3.5.0's `PasskeyError` (PASSKEY_ABORTED, DOMAIN_MISMATCH, ...;
 * PROTOCOL.md b.5), whose `name` is left "Error", so the code (or the DOMException in `cause`) is
 * what tells it. One capture group per entry of `CODES`; anchored, so unknown codes
 * (ERROR_PASSTHROUGH_SEE_CAUSE_PROPERTY, ...) match none. The last group: the relying party's
 * options were wrong, not the user's platform.
 */
const BY_CODE =
  /^ERROR_(?:((?:CEREMONY|PASSKEY)_ABORTED)|(AUTHENTICATOR_PREVIOUSLY_REGISTERED|PASSKEY_EXISTS)|(AUTHENTICATOR_MISSING_(?:DISCOVERABLE_CREDENTIAL|USER_VERIFICATION)_SUPPORT|AUTO_REGISTER_USER_VERIFICATION_FAILURE|AUTHENTICATOR_NO_SUPPORTED_PUBKEYCREDPARAMS_ALG|(?:DISCOVERABLE_CREDENTIALS|USER_VERIFICATION|ALGORITHMS)_UNSUPPORTED)|(INVALID_DOMAIN|INVALID_RP_ID|DOMAIN_MISMATCH)|(MALFORMED_PUBKEYCREDPARAMS|INVALID_USER_ID_LENGTH|(?:AUTHENTICATOR_)?GENERAL_ERROR|AUTHENTICATOR_UNKNOWN_ERROR))$/

/**
 * Whether `code` is a passkey `ERROR_*` code this package maps: every `PasskeyError.code` of
 * websdk3 3.5.0 (`ERROR_PASSKEY_ABORTED`, ...) and `@simplewebauthn/browser`'s mapped codes.
 */
export function isPasskeyCode(code: unknown): boolean {
  return typeof code === 'string' && BY_CODE.test(code)
}

/** The MfaError code of an `ERROR_*` code, or undefined. */
function codeForCode(code: string): PasskeyErrorCode | undefined {
  const match = BY_CODE.exec(code)
  return match ? CODES[match.findIndex((group, i) => i > 0 && group !== undefined) - 1] : undefined
}

// What @simplewebauthn/browser throws (plain `Error`s) when the platform has no WebAuthn.
const UNSUPPORTED_MESSAGE =
  /WebAuthn is not supported|does not support WebAuthn autofill|(PublicKeyCredential|navigator) is not defined/

/** How each code (in `CODES` order) ends the sentence "passkey registration / sign-in ...". */
const OUTCOMES = [
  'was cancelled or not allowed',
  'was refused: the passkey may already exist',
  'is not supported here',
  'is not allowed for this relying party',
  'failed',
]

function codeForName(name: string, ceremony: PasskeyCeremony): PasskeyErrorCode {
  switch (name) {
    case 'NotAllowedError':
    case 'AbortError':
      return 'ERR_PASSKEY_CANCELLED'
    case 'InvalidStateError':
      return ceremony === 'create' ? 'ERR_PASSKEY_EXISTS' : 'ERR_PASSKEY_FAILED'
    case 'NotSupportedError':
    case 'ConstraintError':
      return 'ERR_PASSKEY_UNSUPPORTED'
    case 'SecurityError':
      return 'ERR_PASSKEY_DOMAIN'
    default:
      return /cancel/i.test(name) ? 'ERR_PASSKEY_CANCELLED' : 'ERR_PASSKEY_FAILED'
  }
}

/** The code for any thrown value (never an `MfaError`). */
function classify(error: unknown, ceremony: PasskeyCeremony): PasskeyErrorCode {
  if (typeof error !== 'object' || error === null) return 'ERR_PASSKEY_FAILED'
  const { name, code, message } = error as { name?: unknown; code?: unknown; message?: unknown }
  if (typeof code === 'string') {
    const mapped = codeForCode(code)
    // ERROR_PASSTHROUGH_SEE_CAUSE_PROPERTY and unknown codes fall through to the name.
    if (mapped) return mapped
  }
  if (typeof message === 'string' && UNSUPPORTED_MESSAGE.test(message)) {
    return 'ERR_PASSKEY_UNSUPPORTED'
  }
  return typeof name === 'string' ? codeForName(name, ceremony) : 'ERR_PASSKEY_FAILED'
}

/**
 * Map whatever a WebAuthn ceremony threw to an {@link MfaError}. The original error is kept as
 * `cause`; an `MfaError` is returned as is.
 *
 * | thrown | code |
 * |---|---|
 * | `NotAllowedError`, `AbortError`, `ERROR_CEREMONY_ABORTED`, a name containing "cancel" | `ERR_PASSKEY_CANCELLED` |
 * | `InvalidStateError` on `create`, `ERROR_AUTHENTICATOR_PREVIOUSLY_REGISTERED` | `ERR_PASSKEY_EXISTS` |
 * | `NotSupportedError`, `ConstraintError`, no WebAuthn in this environment | `ERR_PASSKEY_UNSUPPORTED` |
 * | `SecurityError`, `ERROR_INVALID_DOMAIN`, `ERROR_INVALID_RP_ID` | `ERR_PASSKEY_DOMAIN` |
 * | anything else (`UnknownError`, `TypeError`, `InvalidStateError` on `get`, ...) | `ERR_PASSKEY_FAILED` |
 *
 * websdk3's `PasskeyError` codes map too: `ERROR_PASSKEY_ABORTED` → cancelled;
 * `ERROR_PASSKEY_EXISTS` → exists; `ERROR_DOMAIN_MISMATCH` → domain;
 * `ERROR_DISCOVERABLE_CREDENTIALS_UNSUPPORTED`, `ERROR_USER_VERIFICATION_UNSUPPORTED`,
 * `ERROR_ALGORITHMS_UNSUPPORTED` → unsupported; `ERROR_GENERAL_ERROR`,
 * `ERROR_AUTHENTICATOR_UNKNOWN_ERROR` → failed. (`runMfa` maps such an error by the DOMException
 * in its `cause` when it has one, as it does for the built-in client.)
 *
 * `@simplewebauthn/browser`'s `WebAuthnError` is recognised by its `code`, then by its `name`
 * (which is the underlying `DOMException`'s name). Objects are matched by shape, not by class,
 * so errors from another realm or another copy of a library map the same way.
 *
 * Note that a NotAllowedError is what browsers throw for a cancelled prompt, a timed-out prompt
 * and "no passkey on this device" alike: all three are `ERR_PASSKEY_CANCELLED`, which `runMfa`
 * treats as "fall back to another factor".
 *
 * @param error - What the ceremony threw.
 * @param ceremony - `create` (registration) or `get` (authentication).
 * @param context - Optional context for the message.
 * @returns An `MfaError` with one of the {@link PasskeyErrorCode} codes, or `error` itself when
 *   it already is an `MfaError`.
 *
 * @example Map a browser error
 * ```ts
 * import { toPasskeyError } from 'loginid-mfa-flow'
 *
 * // Partial: the request options, and your app's "try another way" prompt.
 * declare const publicKey: PublicKeyCredentialRequestOptions
 * declare function offerAnotherFactor(): void
 *
 * try {
 *   await navigator.credentials.get({ publicKey })
 * } catch (err) {
 *   const mapped = toPasskeyError(err, 'get', publicKey.rpId === undefined ? {} : { rpId: publicKey.rpId })
 *   if (mapped.code === 'ERR_PASSKEY_CANCELLED') offerAnotherFactor()
 *   else throw mapped
 * }
 * ```
 */
export function toPasskeyError(
  error: unknown,
  ceremony: PasskeyCeremony,
  context: PasskeyErrorContext = {},
): MfaError {
  if (error instanceof MfaError) return error
  const code = classify(error, ceremony)
  let message = `passkey ${ceremony === 'create' ? 'registration' : 'sign-in'} ${OUTCOMES[CODES.indexOf(code)]}`
  if (code === 'ERR_PASSKEY_DOMAIN' && context.rpId !== undefined) {
    message = `${message} (rpId "${context.rpId}")`
  }
  const name = (error as { name?: unknown } | null)?.name
  if (typeof name === 'string' && name !== '' && name !== 'Error') message = `${message} (${name})`
  return new MfaError(code, message, { cause: error })
}
