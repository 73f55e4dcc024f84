// Internal: the `external` step. The app's authenticator proves the user (or asks for a redirect,
// which suspends the run), the token provider turns the proof into a LoginID grant token, and the
// client submits it; one automatic retry with a fresh token when LoginID says it expired.
import { MfaError } from '../../../shared/errors.js'
import type { MfaSessionResult } from '../../../shared/protocol.js'
import type {
  ExternalAuthContext,
  ExternalAuthReason,
  ExternalRedirectRequest,
} from '../../types.js'
import { SESSION_CODES, normalize } from '../normalize.js'
import { invalid } from '../options.js'
import type { PendingFlowSnapshot } from '../pending-flow.js'
import type { StepContext, StepOutcome, Suspension } from './context.js'
import { ExternalContext, appContext } from './app-context.js'

/** Why the external step runs. */
function reasonFor<P>(ctx: StepContext<P>): ExternalAuthReason {
  const { flow, remainingFactors } = ctx.result
  if (flow === 'signUp') return 'signUp'
  if (ctx.passkeyFailed) return 'passkeyFailed'
  return flow === 'signIn' && !remainingFactors.some((f) => f.type.startsWith('passkey:'))
    ? 'newDevice'
    : 'recommended'
}

/** The snapshot for a redirect the authenticator asked for; throws on a bad URL or state. */
function suspend<P>(
  ctx: StepContext<P>,
  request: ExternalRedirectRequest,
  nonce: string,
  reason: ExternalAuthReason,
): Suspension {
  const { result: current } = ctx
  const url = String(request.url)
  if (!url) throw invalid('ctx.redirect needs a URL')
  if (!current.session) {
    throw new MfaError('ERR_BAD_RESPONSE', 'the MFA client reported no session to resume')
  }
  const expiresAt = ctx.issuedAt + ctx.settings.resumeTtlMs
  const snapshot: PendingFlowSnapshot = {
    v: 1,
    nonce,
    expiresAt,
    session: current.session,
    username: ctx.username,
    ...(current.flow && { flow: current.flow }),
    reason,
    factors: current.remainingFactors.map(({ type, label }) => ({ type, label })),
    steps: [...ctx.steps],
    ...(request.state !== undefined && { state: request.state }),
  }
  let json: string
  try {
    json = JSON.stringify(snapshot)
  } catch (cause) {
    throw new MfaError('ERR_INVALID_ARGUMENT', 'ctx.redirect state must be JSON', { cause })
  }
  return { type: 'suspend', json, url, nonce, expiresAt }
}

export async function externalStep<P>(ctx: StepContext<P>): Promise<StepOutcome> {
  const { externalAuthenticator, tokenProvider } = ctx.settings
  const resumed = ctx.takeResume()
  if (!tokenProvider || !(resumed || externalAuthenticator)) {
    throw new MfaError(
      'ERR_UNSUPPORTED_ACTION',
      'external needs externalAuthenticator and tokenProvider',
    )
  }
  const { result: current } = ctx
  const reason = resumed?.reason ?? reasonFor(ctx)
  // `signal` is lazy everywhere (app-context.ts): the step's AbortController exists only if the
  // app reads it.
  const shared = {
    username: ctx.username,
    flow: current.flow,
    reason,
    session: current.session,
    remainingFactors: current.remainingFactors,
    attempt: ctx.attempt,
  }
  let proof: unknown
  if (resumed) {
    proof = resumed.proof
  } else {
    const full = new ExternalContext(ctx, shared)
    proof = await ctx.callback('ERR_EXTERNAL_DENIED', 'the external authenticator failed', () =>
      externalAuthenticator!(full as unknown as ExternalAuthContext),
    )
    if (ExternalContext.issuedBy(full, proof)) {
      return suspend(ctx, proof, full.resumeNonce, reason)
    }
  }
  if (proof === false || proof === null || proof === undefined) {
    throw new MfaError('ERR_EXTERNAL_DENIED', 'the external authenticator denied the user')
  }
  for (let retried = false; ; retried = true) {
    const token = await ctx.callback('ERR_TOKEN_PROVIDER', 'the token provider failed', () =>
      tokenProvider(appContext(ctx, shared, { proof: proof as P })),
    )
    if (typeof token !== 'string' || !token) {
      throw new MfaError('ERR_TOKEN_PROVIDER', 'the token provider returned no token')
    }
    let result: MfaSessionResult
    try {
      result = await ctx.perform('external', { payload: token })
    } catch (caught) {
      if (ctx.aborted()) throw caught
      const error = normalize(caught)
      const msgCode = error.msgCode ?? ''
      if (error.status !== 401 || SESSION_CODES.includes(msgCode)) throw error
      // One automatic retry with a fresh token when LoginID says the token expired.
      if (!retried && msgCode.includes('expired')) continue
      const { msgCode: code, method, path } = error
      throw new MfaError('ERR_TOKEN_REJECTED', 'LoginID rejected the grant token', {
        status: 401,
        msgCode: code,
        method,
        path,
      })
    }
    return { type: 'next', result }
  }
}
