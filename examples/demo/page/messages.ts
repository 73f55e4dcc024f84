// What the demo tells the user for each MfaError code: a sentence for the person, the code for
// the developer. The same table is in docs/client.md ("What to tell the user"); a test keeps the
// two equal.
import type { MfaErrorCode } from '../../../src/index.js'

export const USER_MESSAGES: Record<MfaErrorCode, string> = {
  ERR_EXTERNAL_DENIED: 'We could not confirm it is you. Check your password and try again.',
  ERR_ABORTED: 'Sign-in was cancelled.',
  ERR_TIMEOUT: 'This is taking too long. Check your connection and try again.',
  ERR_NETWORK: 'We cannot reach the sign-in service. Check your connection and try again.',
  ERR_LOGINID_UNAVAILABLE: 'Sign-in is unavailable right now. Please try again in a few minutes.',
  ERR_PASSKEY_CANCELLED: 'The passkey prompt was closed. Try again, or use another way to sign in.',
  ERR_PASSKEY_EXISTS: 'This device already has a passkey for your account. Sign in with it.',
  ERR_PASSKEY_UNSUPPORTED: 'This browser cannot use passkeys. Use another way to sign in.',
  ERR_WEBAUTHN_UNAVAILABLE: 'This browser cannot use passkeys. Use another way to sign in.',
  ERR_PASSKEY_DOMAIN: 'Passkeys are not set up for this site. Please contact support.',
  ERR_PASSKEY_FAILED: 'The passkey did not work. Try again, or use another way to sign in.',
  ERR_OTP_FAILED: 'That code was not right too many times. Start again to get a new code.',
  ERR_OTP_NO_CONTACT: 'We have no email address or phone number to send a code to.',
  ERR_TOKEN_PROVIDER: 'We could not confirm your sign-in. Please sign in again.',
  ERR_TOKEN_REJECTED: 'We could not confirm your sign-in. Please sign in again.',
  ERR_SESSION_INVALID: 'Your sign-in expired. Please start again.',
  ERR_SESSION_EXPIRED: 'Your sign-in expired. Please start again.',
  ERR_NO_PENDING_FLOW: 'That sign-in link was already used or has expired. Please sign in again.',
  ERR_STATE_MISMATCH: 'That sign-in link does not belong to this browser. Please sign in again.',
  ERR_STORAGE: 'Your browser blocked storage this sign-in needs. Allow site data and try again.',
  ERR_TOKEN_EXPIRED: 'Your sign-in expired. Please sign in again.',
  ERR_TOKEN_INVALID: 'We could not confirm your sign-in. Please sign in again.',
  ERR_TOKEN_CLAIMS: 'We could not confirm your sign-in. Please sign in again.',
  ERR_INVALID_ARGUMENT: 'Something went wrong on our side. Please try again later.',
  ERR_BAD_RESPONSE: 'Something went wrong on our side. Please try again later.',
  ERR_BAD_REQUEST: 'Something went wrong on our side. Please try again later.',
  ERR_FORBIDDEN: 'Something went wrong on our side. Please try again later.',
  ERR_NOT_FOUND: 'Something went wrong on our side. Please try again later.',
  ERR_HTTP: 'Something went wrong on our side. Please try again later.',
  ERR_UNSUPPORTED_ACTION: 'Something went wrong on our side. Please try again later.',
  ERR_UNKNOWN_ACTION: 'Something went wrong on our side. Please try again later.',
  ERR_NO_ACTION: 'Something went wrong on our side. Please try again later.',
  ERR_MAX_STEPS: 'Something went wrong on our side. Please try again later.',
  ERR_API_KEY_INVALID: 'Something went wrong on our side. Please try again later.',
  ERR_API_KEY_SCOPE: 'Something went wrong on our side. Please try again later.',
}

/** The sentence for an error, and the code (for the developer) when it is an MfaError. */
export function describeError(error: unknown): { sentence: string; code: string | undefined } {
  const code = (error as { code?: unknown } | null)?.code
  if (typeof code === 'string' && code in USER_MESSAGES) {
    return { sentence: USER_MESSAGES[code as MfaErrorCode], code }
  }
  return { sentence: 'Something went wrong. Please try again.', code: undefined }
}
