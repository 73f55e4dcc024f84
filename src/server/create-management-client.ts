/**
 * `loginid-mfa-flow/server`: `createManagementClient`, the LoginID management API client that
 * holds the API key and mints grant tokens.
 *
 * @module
 */
import { ofetch } from 'ofetch'
import { MfaError } from '../shared/errors.js'
import type { MfaErrorCode } from '../shared/errors.js'
import { VERSION } from '../shared/version.js'
import { normalizeBaseUrl } from '../internal/base-url.js'
import { clip, codeForStatus, parseAppError, toMfaError } from '../internal/http.js'

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
   * Time limit for each attempt, in milliseconds. An attempt that runs out fails with
   * `ERR_TIMEOUT` and is not retried.
   *
   * @defaultValue 10_000
   */
  timeoutMs?: number
  /**
   * How many times a failed request is retried. Only network failures and 502, 503 and 504
   * answers are retried; every other status (a 500 too) fails at once.
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
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/

/**
 * Create a LoginID management API client. It validates its options (and every username) before
 * any request, sends `User-Agent: loginid-mfa-flow/<version>`, times out each attempt, and retries
 * network failures, 502, 503 and 504 with exponential backoff.
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
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new MfaError('ERR_INVALID_ARGUMENT', 'timeoutMs must be a positive number')
  }
  if (!Number.isInteger(retries) || retries < 0 || retries > 10) {
    throw new MfaError('ERR_INVALID_ARGUMENT', 'retries must be an integer from 0 to 10')
  }
  if (!Number.isFinite(retryDelayMs) || retryDelayMs < 0) {
    throw new MfaError('ERR_INVALID_ARGUMENT', 'retryDelayMs must be a non-negative number')
  }

  const credentials = base64Utf8(`${apiKey}:`)
  const secrets = [apiKey, credentials]
  const $fetch = ofetch.create(
    {
      baseURL: baseUrl,
      headers: {
        Accept: 'application/json',
        'User-Agent': `loginid-mfa-flow/${VERSION}`,
        Authorization: `Basic ${credentials}`,
      },
      // Retries are done below: ofetch counts a network failure as status 500, so its
      // `retryStatusCodes` cannot retry network failures without retrying real 500s too.
      retry: false,
    },
    customFetch === undefined ? {} : { fetch: customFetch },
  )

  async function post(
    path: string,
    body: Record<string, unknown>,
    signal: AbortSignal | undefined,
    scopeText: string,
  ): Promise<unknown> {
    for (let attempt = 0; ; attempt++) {
      if (signal?.aborted) throw new MfaError('ERR_ABORTED', 'the request was aborted', where())
      const timer = new AbortController()
      let timedOut = false
      const timeout = setTimeout(() => {
        timedOut = true
        timer.abort(new DOMException('LoginID did not answer in time', 'TimeoutError'))
      }, timeoutMs)
      const attemptSignal =
        signal === undefined ? timer.signal : AbortSignal.any([signal, timer.signal])
      try {
        const response = await $fetch.raw(path, {
          method: 'POST',
          body,
          signal: attemptSignal,
        })
        return response.status === 204 ? undefined : response._data
      } catch (error) {
        const mapped = timedOut
          ? new MfaError('ERR_TIMEOUT', `LoginID did not answer within ${timeoutMs} ms`, where())
          : mapError(error)
        const retryable =
          mapped.code === 'ERR_NETWORK' ||
          (mapped.status !== undefined && RETRY_STATUSES.has(mapped.status))
        if (!retryable || attempt >= retries || signal?.aborted) throw mapped
        await sleep(backoff(attempt), signal)
      } finally {
        clearTimeout(timeout)
      }
    }

    function where(): { method: string; path: string } {
      return { method: 'POST', path }
    }

    function mapError(error: unknown): MfaError {
      const status = (error as { status?: unknown } | null)?.status
      if (typeof status !== 'number') {
        // Abort, timeout, network failure: fixed messages, only a low-level cause.
        return scrub(toMfaError(error, { method: 'POST', path, signal }))
      }
      const { msg, msgCode } = parseAppError((error as { data?: unknown }).data)
      const detail = msg === undefined ? '' : ` (LoginID: ${clip(redact(msg, secrets))})`
      const context = {
        method: 'POST',
        path,
        status,
        ...(msgCode !== undefined && { msgCode: redact(msgCode, secrets) }),
      }
      let code: MfaErrorCode = codeForStatus(status)
      let text: string
      if (status === 401 && path === TOKEN_VERIFY_PATH && msgCode !== 'unauthorized') {
        // token/verify answers 401 for a bad token too; LoginID's `unauthorized` is the key.
        code = msgCode === 'token_expired' ? 'ERR_TOKEN_EXPIRED' : 'ERR_TOKEN_INVALID'
        text = 'LoginID rejected the token'
      } else if (status === 401) {
        code = 'ERR_API_KEY_INVALID'
        text = 'LoginID rejected the API key (unknown, revoked or for another app)'
      } else if (status === 403) {
        code = 'ERR_API_KEY_SCOPE'
        text = scopeText
      } else if (status >= 500) {
        text = 'LoginID is unavailable'
      } else if (status === 400) {
        text = 'LoginID rejected the request as malformed'
      } else {
        text = `LoginID answered HTTP ${status}`
      }
      return new MfaError(code, `${text}${detail}`, context)
    }

    function scrub(error: MfaError): MfaError {
      // The low-level cause of a network failure comes from the fetch implementation; drop it
      // if it mentions a secret (a custom fetch could echo headers).
      const cause = (error as { cause?: unknown }).cause
      if (cause !== undefined && mentionsSecret(cause, secrets)) {
        return new MfaError(error.code, 'could not reach LoginID', {
          method: 'POST',
          path,
        })
      }
      return error
    }
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

/** Standard base64 of the UTF-8 bytes of `text` (btoa alone only takes Latin-1). */
function base64Utf8(text: string): string {
  let binary = ''
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte)
  return btoa(binary)
}

/** Replace every occurrence of a secret by `[REDACTED]`. */
function redact(text: string, secrets: readonly string[]): string {
  let out = text
  for (const secret of secrets) out = out.split(secret).join('[REDACTED]')
  return out
}

/**
 * Whether an error chain may mention a secret: messages, stacks, nested causes, `AggregateError`
 * members and every own property (a fetch implementation may attach the request, its headers
 * or its options to the error it throws; `console.log(error)` and `JSON.stringify` show them).
 * Anything that cannot be inspected as plain data (a non-Error cause, a `Headers` or `Request`
 * object, a cycle) counts as a mention: it is not worth the risk.
 */
function mentionsSecret(value: unknown, secrets: readonly string[]): boolean {
  if (!(value instanceof Error)) return true
  let text: string
  try {
    text = JSON.stringify(value, (_key, item: unknown) => {
      if (typeof item !== 'object' || item === null || Array.isArray(item)) return item
      if (item instanceof Error) {
        return {
          ...item,
          name: item.name,
          message: item.message,
          stack: item.stack,
          cause: item.cause,
          errors: (item as { errors?: unknown }).errors,
        }
      }
      const proto = Object.getPrototypeOf(item) as unknown
      if (proto === Object.prototype || proto === null) return item
      throw new TypeError('not plain data')
    })
  } catch {
    return true
  }
  return secrets.some((secret) => text.includes(secret))
}

/** Wait `ms`, or less when `signal` aborts (the caller then checks `signal.aborted`). */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal?.addEventListener('abort', done, { once: true })
  })
}
