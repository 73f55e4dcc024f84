// Over 400 lines: declarations only (every public option, context, event and result type, with its docs).
/**
 * `loginid-mfa-flow`: the option, context, event and result types of {@link runMfa},
 * {@link resumeMfa}, {@link peekPendingMfa}, {@link createMfaClient} and {@link fetchGrantToken}.
 *
 * @module
 */
import type { MfaError, MfaErrorCode } from '../shared/errors.js'
import type {
  MfaBeginOptions,
  MfaClient,
  MfaFactorName,
  MfaFlow,
  MfaSessionResult,
  PasskeyInfo,
  RemainingFactor,
  WebAuthnAdapter,
} from '../shared/protocol.js'

// ---------------------------------------------------------------------------------------------
// createMfaClient
// ---------------------------------------------------------------------------------------------

/**
 * A key-value store: for the built-in client's state (the current MFA session and the LoginID
 * device id), and for a flow suspended by `ctx.redirect` (see {@link runMfa}).
 * `localStorage` and `sessionStorage` fit; so does any object with these three methods,
 * synchronous or asynchronous.
 */
export interface MfaStorage {
  /** The stored string, or `null` when there is none. */
  getItem(key: string): string | null | Promise<string | null>
  /** Store a string. */
  setItem(key: string, value: string): void | Promise<void>
  /** Forget a key. */
  removeItem(key: string): void | Promise<void>
}

/** Options of {@link createMfaClient}. */
export interface CreateMfaClientOptions {
  /**
   * The application's LoginID base URL, `https://<appId>.api.loginid.io` (http only for
   * localhost / 127.0.0.1). Paths such as `/fido2/v2/mfa/begin` are appended to it.
   */
  baseUrl: string
  /**
   * The LoginID app id, used only to name storage keys (`LoginID_<appId>_mfa-session`).
   * @defaultValue the first DNS label of `baseUrl`'s host, as `@loginid/websdk3` derives it
   */
  appId?: string
  /**
   * The `fetch` to use (a test double, a runtime's own fetch).
   * @defaultValue `globalThis.fetch`, looked up at each call
   */
  fetch?: typeof fetch
  /**
   * How long one HTTP request to LoginID may take, in milliseconds, before it fails with
   * `ERR_TIMEOUT`.
   * @defaultValue 15000
   */
  timeoutMs?: number
  /**
   * Where the client keeps its own state: the current MFA session
   * (`LoginID_<appId>_mfa-session`, JSON) and the LoginID device id
   * (`LoginID_<appId>_device-id`), for example `sessionStorage` to survive a reload. Tokens are
   * never stored. Not the same store as {@link RunMfaOptions.pendingFlowStorage}.
   * @defaultValue the session in memory, per client; the device id in `localStorage` where there
   *   is one (as `LoginIDMfa` keeps it, so an id the SDK wrote is reused), else in memory
   */
  stateStorage?: MfaStorage
  /**
   * @deprecated Use {@link CreateMfaClientOptions.stateStorage}, the same option under a name
   * that says what it holds. When both are given, `stateStorage` wins.
   */
  storage?: MfaStorage
  /**
   * Send the Trust ID `LoginIDMfa` sends as `trustItems.auth` on `beginFlow` (a device key per
   * app and username in IndexedDB `loginid-trust-store`, reusing keys the SDK created), so
   * LoginID recognises a returning device even when its device id is gone. Not sent with
   * `merchantTrustId`/`checkoutId` or `txPayload`, and absent where there is no IndexedDB or
   * WebCrypto.
   * @defaultValue true
   */
  trustId?: boolean
  /**
   * The WebAuthn implementation for `passkey:*` factors (`browserWebAuthn()` in browsers, the
   * software authenticator of `loginid-mfa-flow/testing` in tests). Without one, a passkey
   * factor fails with `ERR_WEBAUTHN_UNAVAILABLE`.
   * @defaultValue undefined
   */
  webauthn?: WebAuthnAdapter
}

/**
 * The built-in LoginID MFA client: an {@link MfaClient} (the `LoginIDMfa` shape) plus
 * `getMfaSessionDetails`.
 */
export interface BuiltInMfaClient extends MfaClient {
  /**
   * The state of the latest flow this client touched, as `LoginIDMfa.getMfaSessionDetails`
   * reports it (tokens only while this client object lives; they are never stored). No network
   * call.
   */
  getMfaSessionDetails(): Promise<MfaSessionResult>
}

// ---------------------------------------------------------------------------------------------
// runMfa
// ---------------------------------------------------------------------------------------------

/**
 * Why the driver asks the application to authenticate the user itself:
 * - `signUp`: LoginID does not know the user (the flow is a sign-up);
 * - `passkeyFailed`: a passkey ceremony was cancelled or failed and the driver fell back;
 * - `newDevice`: a sign-in where LoginID offers no passkey factor (typically a new device);
 * - `recommended`: LoginID recommends `external` for another reason.
 */
export type ExternalAuthReason = 'signUp' | 'newDevice' | 'passkeyFailed' | 'recommended'

/** What the driver tells the application's `externalAuthenticator`. */
export interface ExternalAuthContext {
  /** The username the run was started with. */
  username: string
  /** LoginID's flow, when it said. */
  flow: MfaFlow | undefined
  /** Why the external step runs. */
  reason: ExternalAuthReason
  /** The MFA session the grant token will be submitted with (send it to your backend if it binds grants to sessions). */
  session: string | undefined
  /** Every factor LoginID offers at this point. */
  remainingFactors: readonly RemainingFactor[]
  /** 1 for the first external step of this run, 2 for the second, ... */
  attempt: number
  /**
   * Aborts when the run is aborted, a deadline passes, or the step ends: stop waiting then. Made
   * on first read (a getter): read it by name or destructure it; `{ ...ctx }` does not copy it.
   */
  readonly signal: AbortSignal
  /**
   * A random, single-use nonce for this external step (32 hex characters from
   * `crypto.getRandomValues`, made on first read). When the step leaves the page, put it in the
   * URL you redirect to (typically as the OAuth `state`, or inside it) so the return page can
   * hand it to {@link resumeMfa}. `ctx.redirect` saves the same value.
   */
  readonly resumeNonce: string
  /**
   * Suspend the run to let the user authenticate on another page (an OIDC/CIAM login, an
   * identity-proofing vendor, a magic link): return what this returns from the authenticator.
   * The run then saves the flow (see {@link RunMfaOptions.pendingFlowStorage}) and resolves with
   * `{ status: 'redirect', url, nonce }`; the app navigates to `url`, and its return page calls
   * {@link resumeMfa}.
   *
   * @param url - Where the app will send the user (absolute or relative).
   * @param state - The app's own JSON-serializable data (a return path, ...), given back by
   *   {@link peekPendingMfa} and {@link resumeMfa}. Not secret: it is stored as is.
   */
  redirect(url: string | URL, state?: unknown): ExternalRedirectRequest
}

/** What `ctx.redirect` returns; return it from the authenticator to suspend the run. */
export interface ExternalRedirectRequest {
  /** Always `'redirect'`. */
  readonly type: 'redirect'
  /** Where the app will send the user. */
  readonly url: string
  /** The app's data to keep across the redirect. */
  readonly state: unknown
}

/**
 * The application's own authentication (a password check, a bank login, a business rule). It
 * resolves to a proof its backend will accept (a one-time code, a session id, `true`), to
 * `ctx.redirect(url, state)` to continue on another page (see {@link resumeMfa}), or to
 * `false` / `null` / `undefined` to deny, which fails the run with `ERR_EXTERNAL_DENIED`.
 */
export type ExternalAuthenticator<P = unknown> = (
  ctx: ExternalAuthContext,
) =>
  | P
  | ExternalRedirectRequest
  | false
  | null
  | undefined
  | Promise<P | ExternalRedirectRequest | false | null | undefined>

/**
 * What a {@link TokenProvider} receives: the external context (without `redirect` and
 * `resumeNonce`) plus the proof.
 */
export interface TokenRequestContext<P = unknown> extends Omit<
  ExternalAuthContext,
  'redirect' | 'resumeNonce'
> {
  /** What `externalAuthenticator` resolved to, or the `proof` given to {@link resumeMfa}. */
  proof: P
}

/**
 * Gets a LoginID grant token (from `POST /fido2/v2/mgmt/grant/external-auth`, called by the
 * application's backend with its API key) for the proof. Usually {@link fetchGrantToken}.
 * Throwing fails the run with `ERR_TOKEN_PROVIDER`.
 */
export type TokenProvider<P = unknown> = (ctx: TokenRequestContext<P>) => string | Promise<string>

/** What `otp.getCode` receives. */
export interface OtpCodeContext {
  /** The username the run was started with. */
  username: string
  /** The factor being run. */
  action: 'otp:email' | 'otp:sms'
  /** Where LoginID sent the code (an email address or a phone number, as LoginID labels it). */
  contact: string
  /** 1 for the first code asked for this factor, 2 after a wrong code, ... */
  attempt: number
  /** Ask LoginID to send a new code to the same contact. */
  resend(): Promise<void>
  /** Aborts when the run is aborted, a deadline passes, or the step ends. Made on first read. */
  readonly signal: AbortSignal
}

/** How the driver runs `otp:email` / `otp:sms` (request a code, then verify it). */
export interface OtpOptions {
  /** Ask the user for the code LoginID sent. */
  getCode(ctx: OtpCodeContext): string | Promise<string>
  /**
   * Pick the contact (one of the factor's `options`) to send the code to.
   * @defaultValue the first contact LoginID lists
   */
  pickContact?(contacts: readonly string[], factor: RemainingFactor): string | Promise<string>
  /**
   * How many codes the user may enter for one factor before the run fails with `ERR_OTP_FAILED`.
   * @defaultValue 3
   */
  maxAttempts?: number
}

/** How the driver treats a failed passkey ceremony. */
export interface PasskeyPolicy {
  /**
   * `fallback`: continue with `external` when LoginID offers it (and an `externalAuthenticator`
   * is given), telling it `reason: 'passkeyFailed'`; `throw`: fail the run with the passkey
   * error (`ERR_PASSKEY_*`, `ERR_WEBAUTHN_UNAVAILABLE`).
   * @defaultValue 'fallback'
   */
  onError?: 'fallback' | 'throw'
}

/** Deadlines of a run, in milliseconds; each fails the run with `ERR_TIMEOUT`. */
export interface MfaTimeouts {
  /**
   * The longest one step (one factor, including the user's callbacks) may take.
   * @defaultValue undefined (no step deadline)
   */
  stepMs?: number
  /**
   * The longest the whole run may take.
   * @defaultValue undefined (no run deadline)
   */
  runMs?: number
}

/** How a step ended: `complete` (the flow completed), `continue` (more factors), `failed` (passkey failure, the run fell back). */
export type MfaStepOutcome = 'complete' | 'continue' | 'failed'

/** One step of a run, as {@link MfaCompletion.steps} lists it. */
export interface MfaStep {
  /** The factor the step ran. */
  action: MfaFactorName
  /** 1 for the first time this factor ran in this run, 2 for the second, ... */
  attempt: number
  /** How it ended. */
  outcome: MfaStepOutcome
  /** How long it took, in milliseconds. */
  elapsedMs: number
  /** For `failed` steps: the code of the error the run fell back from. */
  error?: MfaErrorCode
}

/** What a successful run resolves to (the `complete` member of {@link RunMfaResult}). */
export interface MfaCompletion {
  /** Always `'complete'`: LoginID returned tokens. */
  status: 'complete'
  /**
   * LoginID's access token (a JWT; verify it on your backend with `verifyLoginIDToken`).
   * Absent only for a `passkey:tx` flow that LoginID completed with `payloadSignature` alone.
   */
  accessToken?: string
  /** LoginID's id token, when sent. */
  idToken?: string
  /** LoginID's refresh token, when sent. */
  refreshToken?: string
  /** The JWS over the transaction payload, for `passkey:tx` flows. */
  payloadSignature?: string
  /** The LoginID device id (send it as `beginOptions.deviceId` next time). */
  deviceId?: string
  /** LoginID's flow. */
  flow?: MfaFlow
  /** The username. */
  username: string
  /** Information about the passkey used or created in the last step, when LoginID sent it. */
  passkeyCredential?: PasskeyInfo
  /** What ran, in order (for a resumed flow, including the steps before the redirect). */
  steps: MfaStep[]
}

/**
 * What a run resolves to when the external authenticator answered `ctx.redirect(...)`: the flow
 * is saved in the storage; navigate to `url`, and on the return page call {@link resumeMfa}
 * with the `nonce` you get back.
 */
export interface MfaRedirect {
  /** Always `'redirect'`. */
  status: 'redirect'
  /** The URL the authenticator gave `ctx.redirect`. */
  url: string
  /** The single-use nonce saved with the flow (the same as `ctx.resumeNonce`). */
  nonce: string
  /** When the saved flow expires, in milliseconds since the epoch (`Date.now()` time). */
  expiresAt: number
}

/** What {@link runMfa} resolves to: switch on `status`. */
export type RunMfaResult = MfaCompletion | MfaRedirect

/**
 * What {@link resumeMfa} resolves to: a completion carrying the app's `state` from
 * `ctx.redirect`, or a new redirect when a later external step leaves the page again.
 */
export type ResumeMfaResult<S = unknown> = (MfaCompletion & { state: S | undefined }) | MfaRedirect

/** A suspended flow, as {@link peekPendingMfa} reads it (never the nonce or the session). */
export interface PendingMfa<S = unknown> {
  /** The username of the suspended run. */
  username: string
  /** LoginID's flow, when it said. */
  flow: MfaFlow | undefined
  /** The app's data given to `ctx.redirect`. */
  state: S | undefined
  /** When it expires, in milliseconds since the epoch. */
  expiresAt: number
  /** The steps that ran before the redirect. */
  steps: MfaStep[]
}

/** Fields every {@link MfaEvent} carries. */
export interface MfaEventBase {
  /** Milliseconds since the run started. */
  elapsedMs: number
}

/** A step starts. */
export interface MfaStepStartEvent extends MfaEventBase {
  type: 'step:start'
  action: MfaFactorName
  attempt: number
  /** 1-based index of the step in the run. */
  step: number
}

/** A step ended without failing the run. */
export interface MfaStepDoneEvent extends MfaEventBase {
  type: 'step:done'
  action: MfaFactorName
  attempt: number
  step: number
  outcome: MfaStepOutcome
}

/** A passkey failed and the run continues with `external`. */
export interface MfaFallbackEvent extends MfaEventBase {
  type: 'fallback'
  /** The factor that failed. */
  action: MfaFactorName
  attempt: number
  /** The factor the run continues with. */
  to: 'external'
  /** Why. */
  error: MfaError
}

/** The run suspended: the flow is saved and the app will navigate to the redirect URL. */
export interface MfaRedirectEvent extends MfaEventBase {
  type: 'redirect'
  action: 'external'
  attempt: number
  step: number
  /** When the saved flow expires, in milliseconds since the epoch. */
  expiresAt: number
}

/**
 * The completion as {@link MfaCompleteEvent} carries it: everything but the tokens, which never
 * go to listeners (events feed progress UIs and telemetry).
 */
export type MfaCompletionSummary = Omit<
  MfaCompletion,
  'accessToken' | 'idToken' | 'refreshToken' | 'payloadSignature'
>

/** The run completed. */
export interface MfaCompleteEvent extends MfaEventBase {
  type: 'complete'
  /** The last factor run, if any. */
  action: MfaFactorName | undefined
  attempt: number
  /** What the run resolves to, without `accessToken`, `idToken`, `refreshToken` and `payloadSignature`. */
  completion: MfaCompletionSummary
}

/** The run failed. */
export interface MfaErrorEvent extends MfaEventBase {
  type: 'error'
  /** The factor running when it failed, if any. */
  action: MfaFactorName | undefined
  attempt: number
  error: MfaError
}

/** Everything `onEvent` receives; switch on `type`. */
export type MfaEvent =
  | MfaStepStartEvent
  | MfaStepDoneEvent
  | MfaFallbackEvent
  | MfaRedirectEvent
  | MfaCompleteEvent
  | MfaErrorEvent

/** Options of {@link runMfa}. `P` is the type of the external authenticator's proof. */
export interface RunMfaOptions<P = unknown> {
  /** A built-in client from {@link createMfaClient}, or a `LoginIDMfa` from `@loginid/websdk3` >= 3. */
  client: MfaClient
  /** The user's LoginID username (non-empty). */
  username: string
  /**
   * Passed to `client.beginFlow` (display name, usernameType, txPayload, deviceId, ...).
   * @defaultValue `{}`
   */
  beginOptions?: Omit<MfaBeginOptions, 'signal'>
  /**
   * Runs the `external` factor: the application's own authentication. Required (with
   * `tokenProvider`) for flows that offer `external`; without it such a step fails with
   * `ERR_UNSUPPORTED_ACTION`.
   */
  externalAuthenticator?: ExternalAuthenticator<P>
  /** Turns the authenticator's proof into a LoginID grant token; usually {@link fetchGrantToken}. */
  tokenProvider?: TokenProvider<P>
  /** Runs `otp:email` / `otp:sms`; without it such a step fails with `ERR_UNSUPPORTED_ACTION`. */
  otp?: OtpOptions
  /** What to do when a passkey ceremony fails. @defaultValue `{ onError: 'fallback' }` */
  passkey?: PasskeyPolicy
  /**
   * Pick the next factor instead of LoginID's `nextAction` (return `undefined` to keep it).
   * A name the library does not know fails with `ERR_UNKNOWN_ACTION`.
   * @defaultValue LoginID's `nextAction`
   */
  chooseAction?: (
    result: MfaSessionResult,
  ) => MfaFactorName | undefined | Promise<MfaFactorName | undefined>
  /** Abort the run: pending requests and callbacks are abandoned, nothing more is sent, the run rejects with `ERR_ABORTED`. */
  signal?: AbortSignal
  /** The most factor steps one run may take before it fails with `ERR_MAX_STEPS`. @defaultValue 12 */
  maxSteps?: number
  /** Step and run deadlines. @defaultValue no deadlines */
  timeouts?: MfaTimeouts
  /** Progress and telemetry events. An exception thrown here is ignored. */
  onEvent?: (event: MfaEvent) => void
  /**
   * Where `ctx.redirect` saves the suspended flow (JSON under `storageKey`: the LoginID session,
   * username, flow, steps so far, the app's state, an expiry and the nonce; never a token), and
   * where {@link resumeMfa} takes it back. Not the same store as
   * {@link CreateMfaClientOptions.stateStorage}. Without any storage, a redirect fails with
   * `ERR_STORAGE` before the app navigates.
   * @defaultValue `globalThis.sessionStorage` when it exists
   */
  pendingFlowStorage?: MfaStorage
  /**
   * @deprecated Use {@link RunMfaOptions.pendingFlowStorage}, the same option under a name that
   * says what it holds. When both are given, `pendingFlowStorage` wins.
   */
  storage?: MfaStorage
  /**
   * The storage key of the suspended flow. One pending flow per storage and key: a new
   * redirect replaces the previous one.
   * @defaultValue 'loginid-mfa-flow:pending'
   */
  storageKey?: string
  /**
   * How long a suspended flow may be resumed, in milliseconds from when LoginID issued the
   * session the flow continues with (at most 900000, 15 minutes). LoginID's own session
   * lifetime is not known to the client: keep this at or below it (LoginID then still rejects
   * a late resume with `ERR_SESSION_INVALID`).
   * @defaultValue 300000 (5 minutes)
   */
  resumeTtlMs?: number
}

/**
 * Options of {@link resumeMfa}: the handlers of {@link runMfa} for the steps after the
 * redirect, plus the return page's `proof` and `nonce`. `P` is the type of the proof.
 */
export interface ResumeMfaOptions<P = unknown> extends Omit<
  RunMfaOptions<P>,
  'username' | 'beginOptions' | 'tokenProvider'
> {
  /**
   * What the user brought back from the other page (an authorization code, a ticket, ...):
   * passed to `tokenProvider` as `proof`. `false` / `null` / `undefined` means the user was
   * denied there: the pending flow is discarded and the run fails with `ERR_EXTERNAL_DENIED`.
   */
  proof: P | false | null | undefined
  /**
   * The nonce the return URL carried back (e.g. from the OAuth `state`). It must equal the
   * saved one (`ctx.resumeNonce`), or the run fails with `ERR_STATE_MISMATCH`. Never take it
   * from the storage.
   */
  nonce: string
  /** Turns the proof into a LoginID grant token; usually {@link fetchGrantToken}. */
  tokenProvider: TokenProvider<P>
}

/** Options of {@link peekPendingMfa}. */
export interface PeekPendingMfaOptions {
  /**
   * The storage the flow was saved to (`pendingFlowStorage` of {@link runMfa}).
   * @defaultValue `globalThis.sessionStorage` when it exists
   */
  pendingFlowStorage?: MfaStorage
  /** @deprecated Use {@link PeekPendingMfaOptions.pendingFlowStorage}; `pendingFlowStorage` wins. */
  storage?: MfaStorage
  /**
   * The key it was saved under.
   * @defaultValue 'loginid-mfa-flow:pending'
   */
  storageKey?: string
  /** Cancels the read: the call then fails with `ERR_ABORTED`. */
  signal?: AbortSignal
  /**
   * How long the storage may take to answer, in milliseconds; then the call fails with
   * `ERR_TIMEOUT`.
   * @defaultValue 10_000
   */
  timeoutMs?: number
}

// ---------------------------------------------------------------------------------------------
// fetchGrantToken
// ---------------------------------------------------------------------------------------------

/** Options of {@link fetchGrantToken}. */
export interface FetchGrantTokenInit {
  /** Extra request headers (a CSRF token, ...). */
  headers?: Record<string, string>
  /**
   * The request's credentials mode: the backend route usually needs the app's session cookie.
   * @defaultValue 'include'
   */
  credentials?: RequestCredentials
  /**
   * The `fetch` to use.
   * @defaultValue `globalThis.fetch`, looked up at each call
   */
  fetch?: typeof fetch
  /**
   * How long the request may take, in milliseconds.
   * @defaultValue 15000
   */
  timeoutMs?: number
}
