// Internal: an `otp:*` step: request a code for a contact (`otp/request` answers with the session
// for `otp/verify`), then ask the app for codes until one verifies or `maxAttempts` is reached.
import { MfaError } from '../../../shared/errors.js'
import { SESSION_CODES, normalize } from '../normalize.js'
import type { StepContext, StepOutcome } from './context.js'
import { appContext } from './app-context.js'

export async function otpStep<P>(ctx: StepContext<P>): Promise<StepOutcome> {
  const { action: name, factor } = ctx
  const { otp, maxAttempts } = ctx.settings
  if (!otp) throw new MfaError('ERR_UNSUPPORTED_ACTION', `${name} needs the otp option`)
  const contacts = factor?.options ?? []
  const contact =
    contacts.length === 0
      ? undefined
      : otp.pickContact
        ? await ctx.callback('ERR_OTP_NO_CONTACT', 'pickContact failed', () =>
            otp.pickContact!(contacts, factor!),
          )
        : contacts[0]
  if (typeof contact !== 'string' || !contact) {
    throw new MfaError('ERR_OTP_NO_CONTACT', `LoginID offers no contact for ${name}`)
  }
  // otp/request answers with a new session for otp/verify (and for a resend).
  let session: string | undefined
  const request = async (): Promise<void> => {
    session = (await ctx.perform(name, { payload: contact, ...(session && { session }) })).session
  }
  await request()
  for (let codeAttempt = 1; ; codeAttempt++) {
    const code = await ctx.callback('ERR_OTP_FAILED', 'otp.getCode failed', () =>
      otp.getCode(
        appContext(ctx, {
          username: ctx.username,
          action: name as 'otp:email' | 'otp:sms',
          contact,
          attempt: codeAttempt,
          resend: request,
        }),
      ),
    )
    if (typeof code !== 'string' || !code)
      throw new MfaError('ERR_OTP_FAILED', 'otp.getCode returned no code')
    try {
      const result = await ctx.perform('otp:verify', { payload: code, ...(session && { session }) })
      return { type: 'next', result }
    } catch (caught) {
      if (ctx.aborted()) throw caught
      const error = normalize(caught)
      const msgCode = error.msgCode ?? ''
      // A wrong code: LoginID answers 401 without a session; the OTP session stays usable.
      const wrong =
        (error.status === 401 && !SESSION_CODES.includes(msgCode)) ||
        (error.status === 400 && msgCode.includes('otp'))
      if (!wrong) throw error
      if (codeAttempt >= maxAttempts) {
        throw new MfaError('ERR_OTP_FAILED', `no valid code after ${maxAttempts} attempts`, {
          status: error.status,
          msgCode: error.msgCode,
        })
      }
    }
  }
}
