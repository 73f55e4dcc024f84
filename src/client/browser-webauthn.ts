/**
 * `loginid-mfa-flow`: {@link browserWebAuthn}, the {@link WebAuthnAdapter} that runs passkey
 * ceremonies in a browser with `@simplewebauthn/browser` (`navigator.credentials`).
 *
 * @module
 */
import {
  WebAuthnAbortService,
  browserSupportsWebAuthn,
  browserSupportsWebAuthnAutofill,
  startAuthentication,
  startRegistration,
} from '@simplewebauthn/browser'
import type {
  AuthenticationResponseJSON,
  AuthenticatorTransportFuture,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialDescriptorJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/browser'
import { MfaError } from '../shared/errors.js'
import type {
  PasskeyAssertionResult,
  PasskeyCreationOptions,
  PasskeyCreationResult,
  PasskeyCredentialDescriptor,
  PasskeyRequestOptions,
  WebAuthnAdapter,
} from '../shared/protocol.js'
import { toPasskeyError } from './webauthn-errors.js'
import type { PasskeyCeremony } from './webauthn-errors.js'

/** Options of {@link browserWebAuthn}. */
export interface BrowserWebAuthnOptions {
  /**
   * For conditional UI (`autoFill`): require an `<input autocomplete="username webauthn">` on
   * the page before asking the browser, as `@simplewebauthn/browser` does. Without such an input
   * the browser never shows the passkey in the autofill list and the ceremony waits forever.
   * @defaultValue true
   */
  verifyAutofillInput?: boolean
}

const BASE64URL = /^[A-Za-z0-9_-]*$/

/** Base64url without padding; tolerates standard base64 and `=` padding, as LoginID's SDK does. */
function toBase64Url(value: unknown, field: string): string {
  if (typeof value !== 'string') {
    throw new MfaError('ERR_INVALID_ARGUMENT', `passkey options: ${field} must be a string`)
  }
  const normalized = value.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
  if (!BASE64URL.test(normalized)) {
    throw new MfaError('ERR_INVALID_ARGUMENT', `passkey options: ${field} is not base64url`)
  }
  return normalized
}

function toDescriptors(
  list: readonly PasskeyCredentialDescriptor[] | undefined,
  field: string,
): PublicKeyCredentialDescriptorJSON[] | undefined {
  if (list === undefined || list === null) return undefined
  if (!Array.isArray(list)) {
    throw new MfaError('ERR_INVALID_ARGUMENT', `passkey options: ${field} must be an array`)
  }
  return list.map((descriptor, index) => {
    if (typeof descriptor !== 'object' || descriptor === null) {
      throw new MfaError('ERR_INVALID_ARGUMENT', `passkey options: ${field}[${index}] is invalid`)
    }
    return {
      id: toBase64Url(descriptor.id, `${field}[${index}].id`),
      type: 'public-key',
      ...(Array.isArray(descriptor.transports) && {
        transports: descriptor.transports as AuthenticatorTransportFuture[],
      }),
    }
  })
}

function requireObject(value: unknown, what: string): void {
  if (typeof value !== 'object' || value === null) {
    throw new MfaError('ERR_INVALID_ARGUMENT', `passkey options: ${what} must be an object`)
  }
}

/** LoginID's creation options (already JSON with base64url fields) → SimpleWebAuthn's JSON. */
function toCreationOptionsJSON(
  options: PasskeyCreationOptions,
): PublicKeyCredentialCreationOptionsJSON {
  requireObject(options, 'creation options')
  requireObject(options.rp, 'rp')
  requireObject(options.user, 'user')
  const { rp, user } = options
  const excludeCredentials = toDescriptors(options.excludeCredentials, 'excludeCredentials')
  return {
    rp: { name: typeof rp.name === 'string' ? rp.name : '', ...(rp.id && { id: rp.id }) },
    user: {
      id: toBase64Url(user.id, 'user.id'),
      name: String(user.name ?? ''),
      displayName: String(user.displayName ?? user.name ?? ''),
    },
    challenge: toBase64Url(options.challenge, 'challenge'),
    pubKeyCredParams: Array.isArray(options.pubKeyCredParams) ? options.pubKeyCredParams : [],
    ...(options.timeout !== undefined && { timeout: options.timeout }),
    ...(excludeCredentials && { excludeCredentials }),
    ...(options.authenticatorSelection && {
      authenticatorSelection: options.authenticatorSelection,
    }),
    ...(options.attestation && { attestation: options.attestation }),
    ...(options.extensions && { extensions: options.extensions }),
  }
}

/** LoginID's request options → SimpleWebAuthn's JSON. */
function toRequestOptionsJSON(
  options: PasskeyRequestOptions,
): PublicKeyCredentialRequestOptionsJSON {
  requireObject(options, 'request options')
  const allowCredentials = toDescriptors(options.allowCredentials, 'allowCredentials')
  return {
    challenge: toBase64Url(options.challenge, 'challenge'),
    ...(options.rpId && { rpId: options.rpId }),
    ...(allowCredentials && { allowCredentials }),
    ...(options.userVerification && { userVerification: options.userVerification }),
    ...(options.timeout !== undefined && { timeout: options.timeout }),
    ...(options.extensions && { extensions: options.extensions }),
  }
}

/** SimpleWebAuthn's registration JSON → LoginID's `creationResult` (PROTOCOL.md c.2). */
function toCreationResult(credential: RegistrationResponseJSON): PasskeyCreationResult {
  const { response } = credential
  return {
    attestationObject: response.attestationObject,
    clientDataJSON: response.clientDataJSON,
    credentialId: credential.id || credential.rawId,
    ...(response.publicKey !== undefined && { publicKey: response.publicKey }),
    ...(response.publicKeyAlgorithm !== undefined && {
      publicKeyAlgorithm: response.publicKeyAlgorithm,
    }),
    ...(response.authenticatorData !== undefined && {
      authenticatorData: response.authenticatorData,
    }),
    ...(Array.isArray(response.transports) && { transports: [...response.transports] }),
  }
}

/** SimpleWebAuthn's authentication JSON → LoginID's `assertionResult` (PROTOCOL.md c.2). */
function toAssertionResult(credential: AuthenticationResponseJSON): PasskeyAssertionResult {
  const { response } = credential
  return {
    authenticatorData: response.authenticatorData,
    clientDataJSON: response.clientDataJSON,
    credentialId: credential.id || credential.rawId,
    signature: response.signature,
    ...(response.userHandle && { userHandle: response.userHandle }),
  }
}

function abortError(signal: AbortSignal, ceremony: PasskeyCeremony): MfaError {
  const reason: unknown = signal.reason
  const what = ceremony === 'create' ? 'passkey registration' : 'passkey sign-in'
  if ((reason as { name?: unknown } | undefined)?.name === 'TimeoutError') {
    return new MfaError('ERR_TIMEOUT', `${what} timed out`, { cause: reason })
  }
  return new MfaError('ERR_ABORTED', `${what} was aborted`, { cause: reason })
}

function hasWebAuthn(): boolean {
  const nav = (globalThis as { navigator?: { credentials?: unknown } }).navigator
  return (
    browserSupportsWebAuthn() && typeof nav?.credentials === 'object' && nav.credentials !== null
  )
}

/**
 * Run one ceremony, honouring `signal`: an abort cancels the browser prompt through
 * `WebAuthnAbortService.cancelCeremony()` and rejects at once with `ERR_ABORTED`.
 */
function runCeremony<T>(
  ceremony: PasskeyCeremony,
  signal: AbortSignal | undefined,
  rpId: string | undefined,
  start: () => Promise<T>,
): Promise<T> {
  if (signal?.aborted) return Promise.reject(abortError(signal, ceremony))
  return new Promise<T>((resolve, reject) => {
    let settled = false
    const onAbort = (): void => {
      if (settled || !signal) return
      settled = true
      WebAuthnAbortService.cancelCeremony()
      reject(abortError(signal, ceremony))
    }
    signal?.addEventListener('abort', onAbort, { once: true })
    start().then(
      (value) => {
        if (settled) return
        settled = true
        signal?.removeEventListener('abort', onAbort)
        resolve(value)
      },
      (error: unknown) => {
        if (settled) return
        settled = true
        signal?.removeEventListener('abort', onAbort)
        reject(
          signal?.aborted
            ? abortError(signal, ceremony)
            : toPasskeyError(error, ceremony, rpId === undefined ? {} : { rpId }),
        )
      },
    )
  })
}

/**
 * The browser's WebAuthn as a {@link WebAuthnAdapter} for `createMfaClient({ webauthn })`.
 *
 * - Takes LoginID's passkey options as decoded JSON (binary fields base64url; standard base64
 *   and `=` padding are tolerated) and runs `startRegistration` / `startAuthentication` from
 *   `@simplewebauthn/browser`.
 * - Returns `creationResult` / `assertionResult` exactly as LoginID takes them: base64url without
 *   padding, `credentialId` = the credential's id, plus `publicKey` (DER SPKI),
 *   `publicKeyAlgorithm`, `authenticatorData` and `transports` when the browser provides them.
 * - `get(options, signal, { autoFill: true })` uses conditional mediation (passkeys in the
 *   username field's autofill list). The page needs an `<input autocomplete="username webauthn">`.
 * - Failures reject with an {@link MfaError}, mapped by {@link toPasskeyError}:
 *   `ERR_PASSKEY_CANCELLED`, `ERR_PASSKEY_EXISTS`, `ERR_PASSKEY_UNSUPPORTED` (also when this
 *   environment has no WebAuthn, or no conditional UI for `autoFill`), `ERR_PASSKEY_DOMAIN`,
 *   `ERR_PASSKEY_FAILED`; malformed options are `ERR_INVALID_ARGUMENT`.
 * - Aborting `signal` cancels the browser prompt and rejects at once with `ERR_ABORTED`
 *   (`ERR_TIMEOUT` when the signal's reason is a `TimeoutError`, as from
 *   `AbortSignal.timeout()`), not `ERR_PASSKEY_CANCELLED`: the app stopped the run, the user did
 *   not decline the passkey, so `runMfa` must not fall back to another factor. A ceremony
 *   superseded by a newer one (`@simplewebauthn/browser` allows one at a time) is
 *   `ERR_PASSKEY_CANCELLED`.
 *
 * @param options - See {@link BrowserWebAuthnOptions}.
 * @returns A {@link WebAuthnAdapter}.
 *
 * @example Use it with the built-in client
 * ```ts
 * import { browserWebAuthn, createMfaClient, fetchGrantToken, runMfa } from 'loginid-mfa-flow'
 *
 * // Partial: your app's login dialog.
 * declare function showPasswordDialog(): Promise<{ password: string } | null>
 *
 * const client = createMfaClient({ baseUrl: 'https://myapp.api.loginid.io', webauthn: browserWebAuthn() })
 * const result = await runMfa({
 *   client,
 *   username: 'ada@example.com',
 *   externalAuthenticator: () => showPasswordDialog(),
 *   tokenProvider: fetchGrantToken('/api/loginid/external-auth'),
 * })
 * ```
 *
 * @example Run a ceremony directly
 * ```ts
 * import { browserWebAuthn } from 'loginid-mfa-flow'
 * import type { PasskeyRequestOptions } from 'loginid-mfa-flow'
 *
 * // Partial: WebAuthn request options as JSON (LoginID's passkey:auth option, decoded).
 * declare const requestOptions: PasskeyRequestOptions
 *
 * const webauthn = browserWebAuthn()
 * const controller = new AbortController()
 * const assertionResult = await webauthn.get(requestOptions, controller.signal)
 * ```
 */
export function browserWebAuthn(options: BrowserWebAuthnOptions = {}): WebAuthnAdapter {
  const { verifyAutofillInput = true } = options

  const unsupported = (ceremony: PasskeyCeremony, what = 'WebAuthn is not available'): MfaError =>
    new MfaError(
      'ERR_PASSKEY_UNSUPPORTED',
      `${what} in this environment (passkey ${ceremony === 'create' ? 'registration' : 'sign-in'})`,
    )

  return {
    async create(creationOptions, signal) {
      const optionsJSON = toCreationOptionsJSON(creationOptions)
      if (signal?.aborted) throw abortError(signal, 'create')
      if (!hasWebAuthn()) throw unsupported('create')
      const credential = await runCeremony('create', signal, optionsJSON.rp.id, () =>
        startRegistration({ optionsJSON }),
      )
      return toCreationResult(credential)
    },

    async get(requestOptions, signal, extra = {}) {
      const optionsJSON = toRequestOptionsJSON(requestOptions)
      const autoFill = extra.autoFill === true
      if (signal?.aborted) throw abortError(signal, 'get')
      if (!hasWebAuthn()) throw unsupported('get')
      if (autoFill && !(await browserSupportsWebAuthnAutofill())) {
        throw unsupported('get', 'conditional UI (passkey autofill) is not available')
      }
      const credential = await runCeremony('get', signal, optionsJSON.rpId, () =>
        startAuthentication({
          optionsJSON,
          useBrowserAutofill: autoFill,
          verifyBrowserAutofillInput: verifyAutofillInput,
        }),
      )
      return toAssertionResult(credential)
    },
  }
}
