// Internal: the step of each factor kind, and the check every client result passes before a
// step or the driver reads it.
import { MfaError, isMfaError } from '../../../shared/errors.js'
import type { MfaErrorCode } from '../../../shared/errors.js'
import type { MfaFactorName, MfaSessionResult } from '../../../shared/protocol.js'
import { factorOf } from '../../../shared/factors.js'
import type { FactorKind } from '../../../shared/factors.js'
import { isNonEmptyString } from '../../../internal/guards.js'
import { guard } from '../run-scope.js'
import { safeCause } from '../normalize.js'
import type { Step } from './context.js'
import { passkeyStep } from './passkey.js'
import { externalStep } from './external.js'
import { otpStep } from './otp.js'

/** The step of each kind; a mapped type, so a new kind is a compile error here until it has one. */
const STEPS: { readonly [K in FactorKind]: Step | undefined } = {
  passkey: passkeyStep,
  otp: otpStep,
  external: externalStep,
  verify: undefined, // `otp:verify` is part of an `otp:*` step
}

/** The step for a factor, by its kind. `verify` (otp:verify) only runs inside an OTP step. */
export function stepFor(action: MfaFactorName): Step {
  const step = STEPS[factorOf(action)!.kind]
  if (!step) throw new MfaError('ERR_UNSUPPORTED_ACTION', `${action} cannot be started by itself`)
  return step
}

const isToken = (t: unknown): boolean => t === undefined || isNonEmptyString(t)

/** Validate a client's result enough to drive on (and to trust its tokens' types). */
export function check(result: MfaSessionResult): MfaSessionResult {
  if (typeof result !== 'object' || result === null || !Array.isArray(result.remainingFactors)) {
    throw new MfaError('ERR_BAD_RESPONSE', 'the MFA client returned no remainingFactors')
  }
  const { accessToken, payloadSignature } = result as unknown as Record<string, unknown>
  if (
    !isToken(accessToken) ||
    !isToken(payloadSignature) ||
    (result.isComplete && !accessToken && !payloadSignature)
  ) {
    throw new MfaError('ERR_BAD_RESPONSE', 'the MFA client returned an invalid token')
  }
  return result
}

/** Call an application callback; its failure becomes `code` (unless `signal` aborted). */
export async function callApp<T>(
  signal: AbortSignal,
  code: MfaErrorCode,
  message: string,
  fn: () => T | PromiseLike<T>,
): Promise<T> {
  try {
    return await guard(signal, fn)
  } catch (cause) {
    if (signal.aborted || isMfaError(cause, code)) throw cause
    throw new MfaError(code, message, { cause: safeCause(cause) })
  }
}

/** `chooseAction`'s answer for `result`, else LoginID's `nextAction` (unchecked). */
export async function chosenAction(
  result: MfaSessionResult,
  chooseAction: (r: MfaSessionResult) => unknown,
  signal: AbortSignal,
): Promise<unknown> {
  try {
    return (await guard(signal, () => chooseAction(result))) ?? result.nextAction
  } catch (cause) {
    if (signal.aborted) throw cause
    throw new MfaError('ERR_UNSUPPORTED_ACTION', 'chooseAction failed', {
      cause: safeCause(cause),
    })
  }
}

/** The next action to run, checked: a factor this package knows. */
export function validAction(result: MfaSessionResult, name: unknown): MfaFactorName {
  // No next action: a factor this package does not know is why, if LoginID offers one.
  name ??= result.remainingFactors.find((f) => !factorOf(f.type))?.type
  if (name === undefined) throw new MfaError('ERR_NO_ACTION', 'LoginID offers no next action')
  if (!factorOf(name))
    throw new MfaError('ERR_UNKNOWN_ACTION', `unknown MFA action "${String(name)}"`)
  return name as MfaFactorName
}
