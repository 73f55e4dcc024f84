/**
 * `loginid-mfa-flow`: {@link resumeMfa}, which continues a flow that an external step suspended
 * with `ctx.redirect` (an OIDC/CIAM login, an identity-proofing vendor, a magic link).
 *
 * @module
 */
import { MfaError } from '../shared/errors.js'
import { driveMfa, invalid } from './internal/drive-mfa.js'
import { guard } from './internal/run-scope.js'
import {
  PENDING_KEY,
  claimPending,
  expiryOf,
  parseSnapshot,
  pendingStorage,
  sameNonce,
  stored,
} from './internal/pending-flow.js'
import type { ResumeMfaOptions, ResumeMfaResult } from './types.js'

/**
 * Continue, on the return page, a flow that `runMfa` suspended when the external authenticator
 * answered `ctx.redirect(url, state)`.
 *
 * It first takes the saved flow out of `storage` (it is deleted before anything else, so it can
 * be used once: a second call fails with `ERR_NO_PENDING_FLOW`), checks that `nonce` (what the
 * return URL carried back) equals the saved one (`ERR_STATE_MISMATCH`, compared in constant
 * time) and that it has not expired (`ERR_SESSION_EXPIRED`; whatever the saved `expiresAt` says, a
 * flow expires at the latest 15 minutes after it was saved). While one call takes the flow, a
 * second call on the same page and storage fails at once with `ERR_NO_PENDING_FLOW`, calling
 * nothing. Then it gets a grant token from
 * `tokenProvider` for `proof` (the context has the saved username, flow, reason and session),
 * submits it as the `external` factor on the saved LoginID session, and drives the rest of the
 * flow with the same handlers and limits as {@link runMfa} (`steps` include those that ran
 * before the redirect; `maxSteps` counts them too).
 *
 * Resolves with the completion plus the app's `state`, or with a new redirect when a later
 * external step leaves the page again. Rejects with an {@link MfaError}: the codes above,
 * `ERR_STORAGE` when the storage throws, `ERR_EXTERNAL_DENIED` when `proof` is `false`, `null`
 * or `undefined`, and every code of {@link runMfa}. Whatever happens, the saved flow is gone.
 * It works with the built-in client and with a `LoginIDMfa` (the session is passed to
 * `performAction` explicitly).
 *
 * @see https://docs.loginid.io/user-scenario/authentication/mfa/fallback-custom/
 *
 * @example The IdP's return page
 * ```ts
 * import { createMfaClient, fetchGrantToken, peekPendingMfa, resumeMfa } from 'loginid-mfa-flow'
 *
 * const params = new URLSearchParams(location.search)
 * const pending = await peekPendingMfa<{ returnTo: string }>()
 * const result = await resumeMfa<string, { returnTo: string }>({
 *   client: createMfaClient({ baseUrl: 'https://myapp.api.loginid.io' }),
 *   proof: params.get('code'), // checked by your backend before it mints the grant token
 *   nonce: params.get('state') ?? '',
 *   tokenProvider: fetchGrantToken('/api/loginid/external-auth'),
 * })
 * if (result.status === 'complete') {
 *   await fetch('/api/session', { method: 'POST', body: JSON.stringify({ accessToken: result.accessToken }) })
 *   location.replace(result.state?.returnTo ?? pending?.state?.returnTo ?? '/')
 * }
 * ```
 */
export async function resumeMfa<P = unknown, S = unknown>(
  options: ResumeMfaOptions<P>,
): Promise<ResumeMfaResult<S>> {
  if (typeof options !== 'object' || options === null)
    throw invalid('resumeMfa needs an options object')
  const { proof, nonce, tokenProvider, pendingFlowStorage: storage = options.storage } = options
  const { storageKey = PENDING_KEY } = options
  if (typeof tokenProvider !== 'function') throw invalid('tokenProvider must be a function')
  let state: S | undefined
  const result = await driveMfa(options, async (signal) => {
    const target = pendingStorage(storage)
    // One taker: a second call on this page while the first still holds the flow gets nothing,
    // without a storage call (both would otherwise read it before either deletes it).
    const release = claimPending(target, storageKey)
    if (release === undefined) {
      throw new MfaError('ERR_NO_PENDING_FLOW', 'another resumeMfa call is taking this flow')
    }
    // One use: the snapshot goes before anything is checked or sent, and even when the run is
    // aborted (or times out) while the storage is still answering.
    const load = stored(() => target.getItem(storageKey))
    const drop = load.then((raw) =>
      raw === null || raw === undefined ? undefined : stored(() => target.removeItem(storageKey)),
    )
    drop.catch(() => undefined).finally(release)
    const raw = await guard(signal, () => load)
    // Stryker disable next-line ConditionalExpression,LogicalOperator,BlockStatement: parseSnapshot of null or undefined is undefined too, so the run fails with the same ERR_NO_PENDING_FLOW without this branch (it only words the message)
    if (raw === null || raw === undefined) {
      throw new MfaError('ERR_NO_PENDING_FLOW', 'there is no suspended MFA flow to resume')
    }
    await guard(signal, () => drop)
    const saved = parseSnapshot(raw)
    if (!saved) throw new MfaError('ERR_NO_PENDING_FLOW', 'the saved MFA flow is unreadable')
    if (!sameNonce(saved.nonce, nonce)) {
      throw new MfaError('ERR_STATE_MISMATCH', 'the returned nonce does not match the saved flow')
    }
    if (Date.now() >= expiryOf(saved)) {
      throw new MfaError('ERR_SESSION_EXPIRED', 'the saved MFA flow has expired')
    }
    // Stryker disable next-line ConditionalExpression: not reachable in a test: the guard just above settles with the signal's reason once it aborts; a belt kept so no step starts after an abort
    if (signal.aborted) throw signal.reason
    state = saved.state as S | undefined
    return {
      username: saved.username,
      steps: saved.steps,
      resume: { proof, reason: saved.reason },
      result: {
        isComplete: false,
        session: saved.session,
        username: saved.username,
        remainingFactors: saved.factors,
        // Stryker disable next-line StringLiteral: a resumed run's first step is forced to external (drive-mfa.ts); nextAction is never read
        nextAction: 'external',
        ...(saved.flow && { flow: saved.flow }),
      },
    }
  })
  return result.status === 'complete' ? { ...result, state } : result
}
