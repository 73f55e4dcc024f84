// Internal: the one JSON POST of the client entry, over plain `fetch` (no HTTP library), shared by
// the built-in MFA client and fetchGrantToken. No retries, no throw on HTTP error statuses.
// Hardened against a hostile or broken server: redirects are refused, the timeout holds even when
// `fetch` ignores its signal or the body never ends, and no error keeps what was sent (the
// fetch's own error is dropped: its text can hold a header value such as the session).
import { MfaError } from '../../shared/errors.js'

/** How to send one request. Never put anything from `headers` into an error. */
export interface RequestInit {
  /** For error context: the request path without host or query. */
  path: string
  headers?: Record<string, string> | undefined
  credentials: RequestCredentials
  signal?: AbortSignal | undefined
  timeoutMs: number
  /** The fetch to use; `globalThis.fetch` (looked up now) when absent. */
  fetch?: typeof fetch | undefined
}

/** An answer: the status and the parsed body (JSON when it parses, else the text). */
export interface JsonResponse {
  status: number
  data: unknown
}

/** The caller's abort as an MfaError (its own reason when that already is one). */
export function abortError(signal: AbortSignal, path?: string): MfaError {
  return signal.reason instanceof MfaError
    ? signal.reason
    : new MfaError('ERR_ABORTED', 'the request was aborted', { method: path && 'POST', path })
}

/**
 * POST `body` as JSON to `url`. Resolves with the status and parsed body for every 2xx–5xx
 * status; rejects with `ERR_ABORTED`, `ERR_TIMEOUT`, `ERR_NETWORK`, or `ERR_BAD_RESPONSE` for a
 * redirect.
 */
export function postJson(url: string, body: unknown, init: RequestInit): Promise<JsonResponse> {
  const { path, headers, credentials, signal, timeoutMs } = init
  const where = { method: 'POST', path }
  if (signal?.aborted) return Promise.reject(abortError(signal, path))
  const controller = new AbortController()
  return new Promise<JsonResponse>((resolve, reject) => {
    const fail = (error: MfaError): void => {
      done()
      controller.abort(error)
      reject(error)
    }
    const onAbort = (): void => fail(abortError(signal as AbortSignal, path))
    const timer = setTimeout(
      () => fail(new MfaError('ERR_TIMEOUT', `no answer within ${timeoutMs} ms`, where)),
      timeoutMs,
    )
    const done = (): void => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
    }
    signal?.addEventListener('abort', onAbort)
    const send = async (): Promise<JsonResponse> => {
      let response: Response
      try {
        response = await (init.fetch ?? fetch)(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
          body: JSON.stringify(body),
          credentials,
          redirect: 'manual',
          signal: controller.signal,
        })
      } catch (error) {
        // The fetch's error is never kept: its text can hold a header value.
        const name = (error as { name?: unknown } | null)?.name
        throw new MfaError(
          'ERR_NETWORK',
          `could not reach the server${typeof name === 'string' ? ` (${name.slice(0, 40)})` : ''}`,
          where,
        )
      }
      const { status } = response
      if (response.type === 'opaqueredirect' || (status >= 300 && status < 400) || status < 200) {
        void response.body?.cancel().catch(() => undefined)
        throw new MfaError('ERR_BAD_RESPONSE', `refused a redirect (HTTP ${status})`, where)
      }
      let text: string
      try {
        text = await response.text()
      } catch {
        throw new MfaError('ERR_NETWORK', 'the answer was cut off', where)
      }
      const type = response.headers.get('content-type') ?? ''
      if (!type || type.includes('json')) {
        try {
          return { status, data: JSON.parse(text) as unknown }
        } catch {
          // not JSON after all: keep the text
        }
      }
      return { status, data: text }
    }
    send().then(
      (value) => {
        done()
        resolve(value)
      },
      (error: MfaError) => fail(error),
    )
  })
}
