// Over 400 lines: one public factory whose option docs, request loop and answer checks belong together.
/**
 * `loginid-mfa-flow/server`: `createManagementClient`, the LoginID management API client that
 * holds the API key and mints grant tokens.
 *
 * @module
 */
import { MfaError } from '../shared/errors.js'
import { VERSION } from '../shared/version.js'
import { normalizeBaseUrl } from '../internal/base-url.js'
import { isTimerDuration, MAX_TIMER_MS } from '../internal/guards.js'
import {
  MAX_RESPONSE_BYTES,
  TOO_LARGE,
  base64Utf8,
  mentionsSecret,
  notConnected,
  readCapped,
  sleep,
  httpError,
} from './internal/management-http.js'
import type { Answer, Failure } from './internal/management-http.js'
import { loadRawFetch } from './internal/ofetch-raw.js'
import type { RawFetch } from './internal/ofetch-raw.js'

/** Options for {@link createManagementClient}. */
export interface ManagementClientOptions {
  /**
   * The app's LoginID base URL, e.g. `https://<appId>.api.loginid.io`. Must be https (http is
   * allowed only for localhost and 127.0.0.1).
   */
  baseUrl: string
  /**
   * The LoginID API key (its key id), sent as `Authorization: Basic base64(apiKey + ':')`. It
   * never appears in any error, message or log this library produces.
   */
  apiKey: string
  /**
   * The `fetch` to use (a test double, an instrumented fetch).
   *
   * @defaultValue `globalThis.fetch`, looked up at call time
   */
  fetch?: typeof fetch
  /**
   * Time limit for each attempt, in milliseconds, from 1 to 2,147,483,647 (what a timer can
   * hold). It holds whatever the `fetch` does (a timer is raced against the request and its
   * body). An attempt that runs out fails with `ERR_TIMEOUT` and is not retried.
   *
   * @defaultValue 10_000
   */
  timeoutMs?: number
  /**
   * How many times a failed request is retried. Grants are not idempotent, so only what cannot
   * have reached LoginID is retried: a connection that could not be opened (refused, DNS
   * failure, unreachable host, connect timeout), and 502, 503 and 504 answers. A connection
   * reset, a timeout, a 500 or any other status fails at once.
   *
   * @defaultValue 2
   */
  retries?: number
  /**
   * Base delay before the first retry, in milliseconds; it doubles on every retry (capped at
   * 5 s) and gets up to 50 % random jitter subtracted.
   *
   * @defaultValue 250
   */
  retryDelayMs?: number
}

/** Per-call options of the {@link ManagementClient} methods. */
export interface ManagementRequestOptions {
  /** Cancels the request (and any pending retry); the call then fails with `ERR_ABORTED`. */
  signal?: AbortSignal
}

/** A grant token minted by the management API. */
export interface GrantResult {
  /** The grant token. Short-lived (seconds) and single-use: hand it over right away. */
  token: string
}

/**
 * A client for LoginID's management API (`/fido2/v2/mgmt/*`), authenticated with the API key.
 * Created by {@link createManagementClient}. Backend only.
 */
export interface ManagementClient {
  /** The normalized base URL (no trailing slash). */
  readonly baseUrl: string
  /**
   * Mint a grant token for the MFA `external` factor: `POST /fido2/v2/mgmt/grant/external-auth`
   * `{ username }`. The API key needs the `external:verify` scope.
   *
   * Mint only for a user your backend has itself authenticated.
   *
   * @throws MfaError `ERR_INVALID_ARGUMENT` (bad username), `ERR_API_KEY_INVALID` (401),
   *   `ERR_API_KEY_SCOPE` (403), `ERR_BAD_REQUEST` (400), `ERR_LOGINID_UNAVAILABLE` (5xx),
   *   `ERR_NETWORK`, `ERR_TIMEOUT`, `ERR_ABORTED`, `ERR_BAD_RESPONSE`
   */
  grantExternalAuth(username: string, options?: ManagementRequestOptions): Promise<GrantResult>
  /**
   * Mint a scoped authorization token: `POST /fido2/v2/mgmt/grant` `{ grants, username }`.
   *
   * @param scopes - e.g. `['passkey:read', 'passkey:write']`
   * @throws MfaError as {@link ManagementClient.grantExternalAuth}
   */
  grant(
    username: string,
    scopes: readonly string[],
    options?: ManagementRequestOptions,
  ): Promise<GrantResult>
  /**
   * Ask LoginID whether an access token is valid: `POST /fido2/v2/mgmt/token/verify`
   * `{ jwtAccess }`; 204 means valid. For offline checks use `verifyLoginIDToken`.
   *
   * @returns `true` when LoginID accepts the token
   * A 401 with `msgCode: 'unauthorized'` is read as a rejected API key, any other 401 as a
   * rejected token (`token_expired` → `ERR_TOKEN_EXPIRED`).
   *
   * @throws MfaError `ERR_TOKEN_INVALID` / `ERR_TOKEN_EXPIRED` (LoginID rejected the token),
   *   `ERR_API_KEY_INVALID`,
   *   `ERR_API_KEY_SCOPE`, `ERR_BAD_REQUEST`, `ERR_LOGINID_UNAVAILABLE`, `ERR_NETWORK`,
   *   `ERR_TIMEOUT`, `ERR_ABORTED`
   */
  verifyToken(jwt: string, options?: ManagementRequestOptions): Promise<true>
}

/**
 * The longest username accepted, in UTF-16 code units. LoginID documents no limit; 256 covers
 * every email address (at most 254 characters by RFC 5321) and any sane handle, and keeps an
 * attacker-influenced value from being forwarded at arbitrary size.
 *
 * @example Validate a sign-up form with the same limit
 * ```ts
 * import { MAX_USERNAME_LENGTH } from 'loginid-mfa-flow/server'
 *
 * const valid = (username: string) => username.trim().length > 0 && username.length <= MAX_USERNAME_LENGTH
 * ```
 */
export const MAX_USERNAME_LENGTH = 256

const GRANT_EXTERNAL_AUTH_PATH = '/fido2/v2/mgmt/grant/external-auth'
const GRANT_PATH = '/fido2/v2/mgmt/grant'
const TOKEN_VERIFY_PATH = '/fido2/v2/mgmt/token/verify'
const RETRY_STATUSES = new Set([502, 503, 504])
const MAX_RETRY_DELAY_MS = 5_000
// C0, DEL and C1 control characters.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/

/**
 * Create a LoginID management API client. It validates its options (and every username) before
 * any request, sends `User-Agent: loginid-mfa-flow/<version>`, refuses redirects, reads at most
 * 1 MiB of any answer, times out each attempt, and retries only what cannot have reached LoginID
 * (a connection never opened, 502, 503, 504) with exponential backoff.
 *
 * @throws MfaError `ERR_INVALID_ARGUMENT` for a bad `baseUrl`, `apiKey`, `timeoutMs`, `retries`
 *   or `retryDelayMs`
 * @see https://docs.loginid.io/backend-integration/generating-authz-tokens/
 *
 * @example Mint a grant token for the external factor
 * ```ts
 * import { createManagementClient } from 'loginid-mfa-flow/server'
 *
 * const management = createManagementClient({
 *   baseUrl: process.env.LOGINID_BASE_URL!,
 *   apiKey: process.env.LOGINID_API_KEY!,
 * })
 * const { token } = await management.grantExternalAuth('alice@example.com')
 * ```
 */
export function createManagementClient(options: ManagementClientOptions): ManagementClient {
  if (typeof options !== 'object' || options === null) {
    throw new MfaError('ERR_INVALID_ARGUMENT', 'createManagementClient needs an options object')
  }
  const {
    baseUrl: rawBaseUrl,
    apiKey,
    fetch: customFetch,
    timeoutMs = 10_000,
    retries = 2,
    retryDelayMs = 250,
  } = options
  const baseUrl = normalizeBaseUrl(rawBaseUrl)
  if (typeof apiKey !== 'string' || apiKey.trim() === '') {
    throw new MfaError('ERR_INVALID_ARGUMENT', 'apiKey must be a non-empty string')
  }
  if (customFetch !== undefined && typeof customFetch !== 'function') {
    throw new MfaError('ERR_INVALID_ARGUMENT', 'fetch must be a function')
  }
  if (!isTimerDuration(timeoutMs)) {
    throw new MfaError(
      'ERR_INVALID_ARGUMENT',
      `timeoutMs must be a number of milliseconds from 1 to ${MAX_TIMER_MS}`,
    )
  }
  if (!Number.isInteger(retries) || retries < 0 || retries > 10) {
    throw new MfaError('ERR_INVALID_ARGUMENT', 'retries must be an integer from 0 to 10')
  }
  if (!Number.isFinite(retryDelayMs) || retryDelayMs < 0) {
    throw new MfaError('ERR_INVALID_ARGUMENT', 'retryDelayMs must be a non-negative number')
  }

  const credentials = base64Utf8(`${apiKey}:`)
  const secrets = [apiKey, credentials]
  const headers = {
    Accept: 'application/json',
    'Content-Type': 'application/json',
    'User-Agent': `loginid-mfa-flow/${VERSION}`,
    Authorization: `Basic ${credentials}`,
  }

  let rawFetch: Promise<RawFetch> | undefined
  /** ofetch's `$fetch.raw` for this client, loaded on the first request. */
  function raw(): Promise<RawFetch> {
    rawFetch ??= loadRawFetch(customFetch)
    rawFetch.catch(() => {
      rawFetch = undefined
    })
    return rawFetch
  }

  async function post(
    path: string,
    body: Record<string, unknown>,
    signal: AbortSignal | undefined,
    scopeText: string,
  ): Promise<unknown> {
    const where = { method: 'POST', path }
    const text = JSON.stringify(body)
    for (let attempt = 0; ; attempt++) {
      if (signal?.aborted) throw new MfaError('ERR_ABORTED', 'the request was aborted', where)
      let answer: Answer
      try {
        answer = await send(`${baseUrl}${path}`, text, signal, where)
      } catch (error) {
        const mapped = error as Failure
        if (!mapped.retryable || attempt >= retries || signal?.aborted) throw mapped.error
        await sleep(backoff(attempt), signal)
        continue
      }
      if (answer.status >= 200 && answer.status < 300) {
        return answer.status === 204 ? undefined : answer.data
      }
      const mapped = httpError(answer, path, scopeText, secrets)
      if (!RETRY_STATUSES.has(answer.status) || attempt >= retries || signal?.aborted) throw mapped
      await sleep(backoff(attempt), signal)
    }
  }

  /**
   * One attempt: the request and its body, raced against the timer and the caller's signal (a
   * `fetch` that ignores its signal cannot hold the call). Rejects with a {@link Failure}.
   */
  function send(
    url: string,
    body: string,
    signal: AbortSignal | undefined,
    where: { method: string; path: string },
  ): Promise<Answer> {
    return new Promise<Answer>((resolve, reject) => {
      const controller = new AbortController()
      let settled = false
      const finish = (): boolean => {
        if (settled) return false
        settled = true
        clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
        return true
      }
      const fail = (error: MfaError, retryable = false): void => {
        if (!finish()) return
        controller.abort(error)
        reject({ error, retryable } satisfies Failure)
      }
      const onAbort = (): void =>
        fail(new MfaError('ERR_ABORTED', 'the request was aborted', where))
      const timer = setTimeout(
        () =>
          fail(new MfaError('ERR_TIMEOUT', `LoginID did not answer within ${timeoutMs} ms`, where)),
        timeoutMs,
      )
      signal?.addEventListener('abort', onAbort)
      let fetchFailed: { error: unknown } | undefined
      raw()
        .then((fetchRaw) =>
          fetchRaw(url, {
            method: 'POST',
            headers,
            body,
            signal: controller.signal,
            onRequestError: ({ error }) => {
              // The `fetch` itself failed: keep what it threw, never ofetch's FetchError (it
              // holds the request options and their Authorization header).
              fetchFailed = { error }
            },
          }),
        )
        .then(
          async (response) => {
            if (settled) return
            if (
              response.type === 'opaqueredirect' ||
              (response.status >= 300 && response.status < 400)
            ) {
              response.body?.cancel().catch(() => undefined)
              fail(
                new MfaError(
                  'ERR_BAD_RESPONSE',
                  'LoginID answered with a redirect; redirects are refused',
                  {
                    ...where,
                    status: response.status,
                  },
                ),
              )
              return
            }
            const data = await readCapped(response, customFetch === undefined)
            if (data === TOO_LARGE) {
              fail(
                new MfaError(
                  'ERR_BAD_RESPONSE',
                  `LoginID's answer exceeds ${MAX_RESPONSE_BYTES} bytes`,
                  {
                    ...where,
                    status: response.status,
                  },
                ),
              )
              return
            }
            if (finish()) resolve({ status: response.status, data })
          },
          (error: unknown) => {
            if (settled) return
            if (fetchFailed === undefined) {
              // Not the fetch (ofetch could not load, or a hostile answer object threw while
              // ofetch took it in): not retried, and never an ofetch FetchError here.
              fail(networkError(error, where))
              return
            }
            fail(networkError(fetchFailed.error, where), notConnected(fetchFailed.error))
          },
        )
        .catch((error: unknown) => {
          // The body failed mid-read: the request reached LoginID, so it is not retried.
          if (!settled) fail(networkError(error, where))
        })
    })
  }

  /** A network failure: fixed message; a cause only from the global fetch, and only if clean. */
  function networkError(error: unknown, where: { method: string; path: string }): MfaError {
    const keep =
      customFetch === undefined && error instanceof Error && !mentionsSecret(error, secrets)
    return new MfaError('ERR_NETWORK', 'could not reach LoginID', {
      ...where,
      ...(keep && { cause: error }),
    })
  }

  function backoff(attempt: number): number {
    const full = Math.min(retryDelayMs * 2 ** attempt, MAX_RETRY_DELAY_MS)
    return full - Math.random() * (full / 2)
  }

  function checkedUsername(username: unknown): string {
    const trimmed = typeof username === 'string' ? username.trim() : ''
    if (!trimmed || trimmed.length > MAX_USERNAME_LENGTH || CONTROL_CHARS.test(trimmed)) {
      throw new MfaError(
        'ERR_INVALID_ARGUMENT',
        `username must be a non-empty string of at most ${MAX_USERNAME_LENGTH} characters, without control characters`,
      )
    }
    return trimmed
  }

  function tokenFrom(data: unknown, path: string): GrantResult {
    const token = (data as { token?: unknown } | null | undefined)?.token
    if (typeof data !== 'object' || typeof token !== 'string' || token === '') {
      throw new MfaError('ERR_BAD_RESPONSE', 'LoginID answered without a token', {
        method: 'POST',
        path,
      })
    }
    return { token }
  }

  return {
    baseUrl,
    async grantExternalAuth(username, { signal } = {}) {
      const user = checkedUsername(username)
      const data = await post(
        GRANT_EXTERNAL_AUTH_PATH,
        { username: user },
        signal,
        'the API key lacks the external:verify scope',
      )
      return tokenFrom(data, GRANT_EXTERNAL_AUTH_PATH)
    },
    async grant(username, scopes, { signal } = {}) {
      const user = checkedUsername(username)
      if (
        !Array.isArray(scopes) ||
        scopes.length === 0 ||
        !scopes.every((scope) => typeof scope === 'string' && scope.trim() !== '')
      ) {
        throw new MfaError('ERR_INVALID_ARGUMENT', 'scopes must be a non-empty array of strings')
      }
      const data = await post(
        GRANT_PATH,
        { grants: [...scopes], username: user },
        signal,
        `the API key lacks a requested scope (${scopes.join(', ')})`,
      )
      return tokenFrom(data, GRANT_PATH)
    },
    async verifyToken(jwt, { signal } = {}) {
      if (typeof jwt !== 'string' || jwt.trim() === '') {
        throw new MfaError('ERR_INVALID_ARGUMENT', 'jwt must be a non-empty string')
      }
      await post(
        TOKEN_VERIFY_PATH,
        { jwtAccess: jwt },
        signal,
        'the API key lacks a scope this call needs',
      )
      return true
    },
  }
}
