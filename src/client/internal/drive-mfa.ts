// Internal: the one driver loop behind `runMfa` and `resumeMfa`. Not exported from any entry.
// `driveMfa` validates the options both share, gets the first LoginID result from `start`
// (a `beginFlow`, or a suspended flow taken back from storage), then runs one factor after
// another until LoginID returns tokens or an external step suspends the run with `ctx.redirect`.
import { MfaError, isMfaError } from '../../shared/errors.js'
import type { MfaErrorCode } from '../../shared/errors.js'
import type {
  MfaFactorName,
  MfaPerformActionOptions,
  MfaSessionResult,
  RemainingFactor,
} from '../../shared/protocol.js'
import { MFA_FACTOR_NAMES } from '../../shared/protocol.js'
import { codeForStatus, parseAppError } from '../../internal/http.js'
import { guard, openScope } from './run-scope.js'
import { PENDING_KEY, pendingStorage, randomNonce, stored } from './pending-flow.js'
import type { PendingFlowSnapshot } from './pending-flow.js'
import { toPasskeyError } from '../webauthn-errors.js'
import type {
  ExternalAuthContext,
  ExternalAuthReason,
  ExternalRedirectRequest,
  MfaCompletion,
  MfaCompletionSummary,
  MfaEvent,
  MfaStep,
  MfaStepOutcome,
  RunMfaOptions,
  RunMfaResult,
} from '../types.js'

/** The options `runMfa` and `resumeMfa` share. */
export type DriveOptions<P> = Omit<RunMfaOptions<P>, 'username' | 'beginOptions'>

/** Where a drive starts. */
export interface DriveStart {
  /** The run's username. */
  username: string
  /** The first LoginID result to drive on. */
  result: MfaSessionResult
  /** Steps that ran before (a resumed flow). */
  steps?: MfaStep[]
  /** `resumeMfa`: run `external` first with this proof and reason, without the authenticator. */
  resume?: { proof: unknown; reason: ExternalAuthReason }
}

/** The longest `resumeTtlMs`: 15 minutes. */
const MAX_RESUME_TTL_MS = 900_000

export const invalid = (message: string): MfaError => new MfaError('ERR_INVALID_ARGUMENT', message)

/** A redirect the authenticator asked for, ready to save. */
interface Suspension {
  json: string
  url: string
  nonce: string
  expiresAt: number
}

const isPositiveInt = (n: unknown): boolean => Number.isInteger(n) && (n as number) > 0
const isDuration = (n: unknown): boolean =>
  n === undefined || (typeof n === 'number' && n > 0 && n <= 2_147_483_647)
/** LoginID msgCodes of a 401 that mean the MFA session itself is bad, not the factor's input. */
const SESSION_CODES = ['session_expired', 'unauthorized']

/**
 * A cause that is safe to keep: an HTTP library's error (ofetch's `FetchError`, an axios error)
 * references the request and its `Authorization` header, so only its low-level cause is kept.
 */
function safeCause(error: unknown): unknown {
  const e = error as { name?: unknown; cause?: unknown } | null
  const holdsRequest =
    typeof e === 'object' &&
    e !== null &&
    (e.name === 'FetchError' || 'options' in e || 'request' in e || 'config' in e)
  return holdsRequest ? (e.cause instanceof Error ? e.cause : undefined) : error
}

/**
 * Any error a client threw, as an MfaError. A `LoginIDMfa` throws `ApiError { status, body }`
 * (its `request` holds the session header, so it is never kept), `LoginIDError`, `TypeError`.
 */
function normalize(error: unknown): MfaError {
  if (error instanceof MfaError) return error
  const e = error as { status?: unknown; body?: unknown; data?: unknown; name?: unknown } | null
  if (typeof e?.status === 'number') {
    const { msg, msgCode } = parseAppError(e.body ?? e.data)
    return new MfaError(codeForStatus(e.status), msg ?? `HTTP ${e.status}`, {
      status: e.status,
      ...(msgCode !== undefined && { msgCode }),
    })
  }
  const cause = safeCause(error)
  const options = cause === undefined ? {} : { cause }
  return e?.name === 'TypeError' || e?.name === 'FetchError'
    ? new MfaError('ERR_NETWORK', 'could not reach LoginID', options)
    : new MfaError('ERR_BAD_RESPONSE', 'the MFA client failed', options)
}

/** A passkey ceremony failure (from the built-in client, a `LoginIDMfa`, or an adapter), else undefined. */
function asPasskeyFailure(error: unknown, action: MfaFactorName): MfaError | undefined {
  if (error instanceof MfaError)
    return /^ERR_(PASSKEY|WEBAUTHN)_/.test(error.code) ? error : undefined
  const e = error as { name?: unknown; cause?: unknown } | null
  const name = typeof e?.name === 'string' ? e.name : ''
  if (
    name !== 'PasskeyError' &&
    !/^(NotAllowed|Abort|InvalidState|NotSupported|Security|Constraint|Unknown)Error$/.test(name)
  ) {
    return undefined
  }
  // websdk's PasskeyError wraps the DOMException in `cause`.
  const inner = name === 'PasskeyError' && e?.cause ? e.cause : error
  return toPasskeyError(inner, action === 'passkey:reg' ? 'create' : 'get')
}

/**
 * Drive a flow from `start`'s result to tokens or to a redirect. Options are validated before
 * `start` runs; `start` runs inside the run scope, and its failures are reported like any other.
 */
export async function driveMfa<P>(
  options: DriveOptions<P>,
  start: (signal: AbortSignal) => Promise<DriveStart>,
): Promise<RunMfaResult> {
  const {
    client,
    externalAuthenticator,
    tokenProvider,
    otp,
    passkey = {},
    chooseAction,
    signal,
    maxSteps = 12,
    timeouts = {},
    onEvent,
    storage,
    storageKey = PENDING_KEY,
    resumeTtlMs = 300_000,
  } = options
  if (typeof client?.performAction !== 'function') throw invalid('client must have performAction')
  for (const [name, fn] of [
    ['externalAuthenticator', externalAuthenticator],
    ['tokenProvider', tokenProvider],
    ['chooseAction', chooseAction],
    ['onEvent', onEvent],
  ] as const) {
    if (fn !== undefined && typeof fn !== 'function') throw invalid(`${name} must be a function`)
  }
  if (otp !== undefined && typeof otp?.getCode !== 'function')
    throw invalid('otp.getCode must be a function')
  const maxAttempts = otp?.maxAttempts ?? 3
  if (!isPositiveInt(maxAttempts)) throw invalid('otp.maxAttempts must be a positive integer')
  if (!isPositiveInt(maxSteps)) throw invalid('maxSteps must be a positive integer')
  if (!isDuration(timeouts.stepMs) || !isDuration(timeouts.runMs)) {
    throw invalid('timeouts must be positive numbers of milliseconds')
  }
  if (
    passkey.onError !== undefined &&
    passkey.onError !== 'fallback' &&
    passkey.onError !== 'throw'
  ) {
    throw invalid("passkey.onError must be 'fallback' or 'throw'")
  }
  if (signal !== undefined && typeof signal?.addEventListener !== 'function') {
    throw invalid('signal must be an AbortSignal')
  }
  if (storage !== undefined) pendingStorage(storage)
  if (typeof storageKey !== 'string' || !storageKey)
    throw invalid('storageKey must be a non-empty string')
  if (!(isDuration(resumeTtlMs) && resumeTtlMs <= MAX_RESUME_TTL_MS)) {
    throw invalid(
      `resumeTtlMs must be a positive number of milliseconds up to ${MAX_RESUME_TTL_MS}`,
    )
  }

  const started = Date.now()
  /** When the call that produced the current result began: no later than LoginID issued its session. */
  let issuedAt = started
  const elapsed = (): number => Date.now() - started
  const emit = (event: MfaEvent): void => {
    try {
      const r = onEvent?.(event) as unknown
      if (r instanceof Promise) r.catch(() => undefined)
    } catch {
      // a listener's failure must not break the run
    }
  }
  const run = openScope(signal, timeouts.runMs, 'run')
  let steps: MfaStep[] = []
  const attempts: Partial<Record<MfaFactorName, number>> = {}
  let username = ''
  let action: MfaFactorName | undefined
  let attempt = 0
  let resume: DriveStart['resume']
  /** Set while a snapshot write may be in flight: undoes it (once settled) if the run fails. */
  let undo: (() => void) | undefined

  try {
    const first = await start(run.signal)
    username = first.username
    resume = first.resume
    steps = [...(first.steps ?? [])]
    for (const s of steps) attempts[s.action] = Math.max(attempts[s.action] ?? 0, s.attempt)
    let result = check(first.result)
    let passkeyFailed = false
    let forced: MfaFactorName | undefined = resume && 'external'

    while (!result.isComplete) {
      if (steps.length >= maxSteps) {
        throw new MfaError('ERR_MAX_STEPS', `the flow did not complete within ${maxSteps} steps`)
      }
      action = forced ?? (await pick(result))
      forced = undefined
      attempt = attempts[action] = (attempts[action] ?? 0) + 1
      const step = openScope(run.signal, timeouts.stepMs, 'step')
      const stepStarted = Date.now()
      const stepNo = steps.length + 1
      const before = result
      emit({ type: 'step:start', action, attempt, step: stepNo, elapsedMs: elapsed() })
      let outcome: MfaStepOutcome
      let failure: MfaError | undefined
      let suspended: Suspension | undefined
      try {
        const current: MfaSessionResult = result
        const factor = current.remainingFactors.find((f) => f.type === action)
        const base = (): MfaPerformActionOptions => ({
          ...(current.session && { session: current.session }),
          signal: step.signal,
        })
        const perform = (name: MfaFactorName, extra: MfaPerformActionOptions = {}) =>
          guard(step.signal, () => client.performAction(name, { ...base(), ...extra })).then(check)

        if (action.startsWith('passkey:')) {
          try {
            result = await perform(action, factor?.value ? { payload: factor.value } : {})
            // LoginID answers a failed passkey with a 401 that offers only `external`.
            if (
              !result.isComplete &&
              result.remainingFactors.length > 0 &&
              result.remainingFactors.every((f) => f.type === 'external')
            ) {
              failure = new MfaError('ERR_PASSKEY_FAILED', 'LoginID did not accept the passkey')
            }
          } catch (error) {
            if (step.signal.aborted) throw error
            failure = asPasskeyFailure(error, action)
            if (!failure) throw error
          }
          if (failure) {
            const canFallback =
              passkey.onError !== 'throw' &&
              externalAuthenticator !== undefined &&
              result.remainingFactors.some((f) => f.type === 'external')
            if (!canFallback) throw failure
            passkeyFailed = true
            forced = 'external'
            emit({
              type: 'fallback',
              action,
              attempt,
              to: 'external',
              error: failure,
              elapsedMs: elapsed(),
            })
          }
        } else if (action === 'external') {
          const next = await external(current, perform, step, attempt, passkeyFailed, issuedAt)
          if ('json' in next) suspended = next
          else result = next
        } else if (action === 'otp:email' || action === 'otp:sms') {
          result = await oneTimeCode(action, factor, perform, step.signal)
        } else {
          throw new MfaError('ERR_UNSUPPORTED_ACTION', `${action} cannot be started by itself`)
        }
        outcome = failure ? 'failed' : result.isComplete ? 'complete' : 'continue'
      } finally {
        step.end()
      }
      if (suspended) {
        const { json, url, nonce, expiresAt } = suspended
        const target = pendingStorage(storage)
        const write = stored(() => target.setItem(storageKey, json))
        undo = () => {
          const remove = (): unknown =>
            stored(() => target.removeItem(storageKey)).catch(() => undefined)
          void write.then(remove, remove)
        }
        await guard(run.signal, () => write)
        undo = undefined
        emit({
          type: 'redirect',
          action: 'external',
          attempt,
          step: stepNo,
          expiresAt,
          elapsedMs: elapsed(),
        })
        return { status: 'redirect', url, nonce, expiresAt }
      }
      if (result !== before) issuedAt = stepStarted
      steps.push({
        action,
        attempt,
        outcome,
        elapsedMs: Date.now() - stepStarted,
        ...(failure && { error: failure.code }),
      })
      emit({ type: 'step:done', action, attempt, step: stepNo, outcome, elapsedMs: elapsed() })
    }

    // Events go to progress UIs and telemetry: the summary never holds a token.
    const summary: MfaCompletionSummary = {
      status: 'complete',
      username: result.username ?? username,
      steps,
      ...(result.deviceId && { deviceId: result.deviceId }),
      ...(result.flow && { flow: result.flow }),
      ...(result.passkeyCredential && { passkeyCredential: result.passkeyCredential }),
    }
    const completion: MfaCompletion = {
      ...summary,
      ...(result.accessToken && { accessToken: result.accessToken }),
      ...(result.idToken && { idToken: result.idToken }),
      ...(result.refreshToken && { refreshToken: result.refreshToken }),
      ...(result.payloadSignature && { payloadSignature: result.payloadSignature }),
    }
    emit({ type: 'complete', action, attempt, completion: summary, elapsedMs: elapsed() })
    return completion
  } catch (caught) {
    // A snapshot write the run gave up on (abort, deadline, storage error) must not survive.
    undo?.()
    const error = normalize(caught)
    emit({ type: 'error', action, attempt, error, elapsedMs: elapsed() })
    throw error
  } finally {
    run.end()
  }

  /** The snapshot for a redirect the authenticator asked for; throws on a bad URL or state. */
  function suspend(
    current: MfaSessionResult,
    request: ExternalRedirectRequest,
    nonce: string,
    reason: ExternalAuthReason,
    issuedAt: number,
  ): Suspension {
    const url = String(request.url)
    if (!url) throw invalid('ctx.redirect needs a URL')
    if (!current.session) {
      throw new MfaError('ERR_BAD_RESPONSE', 'the MFA client reported no session to resume')
    }
    const expiresAt = issuedAt + resumeTtlMs
    const snapshot: PendingFlowSnapshot = {
      v: 1,
      nonce,
      expiresAt,
      session: current.session,
      username,
      ...(current.flow && { flow: current.flow }),
      reason,
      factors: current.remainingFactors.map(({ type, label }) => ({ type, label })),
      steps,
      ...(request.state !== undefined && { state: request.state }),
    }
    let json: string
    try {
      json = JSON.stringify(snapshot)
    } catch (cause) {
      throw new MfaError('ERR_INVALID_ARGUMENT', 'ctx.redirect state must be JSON', { cause })
    }
    return { json, url, nonce, expiresAt }
  }

  /** Validate a client's result enough to drive on. */
  function check(result: MfaSessionResult): MfaSessionResult {
    if (typeof result !== 'object' || result === null || !Array.isArray(result.remainingFactors)) {
      throw new MfaError('ERR_BAD_RESPONSE', 'the MFA client returned no remainingFactors')
    }
    return result
  }

  /** The next action: `chooseAction`'s, else LoginID's `nextAction`. */
  async function pick(result: MfaSessionResult): Promise<MfaFactorName> {
    let name: string | undefined = result.nextAction
    if (chooseAction) {
      try {
        name = (await guard(run.signal, () => chooseAction(result))) ?? name
      } catch (cause) {
        if (run.signal.aborted) throw cause
        throw new MfaError('ERR_UNSUPPORTED_ACTION', 'chooseAction failed', {
          cause: safeCause(cause),
        })
      }
    }
    if (name === undefined) {
      const unknown = result.remainingFactors.find((f) => !MFA_FACTOR_NAMES.includes(f.type))
      if (unknown)
        throw new MfaError('ERR_UNKNOWN_ACTION', `unknown MFA action "${String(unknown.type)}"`)
      throw new MfaError(
        'ERR_NO_ACTION',
        'LoginID offers no next action but the flow is incomplete',
      )
    }
    if (!MFA_FACTOR_NAMES.includes(name as MfaFactorName)) {
      throw new MfaError('ERR_UNKNOWN_ACTION', `unknown MFA action "${name}"`)
    }
    return name as MfaFactorName
  }

  /** Call an application callback; its failure becomes `code` (unless the step was aborted). */
  async function callback<T>(
    stepSignal: AbortSignal,
    code: MfaErrorCode,
    message: string,
    fn: () => T | PromiseLike<T>,
  ): Promise<T> {
    try {
      return await guard(stepSignal, fn)
    } catch (cause) {
      if (stepSignal.aborted || isMfaError(cause, code)) throw cause
      throw new MfaError(code, message, { cause: safeCause(cause) })
    }
  }

  async function external(
    current: MfaSessionResult,
    perform: (name: MfaFactorName, extra?: MfaPerformActionOptions) => Promise<MfaSessionResult>,
    { signal: stepSignal }: { signal: AbortSignal },
    externalAttempt: number,
    afterPasskeyFailure: boolean,
    issuedAt: number,
  ): Promise<MfaSessionResult | Suspension> {
    const resumed = resume
    resume = undefined
    if (!tokenProvider || !(resumed || externalAuthenticator)) {
      throw new MfaError(
        'ERR_UNSUPPORTED_ACTION',
        'external needs externalAuthenticator and tokenProvider',
      )
    }
    const flow = current.flow
    const reason: ExternalAuthReason =
      resumed?.reason ??
      (flow === 'signUp'
        ? 'signUp'
        : afterPasskeyFailure
          ? 'passkeyFailed'
          : flow === 'signIn' &&
              !current.remainingFactors.some((f) => f.type.startsWith('passkey:'))
            ? 'newDevice'
            : 'recommended')
    const ctx = {
      username,
      flow,
      reason,
      session: current.session,
      remainingFactors: current.remainingFactors,
      attempt: externalAttempt,
      signal: stepSignal,
    }
    let proof: unknown
    if (resumed) {
      proof = resumed.proof
    } else {
      let nonce: string | undefined
      const requests: unknown[] = []
      const full: ExternalAuthContext = {
        ...ctx,
        get resumeNonce() {
          return (nonce ??= randomNonce())
        },
        redirect(url, state) {
          const request = { type: 'redirect', url: String(url), state } as const
          requests.push(request)
          return request
        },
      }
      proof = await callback(
        stepSignal,
        'ERR_EXTERNAL_DENIED',
        'the external authenticator failed',
        () => externalAuthenticator!(full),
      )
      if (requests.includes(proof)) {
        const request = proof as ExternalRedirectRequest
        return suspend(current, request, full.resumeNonce, reason, issuedAt)
      }
    }
    if (proof === false || proof === null || proof === undefined) {
      throw new MfaError('ERR_EXTERNAL_DENIED', 'the external authenticator denied the user')
    }
    for (let retried = false; ; retried = true) {
      const token = await callback(
        stepSignal,
        'ERR_TOKEN_PROVIDER',
        'the token provider failed',
        () => tokenProvider({ ...ctx, proof: proof as P }),
      )
      if (typeof token !== 'string' || !token) {
        throw new MfaError('ERR_TOKEN_PROVIDER', 'the token provider returned no token')
      }
      try {
        return await perform('external', { payload: token })
      } catch (caught) {
        if (stepSignal.aborted) throw caught
        const error = normalize(caught)
        const msgCode = error.msgCode ?? ''
        if (error.status !== 401 || SESSION_CODES.includes(msgCode)) throw error
        // One automatic retry with a fresh token when LoginID says the token expired.
        if (!retried && msgCode.includes('expired')) continue
        throw new MfaError('ERR_TOKEN_REJECTED', 'LoginID rejected the grant token', {
          status: 401,
          ...(error.msgCode !== undefined && { msgCode: error.msgCode }),
          ...(error.method !== undefined && { method: error.method }),
          ...(error.path !== undefined && { path: error.path }),
        })
      }
    }
  }

  async function oneTimeCode(
    name: 'otp:email' | 'otp:sms',
    factor: RemainingFactor | undefined,
    perform: (name: MfaFactorName, extra?: MfaPerformActionOptions) => Promise<MfaSessionResult>,
    stepSignal: AbortSignal,
  ): Promise<MfaSessionResult> {
    if (!otp) throw new MfaError('ERR_UNSUPPORTED_ACTION', `${name} needs the otp option`)
    const contacts = factor?.options ?? []
    const contact =
      contacts.length === 0
        ? undefined
        : otp.pickContact
          ? await callback(stepSignal, 'ERR_OTP_NO_CONTACT', 'pickContact failed', () =>
              otp.pickContact!(contacts, factor!),
            )
          : contacts[0]
    if (typeof contact !== 'string' || !contact) {
      throw new MfaError('ERR_OTP_NO_CONTACT', `LoginID offers no contact for ${name}`)
    }
    // otp/request answers with a new session for otp/verify (and for a resend).
    let session: string | undefined
    const request = async (): Promise<void> => {
      session = (await perform(name, { payload: contact, ...(session && { session }) })).session
    }
    await request()
    for (let codeAttempt = 1; ; codeAttempt++) {
      const code = await callback(stepSignal, 'ERR_OTP_FAILED', 'otp.getCode failed', () =>
        otp.getCode({
          username,
          action: name,
          contact,
          attempt: codeAttempt,
          resend: request,
          signal: stepSignal,
        }),
      )
      if (typeof code !== 'string' || !code)
        throw new MfaError('ERR_OTP_FAILED', 'otp.getCode returned no code')
      try {
        return await perform('otp:verify', { payload: code, ...(session && { session }) })
      } catch (caught) {
        if (stepSignal.aborted) throw caught
        const error = normalize(caught)
        const msgCode = error.msgCode ?? ''
        // A wrong code: LoginID answers 401 without a session; the OTP session stays usable.
        const wrong =
          (error.status === 401 && !SESSION_CODES.includes(msgCode)) ||
          (error.status === 400 && msgCode.includes('otp'))
        if (!wrong) throw error
        if (codeAttempt >= maxAttempts) {
          throw new MfaError('ERR_OTP_FAILED', `no valid code after ${maxAttempts} attempts`, {
            status: error.status as number,
            ...(error.msgCode !== undefined && { msgCode: error.msgCode }),
          })
        }
      }
    }
  }
}
