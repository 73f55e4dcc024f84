/**
 * `loginid-mfa-flow/server`: the backend half. Holds the LoginID API key; never import it from
 * browser code.
 *
 * - {@link createManagementClient}: grant tokens and token checks with the API key;
 * - {@link verifyLoginIDToken}: offline verification of LoginID access tokens (JWKS, ES256);
 * - {@link createExternalAuthHandler}: the Fetch-standard route the browser's `fetchGrantToken`
 *   calls during the `external` step;
 * - {@link toNodeListener}: that route for `node:http` and Express;
 * - {@link runDoctor}: checks a real LoginID application (`npx loginid-mfa-flow doctor`); its
 *   checks load lazily on the first call.
 *
 * Everything but `toNodeListener` runs on edge runtimes (Workers, Vercel Edge, Deno, Bun).
 *
 * @module loginid-mfa-flow/server
 */
export { MfaError, isMfaError } from './shared/errors.js'
export type { MfaErrorCode, MfaErrorOptions } from './shared/errors.js'
export { VERSION } from './shared/version.js'
export { createManagementClient, MAX_USERNAME_LENGTH } from './server/create-management-client.js'
export type {
  GrantResult,
  ManagementClient,
  ManagementClientOptions,
  ManagementRequestOptions,
} from './server/create-management-client.js'
export { verifyLoginIDToken } from './server/verify-login-id-token.js'
export type {
  LoginIDTokenClaims,
  VerifyLoginIDTokenOptions,
} from './server/verify-login-id-token.js'
export {
  createExternalAuthHandler,
  EXTERNAL_AUTH_MAX_BODY_BYTES,
} from './server/create-external-auth-handler.js'
export type {
  ExternalAuthAuthorize,
  ExternalAuthErrorCode,
  ExternalAuthErrorInfo,
  ExternalAuthHandler,
  ExternalAuthHandlerOptions,
  ExternalAuthIdentity,
  ExternalAuthRequestBody,
} from './server/create-external-auth-handler.js'
export { toNodeListener } from './server/to-node-listener.js'
export type {
  FetchHandler,
  NodeListener,
  NodeListenerOptions,
  NodeRequest,
} from './server/to-node-listener.js'
export { runDoctor } from './server/doctor.js'
export type {
  DoctorCheck,
  DoctorCheckId,
  DoctorCheckStatus,
  DoctorOptions,
  DoctorReport,
} from './server/doctor.js'
