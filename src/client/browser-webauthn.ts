/**
 * `loginid-mfa-flow`: {@link browserWebAuthn}, the {@link WebAuthnAdapter} that runs passkey
 * ceremonies in a browser with `navigator.credentials` (a small hand-written ceremony: LoginID's
 * base64url JSON options in, LoginID's `creationResult` / `assertionResult` out).
 *
 * @module
 */
import { MfaError } from '../shared/errors.js'
import type {
  PasskeyAssertionResult,
  PasskeyCreationOptions,
  PasskeyCreationResult,
  PasskeyCredentialDescriptor,
  PasskeyRequestOptions,
  PasskeySignIn,
  WebAuthnAdapter,
} from '../shared/protocol.js'
import { BASE64URL_PATTERN, decodeBase64Url, encodeBase64Url } from '../internal/base64url.js'
import { isNonEmptyString } from '../internal/guards.js'
import { toPasskeyError } from './webauthn-errors.js'
import type { PasskeyCeremony } from './webauthn-errors.js'

/** Options of {@link browserWebAuthn}. */
export interface BrowserWebAuthnOptions {
  /**
   * For conditional UI (`autoFill`): require an `<input autocomplete="username webauthn">` on
   * the page before asking the browser. Without such an input the browser never shows the
   * passkey in the autofill list and the ceremony waits forever.
   * @defaultValue true
   */
  verifyAutofillInput?: boolean
  /**
   * After a passkey sign-in, list the user's passkeys (`GET /fido2/v2/passkeys`) and pass their
   * ids to `PublicKeyCredential.signalAllAcceptedCredentials` where the browser has it, so
   * password managers drop passkeys deleted at LoginID (as `LoginIDMfa` does). Best effort, in
   * the background: it never fails or delays a run. Default `true`; `false` turns it off.
   */
  signalCredentials?: boolean
}

const invalid = (what: string): MfaError =>
  new MfaError('ERR_INVALID_ARGUMENT', `passkey options: ${what}`)

/** The bytes of a base64url (or standard base64, padded) option field. */
function bytes(value: unknown, field: string): Uint8Array<ArrayBuffer> {
  if (typeof value !== 'string') throw invalid(`${field} must be a string`)
  const normalized = value.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
  if (normalized && !BASE64URL_PATTERN.test(normalized)) throw invalid(`${field} is not base64url`)
  return decodeBase64Url(normalized)
}

function descriptors(
  list: readonly PasskeyCredentialDescriptor[] | undefined,
  field: string,
): PublicKeyCredentialDescriptor[] | undefined {
  if (list === undefined || list === null) return undefined
  if (!Array.isArray(list)) throw invalid(`${field} must be an array`)
  return list.map((d, i) => {
    if (typeof d !== 'object' || d === null) throw invalid(`${field}[${i}] is invalid`)
    return {
      id: bytes(d.id, `${field}[${i}].id`),
      type: 'public-key',
      ...(Array.isArray(d.transports) && { transports: d.transports as AuthenticatorTransport[] }),
    }
  })
}

function object(value: unknown, what: string): void {
  if (typeof value !== 'object' || value === null) throw invalid(`${what} must be an object`)
}

const b64 = (buffer: ArrayBuffer | ArrayBufferView): string =>
  encodeBase64Url(
    buffer instanceof ArrayBuffer
      ? new Uint8Array(buffer)
      : new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength),
  )

/** LoginID's creation options (JSON, base64url fields) → the browser's. */
function creationOptions(options: PasskeyCreationOptions): PublicKeyCredentialCreationOptions {
  object(options, 'creation options')
  object(options.rp, 'rp')
  object(options.user, 'user')
  const { rp, user } = options
  const excludeCredentials = descriptors(options.excludeCredentials, 'excludeCredentials')
  return {
    rp: { name: typeof rp.name === 'string' ? rp.name : '', ...(rp.id && { id: rp.id }) },
    user: {
      id: bytes(user.id, 'user.id'),
      name: String(user.name ?? ''),
      displayName: String(user.displayName ?? user.name ?? ''),
    },
    challenge: bytes(options.challenge, 'challenge'),
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

/** LoginID's request options → the browser's; `autoFill` sends an empty allow list. */
function requestOptions(
  options: PasskeyRequestOptions,
  autoFill: boolean,
): PublicKeyCredentialRequestOptions {
  object(options, 'request options')
  const allowCredentials = descriptors(options.allowCredentials, 'allowCredentials')
  return {
    challenge: bytes(options.challenge, 'challenge'),
    ...(options.rpId && { rpId: options.rpId }),
    ...(autoFill ? { allowCredentials: [] } : allowCredentials && { allowCredentials }),
    ...(options.userVerification && { userVerification: options.userVerification }),
    ...(options.timeout !== undefined && { timeout: options.timeout }),
    ...(options.extensions && { extensions: options.extensions }),
  }
}

/** What a registration response may offer besides the two required buffers. */
interface AttestationResponse {
  attestationObject: ArrayBuffer
  clientDataJSON: ArrayBuffer
  getTransports?(): string[]
  getPublicKey?(): ArrayBuffer | null
  getPublicKeyAlgorithm?(): number
  getAuthenticatorData?(): ArrayBuffer
}

/** The browser's registration credential → LoginID's `creationResult` (PROTOCOL.md c.2). */
function creationResult(credential: PublicKeyCredential): PasskeyCreationResult {
  const response = credential.response as unknown as AttestationResponse
  const publicKey = response.getPublicKey?.()
  const algorithm = response.getPublicKeyAlgorithm?.()
  const authenticatorData = response.getAuthenticatorData?.()
  const transports = response.getTransports?.()
  return {
    attestationObject: b64(response.attestationObject),
    clientDataJSON: b64(response.clientDataJSON),
    credentialId: credential.id || b64(credential.rawId),
    ...(publicKey && { publicKey: b64(publicKey) }),
    ...(algorithm !== undefined && { publicKeyAlgorithm: algorithm }),
    ...(authenticatorData && { authenticatorData: b64(authenticatorData) }),
    ...(Array.isArray(transports) && { transports: [...transports] }),
  }
}

/** The browser's authentication credential → LoginID's `assertionResult` (PROTOCOL.md c.2). */
function assertionResult(credential: PublicKeyCredential): PasskeyAssertionResult {
  const response = credential.response as AuthenticatorAssertionResponse
  return {
    authenticatorData: b64(response.authenticatorData),
    clientDataJSON: b64(response.clientDataJSON),
    credentialId: credential.id || b64(credential.rawId),
    signature: b64(response.signature),
    ...(response.userHandle && { userHandle: b64(response.userHandle) }),
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

function credentials(): CredentialsContainer | undefined {
  const g = globalThis as { PublicKeyCredential?: unknown; navigator?: { credentials?: unknown } }
  const container = g.navigator?.credentials
  return typeof g.PublicKeyCredential === 'function' &&
    typeof container === 'object' &&
    container !== null
    ? (container as CredentialsContainer)
    : undefined
}

/** The pending ceremony's controller: browsers run one at a time, a newer one cancels it. */
let pending: AbortController | undefined

/**
 * Run one ceremony, honouring `signal`: an abort cancels the browser prompt and rejects at once
 * with `ERR_ABORTED`; a newer ceremony cancels this one (`ERR_PASSKEY_CANCELLED`).
 */
function ceremony(
  kind: PasskeyCeremony,
  signal: AbortSignal | undefined,
  rpId: string | undefined,
  start: (signal: AbortSignal) => Promise<Credential | null>,
): Promise<PublicKeyCredential> {
  if (signal?.aborted) return Promise.reject(abortError(signal, kind))
  pending?.abort(new DOMException('a newer WebAuthn ceremony started', 'AbortError'))
  const controller = (pending = new AbortController())
  return new Promise<PublicKeyCredential>((resolve, reject) => {
    let settled = false
    const settle = (fn: () => void): void => {
      if (settled) return
      settled = true
      signal?.removeEventListener('abort', onAbort)
      if (pending === controller) pending = undefined
      fn()
    }
    const onAbort = (): void =>
      settle(() => {
        controller.abort(signal?.reason)
        reject(abortError(signal as AbortSignal, kind))
      })
    signal?.addEventListener('abort', onAbort, { once: true })
    start(controller.signal).then(
      (credential) =>
        settle(() =>
          credential
            ? resolve(credential as PublicKeyCredential)
            : reject(toPasskeyError(new Error('the browser returned no credential'), kind)),
        ),
      (error: unknown) =>
        settle(() =>
          reject(
            signal?.aborted
              ? abortError(signal, kind)
              : toPasskeyError(error, kind, rpId === undefined ? {} : { rpId }),
          ),
        ),
    )
  })
}

/**
 * The browser's WebAuthn as a {@link WebAuthnAdapter} for `createMfaClient({ webauthn })`.
 *
 * - Takes LoginID's passkey options as decoded JSON (binary fields base64url; standard base64
 *   and `=` padding are tolerated) and runs `navigator.credentials.create` / `.get`.
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
 *   superseded by a newer one (one ceremony runs at a time, as browsers allow) is
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
  const { verifyAutofillInput = true, signalCredentials = true } = options

  const unsupported = (kind: PasskeyCeremony, what = 'WebAuthn is not available'): MfaError =>
    new MfaError(
      'ERR_PASSKEY_UNSUPPORTED',
      `${what} in this environment (passkey ${kind === 'create' ? 'registration' : 'sign-in'})`,
    )

  return {
    async create(options, signal) {
      const publicKey = creationOptions(options)
      if (signal?.aborted) throw abortError(signal, 'create')
      const container = credentials()
      if (!container) throw unsupported('create')
      const credential = await ceremony('create', signal, publicKey.rp.id, (s) =>
        container.create({ publicKey, signal: s }),
      )
      return creationResult(credential)
    },

    async get(options, signal, extra = {}) {
      const autoFill = extra.autoFill === true
      const publicKey = requestOptions(options, autoFill)
      if (signal?.aborted) throw abortError(signal, 'get')
      const container = credentials()
      if (!container) throw unsupported('get')
      if (autoFill) {
        const pkc = globalThis.PublicKeyCredential as {
          isConditionalMediationAvailable?: () => Promise<boolean>
        }
        if (!(await pkc.isConditionalMediationAvailable?.().catch(() => false))) {
          throw unsupported('get', 'conditional UI (passkey autofill) is not available')
        }
        if (
          verifyAutofillInput &&
          document.querySelectorAll("input[autocomplete$='webauthn']").length < 1
        ) {
          throw new MfaError(
            'ERR_PASSKEY_FAILED',
            'passkey autofill needs an <input autocomplete="username webauthn"> on the page',
          )
        }
      }
      const credential = await ceremony('get', signal, publicKey.rpId, (s) =>
        container.get({ publicKey, signal: s, ...(autoFill && { mediation: 'conditional' }) }),
      )
      return assertionResult(credential)
    },

    ...(signalCredentials && { afterSignIn: signalAccepted }),
  }
}

/**
 * `afterSignIn` of {@link browserWebAuthn}: fire and forget, every failure swallowed. The access
 * token goes only to LoginID's own origin (redirects are refused); the listing is dropped after
 * 10 s (`AbortSignal.timeout` exists wherever `signalAllAcceptedCredentials` does).
 */
function signalAccepted({ baseUrl, result, options, body, fetch: fetchFn = fetch }: PasskeySignIn) {
  const pkc = globalThis.PublicKeyCredential as unknown as {
    signalAllAcceptedCredentials?: (o: object) => Promise<void>
  }
  const rpId = (options.rpId as string | undefined) ?? globalThis.location?.hostname
  const userId = (body as { assertionResult?: PasskeyAssertionResult } | null)?.assertionResult
    ?.userHandle
  if (!pkc?.signalAllAcceptedCredentials || !rpId || !userId || !result.accessToken) return
  fetchFn(`${baseUrl}/fido2/v2/passkeys`, {
    headers: { Authorization: result.accessToken },
    credentials: 'omit',
    redirect: 'error',
    signal: AbortSignal.timeout(10_000),
  })
    .then((response) => response.ok && response.json())
    // Only an OK list (`.map` throws otherwise): an error must never read as "no passkey is
    // accepted", which would make password managers drop them all.
    .then((list: unknown[]) =>
      pkc.signalAllAcceptedCredentials!({
        rpId,
        userId,
        allAcceptedCredentialIds: list
          .map((p) => (p as { credentialId?: unknown } | null)?.credentialId)
          .filter(isNonEmptyString),
      }),
    )
    .catch(() => undefined)
}
