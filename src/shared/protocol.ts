/**
 * LoginID MFA protocol types, shared by every entry point and exported from `loginid-mfa-flow`.
 *
 * Two layers:
 * - wire types (`MfaNextBody`, `MfaBody`, `MfaActionBody`, ...): the JSON LoginID sends and
 *   takes on `/fido2/v2/mfa/*` (see docs/loginid/PROTOCOL.md);
 * - SDK types (`MfaClient`, `MfaSessionResult`, `RemainingFactor`, ...): the shapes of
 *   `LoginIDMfa` from `@loginid/websdk3` >= 3, declared here so that the package never depends
 *   on websdk3. A real `LoginIDMfa` satisfies {@link MfaClient} structurally.
 *
 * @module
 */
import { FACTORS } from './factors.js'

/** Every factor name LoginID's MFA API knows. */
export type MfaFactorName =
  | 'passkey:reg'
  | 'passkey:auth'
  | 'passkey:tx'
  | 'otp:email'
  | 'otp:sms'
  | 'otp:verify'
  | 'external'

/**
 * All factor names, in `LoginIDMfa`'s `nextAction` priority order, then `otp:verify`.
 *
 * @example Check a factor name from elsewhere
 * ```ts
 * import { MFA_FACTOR_NAMES } from 'loginid-mfa-flow'
 * import type { MfaFactorName } from 'loginid-mfa-flow'
 *
 * const isFactor = (name: string): name is MfaFactorName =>
 *   (MFA_FACTOR_NAMES as readonly string[]).includes(name)
 * ```
 */
export const MFA_FACTOR_NAMES: readonly MfaFactorName[] = /* @__PURE__ */ Object.keys(
  FACTORS,
) as MfaFactorName[]

/** Whether LoginID's flow is a sign-in or a sign-up. */
export type MfaFlow = 'signIn' | 'signUp'

// ---------------------------------------------------------------------------------------------
// Wire types (JSON bodies of /fido2/v2/mfa/*)
// ---------------------------------------------------------------------------------------------

/** LoginID's error body `{ msg, msgCode }`. `msgCode` is an open string. */
export interface AppErrorBody {
  msg: string
  msgCode: string
}

/** One option of an action: an OTP contact, or the passkey options blob. */
export interface MfaOptionBody {
  value: string
  name?: string
  label?: string
}

/** One action LoginID offers next. */
export interface MfaActionBody {
  action: { name: string; label: string; desc?: string }
  options?: MfaOptionBody[]
}

/** "More steps needed": 200 from `begin`/`payload`, 401 (with a session) from factor calls. */
export interface MfaNextBody {
  flow?: MfaFlow
  msg: string
  msgCode: string
  next?: MfaActionBody[]
  session?: string
}

/** "Step succeeded, flow complete": 200 from factor calls. */
export interface MfaBody {
  flow?: MfaFlow
  idToken?: string
  accessToken?: string
  refreshToken?: string
  payload?: string
  payloadSignature?: string
  deviceId?: string
  passkeyInfo?: PasskeyInfo
}

/** Information about the passkey used or created in the step that completed the flow. */
export interface PasskeyInfo {
  passkeyId: string
  aaguid: string
  /** Base64url COSE public key. */
  publicKey: string
  assertionResult?: PasskeyAssertionResult
  creationResult?: PasskeyCreationResult
}

/** Best-effort device information sent with `begin`. Every field is optional. */
export interface DeviceInfo {
  clientType?: 'browser' | 'webview' | 'other'
  clientName?: string
  clientVersion?: string
  osName?: string
  osVersion?: string
  osArch?: string
  /** The LoginID-issued id from an earlier success on this device. */
  deviceId?: string
  hasBluetooth?: boolean
  screenWidth?: number
  screenHeight?: number
  lastUsedAt?: string
  /** A JSON string of capability flags. */
  webauthnCapabilities?: string
}

/** The user of `begin`. */
export interface MfaUser {
  username: string
  usernameType: 'email' | 'phone' | 'other'
  displayName?: string
  name?: string
  phone?: string
}

/** Body of `POST /fido2/v2/mfa/begin`. */
export interface MfaBeginRequestBody {
  user?: MfaUser
  deviceInfo?: DeviceInfo
  trustItems?: Record<string, string>
  payload?: string
  traceId?: string
}

// ---------------------------------------------------------------------------------------------
// WebAuthn JSON (what LoginID sends in passkey options and takes back), base64url everywhere
// ---------------------------------------------------------------------------------------------

/** A credential descriptor; `id` is base64url. */
export interface PasskeyCredentialDescriptor {
  type: 'public-key'
  id: string
  transports?: string[]
}

/** Registration options LoginID sends for `passkey:reg` (binary fields base64url). */
export interface PasskeyCreationOptions {
  rp: { id?: string; name: string }
  user: { id: string; name: string; displayName: string }
  challenge: string
  pubKeyCredParams: { type: 'public-key'; alg: number }[]
  timeout?: number
  excludeCredentials?: PasskeyCredentialDescriptor[]
  authenticatorSelection?: {
    authenticatorAttachment?: 'platform' | 'cross-platform'
    requireResidentKey?: boolean
    residentKey?: 'discouraged' | 'preferred' | 'required'
    userVerification?: 'required' | 'preferred' | 'discouraged'
  }
  attestation?: 'none' | 'indirect' | 'direct' | 'enterprise'
  extensions?: Record<string, unknown>
}

/** Authentication options LoginID sends for `passkey:auth` / `passkey:tx`. */
export interface PasskeyRequestOptions {
  challenge: string
  rpId: string
  allowCredentials: PasskeyCredentialDescriptor[]
  userVerification: 'required' | 'preferred' | 'discouraged'
  timeout?: number
  extensions?: Record<string, unknown>
}

/** `creationResult` as LoginID takes it (binary fields base64url without padding). */
export interface PasskeyCreationResult {
  attestationObject: string
  clientDataJSON: string
  credentialId: string
  publicKey?: string
  publicKeyAlgorithm?: number
  authenticatorData?: string
  transports?: string[]
}

/** `assertionResult` as LoginID takes it (binary fields base64url without padding). */
export interface PasskeyAssertionResult {
  authenticatorData: string
  clientDataJSON: string
  credentialId: string
  signature: string
  userHandle?: string
}

/**
 * The seam between the built-in client and a WebAuthn implementation: the browser's
 * `navigator.credentials` (`browserWebAuthn`), or the software
 * authenticator from `loginid-mfa-flow/testing` in Node tests.
 *
 * Implementations reject with an `MfaError` whose code is one of the `ERR_PASSKEY_*` codes, or
 * with a `DOMException` that the client maps to one.
 */
export interface WebAuthnAdapter {
  /** Run a registration ceremony. */
  create(options: PasskeyCreationOptions, signal?: AbortSignal): Promise<PasskeyCreationResult>
  /** Run an authentication ceremony; `autoFill` asks for conditional mediation. */
  get(
    options: PasskeyRequestOptions,
    signal?: AbortSignal,
    extra?: { autoFill?: boolean },
  ): Promise<PasskeyAssertionResult>
  /**
   * Optional: called by the built-in client, not awaited, after LoginID accepts a passkey
   * assertion (`passkey:auth`, `passkey:tx`; `result.accessToken` is set when the flow
   * completed), as `LoginIDMfa` does. `browserWebAuthn` lists the user's
   * passkeys and calls `PublicKeyCredential.signalAllAcceptedCredentials` where the browser has
   * it. Must not throw; whatever it does never delays or fails the run.
   */
  afterSignIn?(info: PasskeySignIn): void
}

/** What {@link WebAuthnAdapter.afterSignIn} gets. Holds the access token: never log it. */
export interface PasskeySignIn {
  /** LoginID's base URL (no trailing slash). */
  baseUrl: string
  /** The completed result (its `accessToken` authorises `GET /fido2/v2/passkeys`). */
  result: MfaSessionResult
  /** The request options of the ceremony (their `rpId`). */
  options: Record<string, unknown>
  /** What was sent to LoginID: `{ assertionResult }` (its `userHandle`). */
  body: unknown
  /** The `fetch` the client was created with, if any. */
  fetch?: typeof fetch | undefined
}

// ---------------------------------------------------------------------------------------------
// SDK types (the shapes of LoginIDMfa from @loginid/websdk3 >= 3)
// ---------------------------------------------------------------------------------------------

/** Options of `beginFlow`, as `LoginIDMfa` takes them, plus `signal`. */
export interface MfaBeginOptions {
  displayName?: string
  usernameType?: 'email' | 'phone' | 'other'
  /** Transaction payload for `passkey:tx` (checkout) flows. */
  txPayload?: string
  merchantTrustId?: string
  /** Alias of `merchantTrustId`. */
  checkoutId?: string
  traceId?: string
  name?: string
  phone?: string
  /** A LoginID-issued device id from an earlier success on this device. */
  deviceId?: string
  /** Abandon the request when aborted (built-in client only). */
  signal?: AbortSignal
}

/** Options of `performAction`, as `LoginIDMfa` takes them, plus `signal`. */
export interface MfaPerformActionOptions {
  /** The MFA session; defaults to the one the client holds. */
  session?: string
  /** The factor's payload: the grant token for `external`, the code for `otp:verify`, ... */
  payload?: string
  /** Conditional mediation for `passkey:auth`. */
  autoFill?: boolean
  displayName?: string
  txPayload?: string
  /** Abandon the request (and the WebAuthn ceremony) when aborted (built-in client only). */
  signal?: AbortSignal
}

/** One factor LoginID offers, as `LoginIDMfa` reports it. */
export interface RemainingFactor {
  type: MfaFactorName
  label: string
  description?: string
  /** OTP contacts (labels), for `otp:email` / `otp:sms`. */
  options?: string[]
  /** The passkey options blob, for `passkey:*`. */
  value?: string
}

/** The result of every `beginFlow` / `performAction`, as `LoginIDMfa` returns it. */
export interface MfaSessionResult {
  flow?: MfaFlow
  remainingFactors: RemainingFactor[]
  username?: string
  isComplete: boolean
  session?: string
  idToken?: string
  accessToken?: string
  refreshToken?: string
  payloadSignature?: string
  nextAction?: MfaFactorName
  merchantTrustId?: string
  walletTrustId?: string
  passkeyCredential?: PasskeyInfo
  deviceId?: string
}

/**
 * What `runMfa` drives: a structural subset of `LoginIDMfa` (`@loginid/websdk3` >= 3).
 * Pass a real `LoginIDMfa`, or the built-in client from `createMfaClient`.
 */
export interface MfaClient {
  beginFlow(username: string, options?: MfaBeginOptions): Promise<MfaSessionResult>
  performAction(factor: MfaFactorName, options?: MfaPerformActionOptions): Promise<MfaSessionResult>
}
