/**
 * `loginid-mfa-flow/server`: `verifyLoginIDToken`, offline verification of LoginID access tokens
 * against the app's JWKS.
 *
 * @module
 */
import type * as Jose from 'jose'
import type { JWTPayload } from 'jose'
import { MfaError } from '../shared/errors.js'
import { appIdFromBaseUrl, normalizeBaseUrl } from '../internal/base-url.js'
import { toMfaError } from '../internal/http.js'
import { JWKS_PATH, keyResolver, loadJose } from './internal/jwks.js'

/** Options for {@link verifyLoginIDToken}. */
export interface VerifyLoginIDTokenOptions {
  /** The app's LoginID base URL; the token's `iss` must equal it (without a trailing slash). */
  baseUrl: string
  /**
   * The app id the token's `aud` must contain.
   *
   * @defaultValue the first DNS label of `baseUrl`'s host, as LoginID derives it
   */
  appId?: string
  /** When given, the token's `username` claim must equal it (your own session's user). */
  username?: string
  /**
   * Tolerated clock skew for `exp`, `nbf` and `iat`, in seconds, from 0 to 300. (A larger value
   * is refused: it would keep expired tokens alive, and is usually milliseconds passed by mistake.)
   *
   * @defaultValue 0
   */
  clockToleranceSec?: number
}

/** The claims of a verified LoginID access token. */
export interface LoginIDTokenClaims {
  /** LoginID's user id. */
  sub: string
  /** The username the flow ran for. */
  username: string
  /** The app's base URL. */
  iss: string
  /** The app id (a string or a list containing it). */
  aud: string | string[]
  /** Issued at, in seconds since the epoch. */
  iat: number
  /** Expiry, in seconds since the epoch. */
  exp: number
  /** Not before, in seconds since the epoch, when present. */
  nbf?: number
  /** Granted scopes, when present. */
  scopes?: string[]
  /** LoginID's token type (e.g. `jwtAccess`), when present. */
  tokenType?: string
  /** Any other claim LoginID adds. */
  [claim: string]: unknown
}

const MAX_TOKEN_LENGTH = 16_384
const MAX_CLOCK_TOLERANCE_SEC = 300
/** LoginID's `tokenType` for access tokens; id, refresh, grant and signature tokens differ. */
const ACCESS_TOKEN_TYPE = 'jwtAccess'

/**
 * Verify a LoginID access token offline: ES256 signature against the app's JWKS
 * (`{baseUrl}/fido2/v2/.well-known/jwks.json`, fetched once and cached per base URL for 10
 * minutes, at most 64 KiB; at most one fetch every 30 s per base URL, failed fetches included, so
 * unknown `kid`s or a failing endpoint never cause a request flood), `iss` = the base URL, `aud` =
 * the app id, `exp`, `nbf`, `iat` (not later than now plus the tolerance), and `username` when
 * given. `exp`, `iat`, `sub` and `username` are required, and a
 * `tokenType` claim, when present, must be `jwtAccess` (LoginID signs its id, refresh and
 * payload-signature tokens with the same key, issuer and audience).
 *
 * @returns the token's claims
 * @throws MfaError `ERR_INVALID_ARGUMENT` (bad options or an empty token), `ERR_TOKEN_EXPIRED`,
 *   `ERR_TOKEN_CLAIMS` (wrong `iss`, `aud`, `username`, `tokenType`, a future `nbf` or `iat`, a
 *   missing claim),
 *   `ERR_TOKEN_INVALID` (malformed, not ES256, bad signature, no matching key),
 *   `ERR_NETWORK`, `ERR_TIMEOUT`, `ERR_LOGINID_UNAVAILABLE` (JWKS answered 5xx),
 *   `ERR_NOT_FOUND` (JWKS answered 404: a wrong `baseUrl`), `ERR_BAD_RESPONSE` (JWKS answered
 *   another status or is not a key set)
 * @see https://docs.loginid.io/backend-integration/verify-token/
 *
 * @example Check the token the browser got from runMfa
 * ```ts
 * import { isMfaError, verifyLoginIDToken } from 'loginid-mfa-flow/server'
 *
 * // Partial: the token the browser sent, your app's session, and its 401 answer.
 * declare const accessToken: string
 * declare const session: { username: string }
 * declare function reject401(): void
 *
 * try {
 *   const claims = await verifyLoginIDToken(accessToken, {
 *     baseUrl: process.env.LOGINID_BASE_URL!,
 *     username: session.username,
 *   })
 *   console.log(claims.sub)
 * } catch (err) {
 *   if (isMfaError(err, 'ERR_TOKEN_EXPIRED', 'ERR_TOKEN_INVALID', 'ERR_TOKEN_CLAIMS')) reject401()
 *   else throw err
 * }
 * ```
 */
export async function verifyLoginIDToken(
  token: string,
  options: VerifyLoginIDTokenOptions,
): Promise<LoginIDTokenClaims> {
  if (typeof options !== 'object' || options === null) {
    throw new MfaError('ERR_INVALID_ARGUMENT', 'verifyLoginIDToken needs an options object')
  }
  const { baseUrl: rawBaseUrl, appId: rawAppId, username, clockToleranceSec = 0 } = options
  const baseUrl = normalizeBaseUrl(rawBaseUrl)
  if (rawAppId !== undefined && (typeof rawAppId !== 'string' || rawAppId === '')) {
    throw new MfaError('ERR_INVALID_ARGUMENT', 'appId must be a non-empty string')
  }
  const appId = rawAppId ?? appIdFromBaseUrl(baseUrl)
  if (username !== undefined && (typeof username !== 'string' || username.trim() === '')) {
    throw new MfaError('ERR_INVALID_ARGUMENT', 'username must be a non-empty string')
  }
  if (
    // Stryker disable next-line ConditionalExpression: Number.isFinite below refuses every non-number too
    typeof clockToleranceSec !== 'number' ||
    !Number.isFinite(clockToleranceSec) ||
    clockToleranceSec < 0 ||
    clockToleranceSec > MAX_CLOCK_TOLERANCE_SEC
  ) {
    throw new MfaError(
      'ERR_INVALID_ARGUMENT',
      `clockToleranceSec must be a number of seconds from 0 to ${MAX_CLOCK_TOLERANCE_SEC}`,
    )
  }
  if (typeof token !== 'string' || token.trim() === '') {
    throw new MfaError('ERR_INVALID_ARGUMENT', 'token must be a non-empty string')
  }
  if (token.length > MAX_TOKEN_LENGTH) {
    throw new MfaError('ERR_TOKEN_INVALID', 'the token is too long to be a LoginID token')
  }

  const jose = await loadJose()
  let payload: JWTPayload
  try {
    ;({ payload } = await jose.jwtVerify(token, keyResolver(baseUrl), {
      algorithms: ['ES256'],
      issuer: baseUrl,
      audience: appId,
      clockTolerance: clockToleranceSec,
      requiredClaims: ['exp', 'iat', 'sub'],
    }))
  } catch (error) {
    throw mapJoseError(error, jose.errors)
  }
  // Stryker disable next-line ConditionalExpression: jose's requiredClaims already refuses a missing or non-numeric iat
  if (typeof payload.iat !== 'number' || payload.iat > Date.now() / 1000 + clockToleranceSec) {
    // Issued in the future: a forged clock, or a token minted for later use.
    throw new MfaError('ERR_TOKEN_CLAIMS', 'the token\'s "iat" claim is in the future')
  }
  if (payload.tokenType !== undefined && payload.tokenType !== ACCESS_TOKEN_TYPE) {
    // Same issuer, audience and key as an access token: an id, refresh, grant or payload
    // signature token must not pass for one.
    throw new MfaError('ERR_TOKEN_CLAIMS', 'the token is not an access token ("tokenType")')
  }
  if (typeof payload.username !== 'string' || payload.username === '') {
    throw new MfaError('ERR_TOKEN_CLAIMS', 'the token has no "username" claim')
  }
  if (username !== undefined && payload.username !== username.trim()) {
    throw new MfaError('ERR_TOKEN_CLAIMS', 'the token\'s "username" claim is another user')
  }
  return payload as LoginIDTokenClaims
}

/** jose's errors → MfaError. Keeps no jose error as `cause` (claim errors hold the payload). */
function mapJoseError(error: unknown, errors: typeof Jose.errors): MfaError {
  // Stryker disable next-line ConditionalExpression: toMfaError at the end returns an MfaError as is, too
  if (error instanceof MfaError) return error
  if (error instanceof errors.JWTExpired) {
    return new MfaError('ERR_TOKEN_EXPIRED', 'the token has expired')
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    return new MfaError('ERR_TOKEN_CLAIMS', `the token's "${error.claim}" claim is not valid`)
  }
  // (The key set's own failures, a timeout or a malformed set, arrive here as MfaErrors from
  // the key resolver, internal/jwks.ts, which fetches it itself: jose never fetches.)
  if (error instanceof errors.JOSEError) {
    // Malformed, not ES256, bad signature, no matching key.
    return new MfaError('ERR_TOKEN_INVALID', `the token is invalid (${error.code})`)
  }
  return toMfaError(error, { method: 'GET', path: JWKS_PATH })
}
