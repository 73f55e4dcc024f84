// Internal (doctor): check 3, `POST /fido2/v2/mfa/begin` as the browser client sends it.
import { isNonEmptyString, isRecord } from '../../../internal/guards.js'
import { MFA_FACTOR_NAMES } from '../../../shared/protocol.js'
import type { CheckOutcome, DoctorContext } from './context.js'
import { appErrorText, fixForStatus, keepSecret, request } from './context.js'

export const BEGIN_PATH = '/fido2/v2/mfa/begin'

export const FIX_UNKNOWN_ACTION =
  'loginid-mfa-flow skips actions it does not know: upgrade it, or report the action to its maintainers'
export const FIX_NO_ACTION =
  "enable at least one MFA factor the library runs (e.g. external) in the app's MFA settings in the LoginID dashboard"
export const FIX_NO_SESSION =
  'report the evidence to loginid-mfa-flow: the library needs a session to continue the flow'

export async function checkBegin(ctx: DoctorContext): Promise<CheckOutcome> {
  if (!ctx.reachable) return { status: 'skip', evidence: 'LoginID is not reachable (check 1)' }
  const { username, usernameType } = ctx.options
  const answer = await request(ctx, 'POST', BEGIN_PATH, {
    body: { user: { username, usernameType } },
  })
  if (answer.kind === 'failure') {
    return {
      status: 'fail',
      evidence: `POST ${BEGIN_PATH}: ${answer.detail}`,
      fix: 'retry; if it persists, contact LoginID support',
    }
  }
  if (answer.status !== 200) {
    return {
      status: 'fail',
      evidence: `POST ${BEGIN_PATH} answered ${appErrorText(answer)}`,
      fix: fixForStatus(answer.status),
    }
  }
  const body = answer.json
  if (!isRecord(body)) {
    return {
      status: 'fail',
      evidence: `POST ${BEGIN_PATH} answered 200 without a JSON object`,
      fix: FIX_NO_SESSION,
    }
  }
  keepSecret(ctx, body.session)
  if (!isNonEmptyString(body.session)) {
    return {
      status: 'fail',
      evidence: `POST ${BEGIN_PATH} answered 200 without a session`,
      fix: FIX_NO_SESSION,
    }
  }
  const names = (Array.isArray(body.next) ? body.next : []).map((entry: unknown) => {
    const action = isRecord(entry) ? entry.action : undefined
    return isRecord(action) && typeof action.name === 'string' ? action.name : '(no name)'
  })
  const known = names.filter((name) => (MFA_FACTOR_NAMES as readonly string[]).includes(name))
  const unknown = names.filter((name) => !known.includes(name))
  const flow = typeof body.flow === 'string' ? `${body.flow} ` : ''
  const offers = `${flow}for "${username}" offers ${names.length > 0 ? names.join(', ') : 'nothing'}`
  if (known.length === 0) {
    return {
      status: 'fail',
      evidence: `MfaNext ${offers}: no action loginid-mfa-flow can run`,
      fix: unknown.length > 0 ? FIX_UNKNOWN_ACTION : FIX_NO_ACTION,
    }
  }
  ctx.session = body.session
  ctx.offered = known
  if (unknown.length > 0) {
    return {
      status: 'warn',
      evidence: `MfaNext ${offers}; unknown action ${unknown.map((n) => `"${n}"`).join(', ')}`,
      fix: FIX_UNKNOWN_ACTION,
    }
  }
  return { status: 'pass', evidence: `MfaNext ${offers}, with a session` }
}
