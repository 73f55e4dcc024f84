// Internal: a `passkey:*` step. The ceremony runs inside the client's performAction; a failed
// ceremony (or LoginID's 401 that then offers only `external`) falls back to `external` when the
// policy and the flow allow, else fails the run with the passkey error.
import { MfaError } from '../../../shared/errors.js'
import type { MfaSessionResult } from '../../../shared/protocol.js'
import { asPasskeyFailure } from '../normalize.js'
import type { StepContext, StepOutcome } from './context.js'

export async function passkeyStep<P>(ctx: StepContext<P>): Promise<StepOutcome> {
  const { action, factor, settings } = ctx
  let result: MfaSessionResult = ctx.result
  let failure: MfaError | undefined
  try {
    result = await ctx.perform(action, factor?.value ? { payload: factor.value } : {})
    // LoginID answers a failed passkey with a 401 that offers only `external`.
    const { remainingFactors } = result
    if (
      !result.isComplete &&
      remainingFactors.length > 0 &&
      remainingFactors.every((f) => f.type === 'external')
    ) {
      failure = new MfaError('ERR_PASSKEY_FAILED', 'LoginID did not accept the passkey')
    }
  } catch (error) {
    if (ctx.aborted()) throw error
    failure = asPasskeyFailure(error, action)
    if (!failure) throw error
  }
  if (!failure) return { type: 'next', result }
  const canFallback =
    // Stryker disable next-line OptionalChaining: settings.passkey defaults to {}
    settings.passkey?.onError !== 'throw' &&
    settings.externalAuthenticator !== undefined &&
    result.remainingFactors.some((f) => f.type === 'external')
  if (!canFallback) throw failure
  return { type: 'fallback', result, error: failure }
}
