/**
 * `loginid-mfa-flow`: {@link fetchGrantToken}, the client half of the grant-token exchange.
 *
 * @module
 */
import { MfaError, invalidArgument } from '../shared/errors.js'
import { parseAppError, redact } from '../internal/http.js'
import { isNonEmptyString, isTimerDuration } from '../internal/guards.js'
import { abortError, postJson } from './internal/request.js'
import type { FetchGrantTokenInit, TokenProvider } from './types.js'

/**
 * A {@link TokenProvider} that asks the application's own backend for a LoginID grant token:
 * it POSTs `{ proof, username, session }` as JSON to `url` (with the app's cookies by default)
 * and expects `{ token: string }`. The backend checks the proof, then calls LoginID's
 * `POST /fido2/v2/mgmt/grant/external-auth` with its API key (see `createExternalAuthHandler`
 * in `loginid-mfa-flow/server`).
 *
 * Failures reject with `ERR_TOKEN_PROVIDER` (with the HTTP `status` and the body's `msgCode` when
 * there was a response); an abort of the run rejects with `ERR_ABORTED`.
 *
 * @param url - The backend route, absolute or relative to the page (`/api/loginid/external-auth`).
 * @param init - Headers, credentials mode, fetch and timeout.
 *
 * @example
 * ```ts
 * import { fetchGrantToken, runMfa } from 'loginid-mfa-flow'
 * import type { MfaClient } from 'loginid-mfa-flow'
 *
 * // Partial: the client, the username, your app's login and its CSRF token.
 * declare const client: MfaClient
 * declare const username: string
 * declare const csrfToken: string
 * declare function loginWithPassword(username: string): Promise<{ password: string } | null>
 *
 * await runMfa({
 *   client,
 *   username,
 *   externalAuthenticator: () => loginWithPassword(username), // resolves to a proof
 *   tokenProvider: fetchGrantToken('/api/loginid/external-auth', {
 *     headers: { 'x-csrf-token': csrfToken },
 *   }),
 * })
 * ```
 */
export function fetchGrantToken<P = unknown>(
  url: string,
  init: FetchGrantTokenInit = {},
): TokenProvider<P> {
  if (typeof url !== 'string' || !url.trim())
    throw invalidArgument('url must be a non-empty string')
  const { headers, credentials = 'include', fetch: customFetch, timeoutMs = 15_000 } = init
  if (!isTimerDuration(timeoutMs)) {
    throw invalidArgument('timeoutMs must be a positive number of milliseconds')
  }
  const path = new URL(url, 'http://x').pathname
  return async ({ proof, username, session, signal }) => {
    let res: { status: number; data: unknown }
    try {
      res = await postJson(
        url,
        { proof, username, session },
        { path, headers, credentials, signal, timeoutMs, fetch: customFetch },
      )
    } catch (cause) {
      if (signal?.aborted) throw abortError(signal)
      // `cause` is the request module's own MfaError (no header, no body).
      throw new MfaError('ERR_TOKEN_PROVIDER', 'could not get a grant token', { cause })
    }
    const token = (res.data as { token?: unknown } | null)?.token
    if (res.status >= 200 && res.status < 300 && typeof token === 'string' && token) return token
    // LoginID-style `{ msgCode }`, or the `{ error: code }` of createExternalAuthHandler.
    const error = (res.data as { error?: unknown } | null)?.error
    const raw = parseAppError(res.data).msgCode ?? (isNonEmptyString(error) ? error : undefined)
    const msgCode = raw && redact(raw, [session ?? ''])
    throw new MfaError(
      'ERR_TOKEN_PROVIDER',
      res.status < 300 ? 'the backend sent no token' : 'the backend refused a grant token',
      {
        status: res.status,
        method: 'POST',
        path,
        msgCode,
      },
    )
  }
}
