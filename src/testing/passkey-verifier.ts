// Over 400 lines: one verifier whose per-check failure reasons and their docs belong together.
/**
 * `loginid-mfa-flow/testing`: {@link createPasskeyVerifier}, real WebAuthn verification of
 * LoginID's `creationResult` / `assertionResult` with `@simplewebauthn/server` (an optional peer
 * dependency, loaded on first use). The LoginID simulator uses it for `passkey:reg`,
 * `passkey:auth` and `passkey:tx`; app tests can use it directly.
 *
 * @module
 */
import type {
  AuthenticationResponseJSON,
  AuthenticatorTransportFuture,
  RegistrationResponseJSON,
} from '@simplewebauthn/server'
import type * as SimpleWebAuthnServerModule from '@simplewebauthn/server'
import {
  BASE64URL_PATTERN as BASE64URL,
  decodeBase64Url,
  encodeBase64Url,
  toBase64Url as normalize,
} from '../internal/base64url.js'
import { isRecord } from '../internal/guards.js'
import { MfaError } from '../shared/errors.js'

/** Options of {@link createPasskeyVerifier}. */
export interface PasskeyVerifierOptions {
  /** The relying party id the credentials belong to (e.g. `'localhost'`, `'example.com'`). */
  rpId: string
  /** The origin(s) `clientDataJSON.origin` must equal (e.g. `'http://localhost:5173'`). */
  origin: string | readonly string[]
  /**
   * Require the UV (user verified) flag. The UP (user present) flag is always required.
   * @defaultValue true
   */
  requireUserVerification?: boolean
}

/** A stored passkey, as the verifier returns it after registration and takes it for assertions. */
export interface PasskeyCredentialRecord {
  /** Credential id, base64url. */
  id: string
  /** COSE_Key of the credential: base64url (as returned) or bytes. */
  publicKey: string | Uint8Array
  /** The last signature counter seen (0 after registration). */
  signCount: number
  /** Transports the client reported at registration. */
  transports?: readonly string[]
}

/**
 * Why a verification failed:
 * - `malformed`: a field is missing, not a string, not base64url, or `clientDataJSON` is not JSON;
 * - `wrong_type`: `clientDataJSON.type` is not `webauthn.create` / `webauthn.get`;
 * - `challenge_mismatch`, `origin_mismatch`, `rp_id_mismatch`: the ceremony was not for this
 *   challenge, origin or relying party;
 * - `credential_mismatch`: the attested credential id differs from `credentialId`;
 * - `unknown_credential`: no given credential has the assertion's `credentialId`;
 * - `user_mismatch`: the assertion's `userHandle` is not the expected one;
 * - `user_presence`, `user_verification`: the UP / UV flag is missing;
 * - `sign_count`: the signature counter did not increase (a cloned authenticator, or a replay);
 * - `bad_signature`: the assertion's signature does not verify;
 * - `attestation`: the attestation statement does not verify or its format is unsupported;
 * - `invalid`: anything else `@simplewebauthn/server` rejected.
 */
export type PasskeyVerificationFailureReason =
  | 'malformed'
  | 'wrong_type'
  | 'challenge_mismatch'
  | 'origin_mismatch'
  | 'rp_id_mismatch'
  | 'credential_mismatch'
  | 'unknown_credential'
  | 'user_mismatch'
  | 'user_presence'
  | 'user_verification'
  | 'sign_count'
  | 'bad_signature'
  | 'attestation'
  | 'invalid'

/** A failed verification: the simulator turns it into a failed factor (401 offering `external`). */
export interface PasskeyVerificationFailure {
  verified: false
  /** Why, as a closed set of reasons. */
  reason: PasskeyVerificationFailureReason
  /** A human-readable detail (never contains key material). */
  message: string
}

/** A verified registration. */
export interface PasskeyRegistrationSuccess {
  verified: true
  /** The credential to store for the user (`publicKey` is base64url COSE_Key). */
  credential: PasskeyCredentialRecord & { publicKey: string; transports: string[] }
  /** The authenticator's AAGUID (UUID string; all zeros for `none` attestation). */
  aaguid: string
  /** The attestation format (`'none'`, `'packed'`, ...). */
  fmt: string
  /** Whether the UV flag was set. */
  userVerified: boolean
  /** Whether the credential is backed up (BS flag), like a synced passkey. */
  backedUp: boolean
}

/** A verified assertion. */
export interface PasskeyAssertionSuccess {
  verified: true
  /** The id of the credential that signed. */
  credentialId: string
  /** The counter to store for the credential from now on. */
  newSignCount: number
  /** Whether the UV flag was set. */
  userVerified: boolean
  /** The assertion's `userHandle` (base64url), when the authenticator returned one. */
  userHandle?: string
}

/** The result of {@link PasskeyVerifier.verifyRegistration}. */
export type PasskeyRegistrationVerification =
  PasskeyRegistrationSuccess | PasskeyVerificationFailure

/** The result of {@link PasskeyVerifier.verifyAssertion}. */
export type PasskeyAssertionVerification = PasskeyAssertionSuccess | PasskeyVerificationFailure

/** Input of {@link PasskeyVerifier.verifyRegistration}. */
export interface VerifyPasskeyRegistrationOptions {
  /** LoginID's `creationResult` as received (any JSON value; its shape is checked). */
  creationResult: unknown
  /** The challenge of the creation options, base64url (padding and standard base64 tolerated). */
  expectedChallenge: string
  /** Overrides the verifier's `requireUserVerification` for this call. */
  requireUserVerification?: boolean
}

/** Input of {@link PasskeyVerifier.verifyAssertion}. */
export interface VerifyPasskeyAssertionOptions {
  /** LoginID's `assertionResult` as received (any JSON value; its shape is checked). */
  assertionResult: unknown
  /** The challenge of the request options, base64url (padding and standard base64 tolerated). */
  expectedChallenge: string
  /**
   * The stored credential, or all of the user's credentials (the one whose id is the
   * assertion's `credentialId` is used), or `undefined` (→ `unknown_credential`).
   */
  credential: PasskeyCredentialRecord | readonly PasskeyCredentialRecord[] | undefined
  /** When given, an assertion with a different `userHandle` fails with `user_mismatch`. */
  expectedUserHandle?: string
  /** Overrides the verifier's `requireUserVerification` for this call. */
  requireUserVerification?: boolean
}

/** What {@link createPasskeyVerifier} returns. */
export interface PasskeyVerifier {
  /** The relying party id it verifies for. */
  readonly rpId: string
  /** The accepted origins. */
  readonly origins: readonly string[]
  /**
   * Verify a registration. Resolves `{ verified: false, reason, message }` for every bad
   * input; rejects only when `@simplewebauthn/server` is not installed.
   */
  verifyRegistration(
    options: VerifyPasskeyRegistrationOptions,
  ): Promise<PasskeyRegistrationVerification>
  /**
   * Verify an assertion (`passkey:auth` / `passkey:tx`). Resolves `{ verified: false, reason,
   * message }` for every bad input; rejects only when `@simplewebauthn/server` is not installed.
   */
  verifyAssertion(options: VerifyPasskeyAssertionOptions): Promise<PasskeyAssertionVerification>
}

type SimpleWebAuthnServer = typeof SimpleWebAuthnServerModule

let serverModule: Promise<SimpleWebAuthnServer> | undefined

/** Loads the optional peer dependency once; a clear error when it is missing. */
function loadServer(): Promise<SimpleWebAuthnServer> {
  serverModule ??= import('@simplewebauthn/server').catch((error: unknown) => {
    serverModule = undefined
    throw new MfaError(
      'ERR_WEBAUTHN_UNAVAILABLE',
      'passkey verification needs the optional peer dependency @simplewebauthn/server ' +
        '(npm install --save-dev @simplewebauthn/server@13)',
      { cause: error },
    )
  })
  return serverModule
}

/** A WebAuthn RP id: a bare host name (no scheme, port, path or spaces). */
function isDomain(value: string): boolean {
  try {
    return new URL(`https://${value}/`).hostname === value.toLowerCase()
  } catch {
    return false
  }
}

function fail(
  reason: PasskeyVerificationFailureReason,
  message: string,
): PasskeyVerificationFailure {
  return { verified: false, reason, message }
}

/** Required base64url string fields of a result; `undefined` when one is missing or bad. */
function pickFields<K extends string>(
  value: unknown,
  required: readonly K[],
): (Record<K, string> & Record<string, unknown>) | undefined {
  if (!isRecord(value)) return undefined
  const record = value
  for (const key of required) {
    const field = record[key]
    if (typeof field !== 'string' || !BASE64URL.test(field)) return undefined
  }
  return record as Record<K, string> & Record<string, unknown>
}

/** The checks of `clientDataJSON` that get a precise reason (SimpleWebAuthn repeats them). */
function checkClientData(
  clientDataJSON: string,
  type: 'webauthn.create' | 'webauthn.get',
  expectedChallenge: string,
  origins: readonly string[],
): PasskeyVerificationFailure | undefined {
  let data: unknown
  try {
    data = JSON.parse(new TextDecoder().decode(decodeBase64Url(clientDataJSON)))
  } catch {
    return fail('malformed', 'clientDataJSON is not base64url JSON')
  }
  if (typeof data !== 'object' || data === null) {
    return fail('malformed', 'clientDataJSON is not an object')
  }
  const client = data as { type?: unknown; challenge?: unknown; origin?: unknown }
  if (client.type !== type) {
    return fail(
      'wrong_type',
      `clientDataJSON.type is ${JSON.stringify(client.type)}, expected "${type}"`,
    )
  }
  if (typeof client.challenge !== 'string' || client.challenge !== normalize(expectedChallenge)) {
    return fail('challenge_mismatch', 'clientDataJSON.challenge is not the expected challenge')
  }
  if (typeof client.origin !== 'string' || !origins.includes(client.origin)) {
    return fail(
      'origin_mismatch',
      `clientDataJSON.origin ${JSON.stringify(client.origin)} is not one of ${origins.join(', ')}`,
    )
  }
  return undefined
}

/** A reason for what `@simplewebauthn/server` threw, from its (v13) messages. */
function reasonFor(
  error: unknown,
  fallback: PasskeyVerificationFailureReason,
): PasskeyVerificationFailure {
  const message = error instanceof Error ? error.message : String(error)
  const reason: PasskeyVerificationFailureReason = /RP ?ID/i.test(message)
    ? 'rp_id_mismatch'
    : /User presence|not present/i.test(message)
      ? 'user_presence'
      : /User verification/i.test(message)
        ? 'user_verification'
        : /counter/i.test(message)
          ? 'sign_count'
          : /challenge/i.test(message)
            ? 'challenge_mismatch'
            : /origin/i.test(message)
              ? 'origin_mismatch'
              : /attestation/i.test(message)
                ? 'attestation'
                : fallback
  return fail(reason, message)
}

/**
 * Create a verifier for LoginID's passkey results, built on `@simplewebauthn/server` v13
 * (`verifyRegistrationResponse` / `verifyAuthenticationResponse`). It maps LoginID's
 * `creationResult` / `assertionResult` JSON to SimpleWebAuthn's `RegistrationResponseJSON` /
 * `AuthenticationResponseJSON` and checks type, challenge, origin, rpId hash, UP/UV flags, the
 * attestation (any format SimpleWebAuthn supports, `none` included), the signature and the
 * signature counter.
 *
 * Failures are results, not exceptions: `{ verified: false, reason, message }` with a reason
 * from {@link PasskeyVerificationFailureReason}, which the simulator turns into a failed factor
 * (401 offering `external`, as LoginID does). The only rejection is an `MfaError`
 * `ERR_WEBAUTHN_UNAVAILABLE` when `@simplewebauthn/server` (an optional peer dependency) is not
 * installed; it is loaded with a dynamic `import()` on first use, so `loginid-mfa-flow/testing`
 * loads without it.
 *
 * Sign counts: an assertion whose counter is not greater than the stored one fails with
 * `sign_count`, unless both are 0 (synced passkeys always report 0). Store `newSignCount` after
 * each success.
 *
 * @param options - See {@link PasskeyVerifierOptions}.
 * @returns A {@link PasskeyVerifier}.
 *
 * @example Verify a registration, then an assertion
 * ```ts
 * import { createPasskeyVerifier } from 'loginid-mfa-flow/testing'
 * import type { PasskeyCredentialRecord } from 'loginid-mfa-flow/testing'
 *
 * // Partial: what the browser sent back, and the challenges your server issued.
 * declare const creationResult: unknown
 * declare const assertionResult: unknown
 * declare const challenge1: string
 * declare const challenge2: string
 *
 * const credentials: PasskeyCredentialRecord[] = []
 * const verifier = createPasskeyVerifier({ rpId: 'localhost', origin: 'http://localhost' })
 * const reg = await verifier.verifyRegistration({ creationResult, expectedChallenge: challenge1 })
 * if (!reg.verified) throw new Error(reg.reason)
 * credentials.push(reg.credential)
 *
 * const auth = await verifier.verifyAssertion({
 *   assertionResult,
 *   expectedChallenge: challenge2,
 *   credential: credentials,
 * })
 * const used = credentials.find((c) => auth.verified && c.id === auth.credentialId)
 * if (auth.verified && used) used.signCount = auth.newSignCount
 * ```
 */
export function createPasskeyVerifier(options: PasskeyVerifierOptions): PasskeyVerifier {
  const { rpId, origin, requireUserVerification: defaultUserVerification = true } = options
  if (typeof rpId !== 'string' || rpId === '') {
    throw new MfaError('ERR_INVALID_ARGUMENT', 'passkey verifier: rpId must be a non-empty string')
  }
  if (!isDomain(rpId)) {
    throw new MfaError(
      'ERR_INVALID_ARGUMENT',
      `passkey verifier: rpId must be a domain such as localhost or example.com, not '${rpId}'`,
    )
  }
  const origins: readonly string[] = typeof origin === 'string' ? [origin] : [...(origin ?? [])]
  if (origins.length === 0 || origins.some((o) => typeof o !== 'string' || o === '')) {
    throw new MfaError(
      'ERR_INVALID_ARGUMENT',
      'passkey verifier: origin must be a non-empty string',
    )
  }

  return {
    rpId,
    origins,

    async verifyRegistration({ creationResult, expectedChallenge, requireUserVerification }) {
      const server = await loadServer()
      const result = pickFields(creationResult, [
        'attestationObject',
        'clientDataJSON',
        'credentialId',
      ])
      if (!result) {
        return fail(
          'malformed',
          'creationResult needs base64url attestationObject, clientDataJSON, credentialId',
        )
      }
      const clientFailure = checkClientData(
        result.clientDataJSON,
        'webauthn.create',
        expectedChallenge,
        origins,
      )
      if (clientFailure) return clientFailure
      const transports = Array.isArray(result.transports)
        ? result.transports.filter((t): t is string => typeof t === 'string')
        : []
      const response: RegistrationResponseJSON = {
        id: result.credentialId,
        rawId: result.credentialId,
        type: 'public-key',
        clientExtensionResults: {},
        response: {
          attestationObject: result.attestationObject,
          clientDataJSON: result.clientDataJSON,
          transports: transports as AuthenticatorTransportFuture[],
          ...(typeof result.publicKey === 'string' && { publicKey: result.publicKey }),
          ...(typeof result.publicKeyAlgorithm === 'number' && {
            publicKeyAlgorithm: result.publicKeyAlgorithm,
          }),
          ...(typeof result.authenticatorData === 'string' && {
            authenticatorData: result.authenticatorData,
          }),
        },
      }
      let verification: Awaited<ReturnType<SimpleWebAuthnServer['verifyRegistrationResponse']>>
      try {
        verification = await server.verifyRegistrationResponse({
          response,
          expectedChallenge: normalize(expectedChallenge),
          expectedOrigin: [...origins],
          expectedRPID: rpId,
          requireUserVerification: requireUserVerification ?? defaultUserVerification,
        })
      } catch (error) {
        return reasonFor(error, 'invalid')
      }
      if (!verification.verified)
        return fail('attestation', 'the attestation statement does not verify')
      const info = verification.registrationInfo
      if (info.credential.id !== result.credentialId) {
        return fail(
          'credential_mismatch',
          'credentialId is not the id in the attested credential data',
        )
      }
      return {
        verified: true,
        credential: {
          id: info.credential.id,
          publicKey: encodeBase64Url(info.credential.publicKey),
          signCount: info.credential.counter,
          transports,
        },
        aaguid: info.aaguid,
        fmt: info.fmt,
        userVerified: info.userVerified,
        backedUp: info.credentialBackedUp,
      }
    },

    async verifyAssertion({
      assertionResult,
      expectedChallenge,
      credential,
      expectedUserHandle,
      requireUserVerification,
    }) {
      const server = await loadServer()
      const result = pickFields(assertionResult, [
        'authenticatorData',
        'clientDataJSON',
        'credentialId',
        'signature',
      ])
      if (!result || (result.userHandle !== undefined && typeof result.userHandle !== 'string')) {
        return fail(
          'malformed',
          'assertionResult needs base64url authenticatorData, clientDataJSON, credentialId, signature',
        )
      }
      const candidates: readonly PasskeyCredentialRecord[] =
        credential === undefined
          ? []
          : Array.isArray(credential)
            ? credential
            : [credential as PasskeyCredentialRecord]
      const stored = candidates.find((c) => normalize(c.id) === result.credentialId)
      if (!stored) return fail('unknown_credential', 'no registered passkey has this credentialId')
      const clientFailure = checkClientData(
        result.clientDataJSON,
        'webauthn.get',
        expectedChallenge,
        origins,
      )
      if (clientFailure) return clientFailure
      const userHandle =
        typeof result.userHandle === 'string' && result.userHandle !== ''
          ? result.userHandle
          : undefined
      if (
        expectedUserHandle !== undefined &&
        userHandle !== undefined &&
        normalize(userHandle) !== normalize(expectedUserHandle)
      ) {
        return fail('user_mismatch', 'userHandle is not the expected user')
      }
      let publicKey: Uint8Array<ArrayBuffer>
      try {
        publicKey =
          typeof stored.publicKey === 'string'
            ? decodeBase64Url(normalize(stored.publicKey))
            : new Uint8Array(stored.publicKey)
      } catch {
        return fail('invalid', 'the stored credential public key is not base64url')
      }
      const response: AuthenticationResponseJSON = {
        id: result.credentialId,
        rawId: result.credentialId,
        type: 'public-key',
        clientExtensionResults: {},
        response: {
          authenticatorData: result.authenticatorData,
          clientDataJSON: result.clientDataJSON,
          signature: result.signature,
          ...(userHandle !== undefined && { userHandle }),
        },
      }
      let verification: Awaited<ReturnType<SimpleWebAuthnServer['verifyAuthenticationResponse']>>
      try {
        verification = await server.verifyAuthenticationResponse({
          response,
          expectedChallenge: normalize(expectedChallenge),
          expectedOrigin: [...origins],
          expectedRPID: rpId,
          credential: {
            id: normalize(stored.id),
            publicKey,
            counter: stored.signCount,
            ...(stored.transports && {
              transports: [...stored.transports] as AuthenticatorTransportFuture[],
            }),
          },
          requireUserVerification: requireUserVerification ?? defaultUserVerification,
        })
      } catch (error) {
        // Past the checks above, what is left to throw is mostly an unparsable signature.
        return reasonFor(error, 'bad_signature')
      }
      if (!verification.verified) return fail('bad_signature', 'the signature does not verify')
      return {
        verified: true,
        credentialId: result.credentialId,
        newSignCount: verification.authenticationInfo.newCounter,
        userVerified: verification.authenticationInfo.userVerified,
        ...(userHandle !== undefined && { userHandle }),
      }
    },
  }
}
