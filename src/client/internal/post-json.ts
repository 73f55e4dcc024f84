// Internal: one JSON POST over ofetch with a per-call AbortSignal and timeout, no retries and no
// throw on HTTP error statuses. Used by the built-in MFA client and fetchGrantToken.
import type { $Fetch } from 'ofetch'
import { MfaError } from '../../shared/errors.js'
import { toMfaError } from '../../internal/http.js'

/** How to send one request. Never put anything from `headers` into an error. */
export interface PostJsonInit {
  /** For error context: the request path without host or query. */
  path: string
  headers?: Record<string, string> | undefined
  credentials: RequestCredentials
  signal?: AbortSignal | undefined
  timeoutMs: number
}

/** The caller's abort as an MfaError (its own reason when that already is one). */
export function abortError(signal: AbortSignal, path?: string): MfaError {
  return signal.reason instanceof MfaError
    ? signal.reason
    : new MfaError('ERR_ABORTED', 'the request was aborted', path ? { method: 'POST', path } : {})
}

/**
 * POST `body` as JSON. Resolves with the status and the parsed body (JSON when the response says
 * so, else text) for every HTTP status; rejects with `ERR_ABORTED`, `ERR_TIMEOUT` or
 * `ERR_NETWORK`.
 */
export async function postJson(
  $fetch: $Fetch,
  url: string,
  body: unknown,
  { path, headers, credentials, signal, timeoutMs }: PostJsonInit,
): Promise<{ status: number; data: unknown }> {
  if (signal?.aborted) throw abortError(signal, path)
  const controller = new AbortController()
  const onAbort = (): void => controller.abort(signal?.reason)
  signal?.addEventListener('abort', onAbort)
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    controller.abort()
  }, timeoutMs)
  try {
    const response = await $fetch.raw(url, {
      method: 'POST',
      body: body as Record<string, unknown>,
      ...(headers && { headers }),
      credentials,
      signal: controller.signal,
      ignoreResponseError: true,
      retry: false,
    })
    return { status: response.status, data: response._data }
  } catch (error) {
    if (signal?.aborted) throw abortError(signal, path)
    if (timedOut) {
      throw new MfaError('ERR_TIMEOUT', `no answer within ${timeoutMs} ms`, {
        method: 'POST',
        path,
      })
    }
    throw toMfaError(error, { method: 'POST', path })
  } finally {
    clearTimeout(timer)
    signal?.removeEventListener('abort', onAbort)
  }
}
