// Internal: what the driver hands each step (one object, as ofetch hands one FetchContext to its
// hooks) and what a step hands back (a tagged outcome the driver switches on).
import type { MfaError, MfaErrorCode } from '../../../shared/errors.js'
import type {
  MfaFactorName,
  MfaPerformActionOptions,
  MfaSessionResult,
  RemainingFactor,
} from '../../../shared/protocol.js'
import type { ExternalAuthReason, MfaStep } from '../../types.js'
import type { DriveSettings } from '../options.js'

/** A `resumeMfa` start: run `external` first with this proof and reason, without the authenticator. */
export interface ResumeRequest {
  proof: unknown
  reason: ExternalAuthReason
}

/** Everything one step may read or call. */
export interface StepContext<P = unknown> {
  /** The run's checked options. */
  readonly settings: DriveSettings<P>
  /** The run's username. */
  readonly username: string
  /** The factor this step runs, and its attempt number in this run. */
  readonly action: MfaFactorName
  readonly attempt: number
  /** LoginID's latest result, and the factor of `action` in it. */
  readonly result: MfaSessionResult
  readonly factor: RemainingFactor | undefined
  /** The steps that ran before this one. */
  readonly steps: readonly MfaStep[]
  /** When the call that produced `result` began (no later than LoginID issued its session). */
  readonly issuedAt: number
  /** Whether a passkey failed earlier in this run (the external step's `reason`). */
  readonly passkeyFailed: boolean
  /**
   * Aborts when the run is aborted, a deadline passes, or the step ends. Made on first call: pass
   * it on through a getter, so a step whose callbacks never read it costs no AbortController. A
   * method, not a getter: a getter closure per step gives every step context its own hidden class.
   */
  signal(): AbortSignal
  /** Whether the step was aborted (the run's abort, a deadline), without making `signal`. */
  aborted(): boolean
  /** Take the resume request, once (`resumeMfa`'s proof for the first external step). */
  takeResume(): ResumeRequest | undefined
  /** `client.performAction` on the current session, guarded by the step, its result checked. */
  perform(name: MfaFactorName, extra?: MfaPerformActionOptions): Promise<MfaSessionResult>
  /** Call an app callback; its failure becomes `code` (unless the step was aborted). */
  callback<T>(code: MfaErrorCode, message: string, fn: () => T | PromiseLike<T>): Promise<T>
}

/** A redirect the external authenticator asked for, ready to save. */
export interface Suspension {
  type: 'suspend'
  json: string
  url: string
  nonce: string
  expiresAt: number
}

/** How a step ended: LoginID's next result, a passkey failure to fall back from, or a redirect. */
export type StepOutcome =
  | { type: 'next'; result: MfaSessionResult }
  | { type: 'fallback'; result: MfaSessionResult; error: MfaError }
  | Suspension

/** A step of one kind. */
export type Step = <P>(ctx: StepContext<P>) => Promise<StepOutcome>
