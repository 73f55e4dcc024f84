/**
 * `loginid-mfa-flow`: {@link runMfa}, the driver that runs a LoginID MFA flow from `beginFlow`
 * to tokens and hands the `external` step to the application.
 *
 * @module
 */
import { driveMfa, invalid } from './internal/drive-mfa.js'
import { guard, neverSignal } from './internal/run-scope.js'
import { isRecord } from '../internal/guards.js'
import type { RunMfaOptions, RunMfaResult } from './types.js'

/**
 * Run a LoginID MFA flow to completion: `beginFlow`, then one factor after another as LoginID
 * asks (passkeys through the client, OTP as request-then-verify with `otp.getCode`, `external`
 * through `externalAuthenticator` and `tokenProvider`), until LoginID returns tokens.
 *
 * Resolves with a {@link RunMfaResult}: `{ status: 'complete', accessToken, ... }` (an
 * {@link MfaCompletion}), or `{ status: 'redirect', url, nonce }` when the external
 * authenticator answered `ctx.redirect(url, state)`: the flow is then saved in `storage`
 * (`sessionStorage` by default) and the app navigates to `url`; its return page continues with
 * {@link resumeMfa}. Rejects with an {@link MfaError} whose `code` says what happened
 * (`ERR_EXTERNAL_DENIED`, `ERR_TOKEN_REJECTED`, `ERR_ABORTED`, `ERR_TIMEOUT`, `ERR_MAX_STEPS`,
 * `ERR_STORAGE`, ...). It never resolves incomplete, never runs more than `maxSteps` steps and
 * never outlives `signal` or a deadline: after either, no further request is sent.
 *
 * @see https://docs.loginid.io/user-scenario/authentication/mfa/fallback-custom/
 *
 * @example Sign in with passkeys, falling back to the app's own login
 * ```ts
 * import { browserWebAuthn, createMfaClient, fetchGrantToken, isMfaError, runMfa } from 'loginid-mfa-flow'
 *
 * // Partial: your app's password dialog (resolves to a proof, or null when the user gives up).
 * declare function showPasswordDialog(reason: string): Promise<{ password: string } | null>
 *
 * const client = createMfaClient({ baseUrl: 'https://myapp.api.loginid.io', webauthn: browserWebAuthn() })
 * try {
 *   const result = await runMfa({
 *     client,
 *     username: 'ada@example.com',
 *     externalAuthenticator: ({ reason }) => showPasswordDialog(reason),
 *     tokenProvider: fetchGrantToken('/api/loginid/external-auth'),
 *     otp: { getCode: ({ contact }) => prompt(`Code sent to ${contact}`) ?? '' },
 *     onEvent: (event) => console.debug(event.type, event),
 *   })
 *   if (result.status === 'complete') {
 *     await fetch('/api/session', { method: 'POST', body: JSON.stringify({ accessToken: result.accessToken }) })
 *   }
 * } catch (err) {
 *   if (!isMfaError(err, 'ERR_EXTERNAL_DENIED', 'ERR_ABORTED')) throw err
 * }
 * ```
 *
 * @example Leave the page for the app's identity provider
 * ```ts
 * import { fetchGrantToken, runMfa } from 'loginid-mfa-flow'
 * import type { MfaClient } from 'loginid-mfa-flow'
 *
 * // Partial: the client and the username, as in the example above.
 * declare const client: MfaClient
 * declare const username: string
 *
 * const result = await runMfa({
 *   client,
 *   username,
 *   externalAuthenticator: (ctx) => {
 *     const url = new URL('https://idp.example/authorize?client_id=app')
 *     url.searchParams.set('redirect_uri', `${location.origin}/idp/callback`)
 *     url.searchParams.set('state', ctx.resumeNonce) // the return page hands it to resumeMfa
 *     return ctx.redirect(url, { returnTo: '/account' })
 *   },
 *   tokenProvider: fetchGrantToken('/api/loginid/external-auth'),
 * })
 * if (result.status === 'redirect') location.assign(result.url) // the return page calls resumeMfa
 * ```
 */
export async function runMfa<P = unknown>(options: RunMfaOptions<P>): Promise<RunMfaResult> {
  if (!isRecord(options)) throw invalid('runMfa needs an options object')
  const { client, username, beginOptions = {}, externalAuthenticator, tokenProvider } = options
  // (performAction is checked with the options runMfa shares with resumeMfa.)
  if (typeof client?.beginFlow !== 'function') throw invalid('client must have beginFlow')
  if (typeof username !== 'string' || !username.trim())
    throw invalid('username must be a non-empty string')
  if (!externalAuthenticator !== !tokenProvider) {
    throw invalid('externalAuthenticator and tokenProvider go together')
  }
  return driveMfa(options, async (signal) => ({
    username,
    // A run that can never abort passes no signal (as `perform` does): the client adds no abort
    // listener, and a fetch-based client builds no linked signal for its Request.
    result: await guard(signal, () =>
      client.beginFlow(
        username,
        signal === neverSignal() ? beginOptions : Object.assign({}, beginOptions, { signal }),
      ),
    ),
  }))
}
