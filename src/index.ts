/**
 * `loginid-mfa-flow`: the client entry. Runs in browsers, Node, workers and React Native, and
 * never imports server code, so no API key can reach a browser bundle.
 *
 * @module loginid-mfa-flow
 */
export { MfaError, isMfaError } from './shared/errors.js'
export type { MfaErrorCode, MfaErrorOptions } from './shared/errors.js'
export { MFA_FACTOR_NAMES } from './shared/protocol.js'
export type * from './shared/protocol.js'
export { createMfaClient } from './client/create-mfa-client.js'
export { runMfa } from './client/run-mfa.js'
export { resumeMfa } from './client/resume-mfa.js'
export { peekPendingMfa } from './client/peek-pending-mfa.js'
export { fetchGrantToken } from './client/fetch-grant-token.js'
export type * from './client/types.js'
export { browserWebAuthn } from './client/browser-webauthn.js'
export type { BrowserWebAuthnOptions } from './client/browser-webauthn.js'
export { toPasskeyError } from './client/webauthn-errors.js'
export type {
  PasskeyCeremony,
  PasskeyErrorCode,
  PasskeyErrorContext,
} from './client/webauthn-errors.js'
