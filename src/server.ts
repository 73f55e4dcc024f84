/**
 * `loginid-mfa-flow/server`: the backend half. Holds the LoginID API key; never import it from
 * browser code.
 *
 * @module loginid-mfa-flow/server
 */
export { MfaError, isMfaError } from './shared/errors.js'
export type { MfaErrorCode, MfaErrorOptions } from './shared/errors.js'
