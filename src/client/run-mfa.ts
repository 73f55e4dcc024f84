/**
 * `loginid-mfa-flow`: {@link runMfa}, the driver that runs a LoginID MFA flow from `beginFlow`
 * to tokens and hands the `external` step to the application.
 *
 * @module
 */
import { MfaError, isMfaError } from '../shared/errors.js'
import type { MfaErrorCode } from '../shared/errors.js'
import type {
  MfaFactorName,
  MfaPerformActionOptions,
  MfaSessionResult,
  RemainingFactor,
} from '../shared/protocol.js'
import { MFA_FACTOR_NAMES } from '../shared/protocol.js'
import { codeForStatus, parseAppError } from '../internal/http.js'
import { guard, openScope } from './internal/run-scope.js'
import { toPasskeyError } from './webauthn-errors.js'
import type {
  ExternalAuthReason,
  MfaCompletion,
  MfaEvent,
  MfaStep,
  MfaStepOutcome,
  RunMfaOptions,
} from './types.js'

const invalid = (message: string): MfaError => new MfaError('ERR_INVALID_ARGUMENT', message)
const isPositiveInt = (n: unknown): boolean => Number.isInteger(n) && (n as number) > 0
const isDuration = (n: unknown): boolean =>
  n === undefined || (typeof n === 'number' && n > 0 && n <= 2_147_483_647)
/** LoginID msgCodes of a 401 that mean the MFA session itself is bad, not the factor's input. */
const SESSION_CODES = ['session_expired', 'unauthorized']

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
  return e?.name === 'TypeError'
    ? new MfaError('ERR_NETWORK', 'could not reach LoginID', { cause: error })
    : new MfaError('ERR_BAD_RESPONSE', 'the MFA client failed', { cause: error })
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
 * Run a LoginID MFA flow to completion: `beginFlow`, then one factor after another as LoginID
 * asks (passkeys through the client, OTP as request-then-verify with `otp.getCode`, `external`
 * through `externalAuthenticator` and `tokenProvider`), until LoginID returns tokens.
 *
 * Resolves with an {@link MfaCompletion}; rejects with an {@link MfaError} whose `code` says
 * what happened (`ERR_EXTERNAL_DENIED`, `ERR_TOKEN_REJECTED`, `ERR_ABORTED`, `ERR_TIMEOUT`,
 * `ERR_MAX_STEPS`, ...). It never resolves incomplete, never runs more than `maxSteps` steps and
 * never outlives `signal` or a deadline: after either, no further request is sent.
 *
 * @see https://docs.loginid.io/user-scenario/authentication/mfa/fallback-custom/
 *
 * @example Sign in with passkeys, falling back to the app's own login
 * ```ts
 * import { createMfaClient, fetchGrantToken, runMfa, isMfaError } from 'loginid-mfa-flow'
 * import { browserWebAuthn } from 'loginid-mfa-flow'
 *
 * const client = createMfaClient({ baseUrl: 'https://myapp.api.loginid.io', webauthn: browserWebAuthn() })
 * try {
 *   const { accessToken } = await runMfa({
 *     client,
 *     username: 'ada@example.com',
 *     externalAuthenticator: ({ reason }) => showPasswordDialog(reason), // resolves to a proof or null
 *     tokenProvider: fetchGrantToken('/api/loginid/external-auth'),
 *     otp: { getCode: ({ contact }) => prompt(`Code sent to ${contact}`) ?? '' },
 *     onEvent: (event) => console.debug(event.type, event),
 *   })
 *   await fetch('/api/session', { method: 'POST', body: accessToken })
 * } catch (err) {
 *   if (isMfaError(err, 'ERR_EXTERNAL_DENIED', 'ERR_ABORTED')) return
 *   throw err
 * }
 * ```
 */
export async function runMfa<P = unknown>(options: RunMfaOptions<P>): Promise<MfaCompletion> {
  if (typeof options !== 'object' || options === null)
    throw invalid('runMfa needs an options object')
  const {
    client,
    username,
    beginOptions = {},
    externalAuthenticator,
    tokenProvider,
    otp,
    passkey = {},
    chooseAction,
    signal,
    maxSteps = 12,
    timeouts = {},
    onEvent,
  } = options
  if (typeof client?.beginFlow !== 'function' || typeof client.performAction !== 'function') {
    throw invalid('client must have beginFlow and performAction')
  }
  if (typeof username !== 'string' || !username.trim())
    throw invalid('username must be a non-empty string')
  if (!externalAuthenticator !== !tokenProvider) {
    throw invalid('externalAuthenticator and tokenProvider go together')
  }
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

  const started = Date.now()
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
  const steps: MfaStep[] = []
  const attempts: Partial<Record<MfaFactorName, number>> = {}
  let action: MfaFactorName | undefined
  let attempt = 0

  try {
    let result = await guard(run.signal, () =>
      client.beginFlow(username, { ...beginOptions, signal: run.signal }),
    ).then(check)
    let passkeyFailed = false
    let forced: MfaFactorName | undefined

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
      emit({ type: 'step:start', action, attempt, step: stepNo, elapsedMs: elapsed() })
      let outcome: MfaStepOutcome
      let failure: MfaError | undefined
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
          result = await external(current, perform, step.signal, attempt, passkeyFailed)
        } else if (action === 'otp:email' || action === 'otp:sms') {
          result = await oneTimeCode(action, factor, perform, step.signal)
        } else {
          throw new MfaError('ERR_UNSUPPORTED_ACTION', `${action} cannot be started by itself`)
        }
        outcome = failure ? 'failed' : result.isComplete ? 'complete' : 'continue'
      } finally {
        step.end()
      }
      steps.push({
        action,
        attempt,
        outcome,
        elapsedMs: Date.now() - stepStarted,
        ...(failure && { error: failure.code }),
      })
      emit({ type: 'step:done', action, attempt, step: stepNo, outcome, elapsedMs: elapsed() })
    }

    const completion: MfaCompletion = {
      username: result.username ?? username,
      steps,
      ...(result.accessToken && { accessToken: result.accessToken }),
      ...(result.idToken && { idToken: result.idToken }),
      ...(result.refreshToken && { refreshToken: result.refreshToken }),
      ...(result.payloadSignature && { payloadSignature: result.payloadSignature }),
      ...(result.deviceId && { deviceId: result.deviceId }),
      ...(result.flow && { flow: result.flow }),
      ...(result.passkeyCredential && { passkeyCredential: result.passkeyCredential }),
    }
    emit({ type: 'complete', action, attempt, completion, elapsedMs: elapsed() })
    return completion
  } catch (caught) {
    const error = normalize(caught)
    emit({ type: 'error', action, attempt, error, elapsedMs: elapsed() })
    throw error
  } finally {
    run.end()
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
        throw new MfaError('ERR_UNSUPPORTED_ACTION', 'chooseAction failed', { cause })
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
      throw new MfaError(code, message, { cause })
    }
  }

  async function external(
    current: MfaSessionResult,
    perform: (name: MfaFactorName, extra?: MfaPerformActionOptions) => Promise<MfaSessionResult>,
    stepSignal: AbortSignal,
    externalAttempt: number,
    afterPasskeyFailure: boolean,
  ): Promise<MfaSessionResult> {
    if (!externalAuthenticator || !tokenProvider) {
      throw new MfaError(
        'ERR_UNSUPPORTED_ACTION',
        'external needs externalAuthenticator and tokenProvider',
      )
    }
    const flow = current.flow
    const reason: ExternalAuthReason =
      flow === 'signUp'
        ? 'signUp'
        : afterPasskeyFailure
          ? 'passkeyFailed'
          : flow === 'signIn' &&
              !current.remainingFactors.some((f) => f.type.startsWith('passkey:'))
            ? 'newDevice'
            : 'recommended'
    const ctx = {
      username,
      flow,
      reason,
      session: current.session,
      remainingFactors: current.remainingFactors,
      attempt: externalAttempt,
      signal: stepSignal,
    }
    const proof = await callback(
      stepSignal,
      'ERR_EXTERNAL_DENIED',
      'the external authenticator failed',
      () => externalAuthenticator(ctx),
    )
    if (proof === false || proof === null || proof === undefined) {
      throw new MfaError('ERR_EXTERNAL_DENIED', 'the external authenticator denied the user')
    }
    for (let retried = false; ; retried = true) {
      const token = await callback(
        stepSignal,
        'ERR_TOKEN_PROVIDER',
        'the token provider failed',
        () => tokenProvider({ ...ctx, proof }),
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
