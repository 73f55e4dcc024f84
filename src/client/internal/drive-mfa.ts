// Internal: the one driver loop behind `runMfa` and `resumeMfa`. Not exported from any entry.
// `driveMfa` checks the options both share (options.ts), gets the first LoginID result from
// `start` (a `beginFlow`, or a suspended flow taken back from storage), then runs one step per
// factor (steps/*.ts, chosen by the factor's kind in shared/factors.ts) until LoginID returns
// tokens or an external step suspends the run with `ctx.redirect`.
import { MfaError } from '../../shared/errors.js'
import type {
  MfaFactorName,
  MfaPerformActionOptions,
  MfaSessionResult,
} from '../../shared/protocol.js'
import { guard, neverSignal, openScope, runScope } from './run-scope.js'
import type { RunScope } from './run-scope.js'
import { normalize } from './normalize.js'
import { driveSettings, invalid } from './options.js'
import type { DriveOptions } from './options.js'
import type { ResumeRequest, StepContext, StepOutcome } from './steps/context.js'
import { callApp, check, chosenAction, stepFor, validAction } from './steps/index.js'
import { saveSuspension, toCompletion } from './finish.js'
import type { MfaEvent, MfaStep, RunMfaResult } from '../types.js'

export { invalid }
export type { DriveOptions }

/** Where a drive starts. */
export interface DriveStart {
  /** The run's username. */
  username: string
  /** The first LoginID result to drive on. */
  result: MfaSessionResult
  /** Steps that ran before (a resumed flow). */
  steps?: MfaStep[]
  /** `resumeMfa`: run `external` first with this proof and reason, without the authenticator. */
  resume?: ResumeRequest
}

/**
 * Drive a flow from `start`'s result to tokens or to a redirect. Options are validated before
 * `start` runs; `start` runs inside the run scope, and its failures are reported like any other.
 */
export async function driveMfa<P>(
  options: DriveOptions<P>,
  start: (signal: AbortSignal) => Promise<DriveStart>,
): Promise<RunMfaResult> {
  const settings = driveSettings(options)
  const { client, chooseAction, onEvent, maxSteps, storageKey } = settings
  const started = Date.now()
  const elapsed = (): number => Date.now() - started
  // Without a listener no event object is built: `emit?.(...)` skips its argument.
  const emit =
    onEvent &&
    ((event: MfaEvent): void => {
      try {
        const r = onEvent(event) as unknown
        if (r instanceof Promise) r.catch(() => undefined)
      } catch {
        // a listener's failure must not break the run
      }
    })
  const run = runScope(settings.signal, settings.runMs)
  const steps: MfaStep[] = []
  const attempts: Partial<Record<MfaFactorName, number>> = {}
  let action: MfaFactorName | undefined
  let attempt = 0
  /** Set while a snapshot write may be in flight: undoes it (once settled) if the run fails. */
  let undo: (() => void) | undefined

  try {
    const first = await start(run.signal)
    const { username } = first
    let resume = first.resume
    for (const s of first.steps ?? []) {
      steps.push(s)
      attempts[s.action] = Math.max(attempts[s.action] ?? 0, s.attempt)
    }
    let result = check(first.result)
    /** When the call that produced `result` began: no later than LoginID issued its session. */
    let issuedAt = started
    let passkeyFailed = false
    let forced: MfaFactorName | undefined = resume && 'external'

    while (!result.isComplete) {
      if (steps.length >= maxSteps) {
        throw new MfaError('ERR_MAX_STEPS', `the flow did not complete within ${maxSteps} steps`)
      }
      // Without chooseAction no await here: LoginID's nextAction is taken as is, then checked.
      action =
        forced ??
        validAction(
          result,
          chooseAction ? await chosenAction(result, chooseAction, run.signal) : result.nextAction,
        )
      forced = undefined
      const name = action
      attempt = attempts[name] = (attempts[name] ?? 0) + 1
      // The step's own scope exists only when needed: a step deadline, or a callback's signal.
      let scope: RunScope | undefined =
        settings.stepMs === undefined ? undefined : openScope(run.signal, settings.stepMs, 'step')
      const signal = (): AbortSignal => (scope ??= openScope(run.signal, undefined, 'step')).signal
      const live = (): AbortSignal => scope?.signal ?? run.signal
      const stepStarted = Date.now()
      const stepNo = steps.length + 1
      const current = result
      emit?.({ type: 'step:start', action: name, attempt, step: stepNo, elapsedMs: elapsed() })
      const ctx: StepContext<P> = {
        settings,
        username,
        action: name,
        attempt,
        result: current,
        factor: current.remainingFactors.find((f) => f.type === name),
        steps,
        issuedAt,
        passkeyFailed,
        signal,
        aborted: () => live().aborted,
        takeResume() {
          const taken = resume
          resume = undefined
          return taken
        },
        perform: (factor, extra) => {
          const s = live()
          const opts: MfaPerformActionOptions = {}
          if (current.session) opts.session = current.session
          if (s !== neverSignal()) opts.signal = s
          if (extra) Object.assign(opts, extra)
          return guard(s, () => client.performAction(factor, opts)).then(check)
        },
        callback: (code, message, fn) => callApp(live(), code, message, fn),
      }
      let outcome: StepOutcome
      try {
        outcome = await stepFor(name)(ctx)
      } finally {
        scope?.end()
      }
      if (outcome.type === 'suspend') {
        const { json, url, nonce, expiresAt } = outcome
        await saveSuspension(settings.pendingFlowStorage, storageKey, json, run.signal, (u) => {
          undo = u
        })
        emit?.({
          type: 'redirect',
          action: 'external',
          attempt,
          step: stepNo,
          expiresAt,
          elapsedMs: elapsed(),
        })
        return { status: 'redirect', url, nonce, expiresAt }
      }
      const failure = outcome.type === 'fallback' ? outcome.error : undefined
      if (failure) {
        passkeyFailed = true
        forced = 'external'
        emit?.({
          type: 'fallback',
          action: name,
          attempt,
          to: 'external',
          error: failure,
          elapsedMs: elapsed(),
        })
      }
      if (outcome.result !== current) issuedAt = stepStarted
      result = outcome.result
      const stepOutcome = failure ? 'failed' : result.isComplete ? 'complete' : 'continue'
      steps.push({
        action: name,
        attempt,
        outcome: stepOutcome,
        elapsedMs: Date.now() - stepStarted,
        ...(failure && { error: failure.code }),
      })
      emit?.({
        type: 'step:done',
        action: name,
        attempt,
        step: stepNo,
        outcome: stepOutcome,
        elapsedMs: elapsed(),
      })
    }

    const { summary, completion } = toCompletion(result, username, steps)
    emit?.({ type: 'complete', action, attempt, completion: summary, elapsedMs: elapsed() })
    return completion
  } catch (caught) {
    // A snapshot write the run gave up on (abort, deadline, storage error) must not survive.
    undo?.()
    const error = normalize(caught, action)
    emit?.({ type: 'error', action, attempt, error, elapsedMs: elapsed() })
    throw error
  } finally {
    run.end()
  }
}
