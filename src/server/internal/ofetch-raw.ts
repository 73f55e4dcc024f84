// Internal: the server entry's HTTP to LoginID (the management client, the JWKS fetch) on
// ofetch, loaded on the first request so that `import 'loginid-mfa-flow/server'` does not load
// it. Not exported from any entry.
import type { FetchContext, FetchOptions, FetchResponse } from 'ofetch'

/** One request through ofetch's `$fetch.raw`: the `Response`, its body left unread. */
export type RawFetch = (
  url: string,
  options: Pick<FetchOptions<'stream'>, 'method' | 'headers' | 'body' | 'signal'> & {
    onRequestError: (context: FetchContext & { error: unknown }) => void
  },
) => Promise<FetchResponse<ReadableStream<Uint8Array>>>

/**
 * ofetch's `$fetch.raw` over `customFetch` (else `globalThis.fetch`, looked up at call time),
 * set up for the server's calls to LoginID: redirects are not followed (callers refuse 3xx), no
 * status throws (callers map every answer), the body is left as a stream (callers read it up to
 * their cap), and ofetch does not retry: its retry cannot tell a connection never opened from a
 * reset one, and a grant is not idempotent, so the management client keeps its own retry loop.
 * Timeouts and aborts are the callers' timer races, which hold whatever `fetch` does.
 * `onRequestError` receives what `fetch` threw: callers keep that, never ofetch's FetchError
 * (it holds the request options and their headers).
 */
export async function loadRawFetch(customFetch: typeof fetch | undefined): Promise<RawFetch> {
  const { ofetch } = await import('ofetch')
  const $fetch = ofetch.create(
    {
      redirect: 'manual',
      ignoreResponseError: true,
      responseType: 'stream',
      retry: 0,
    },
    {
      fetch: customFetch ?? ((input, init) => globalThis.fetch(input, init)),
    },
  )
  return (url, options) => $fetch.raw(url, { ...options, responseType: 'stream' })
}

let globalRaw: Promise<RawFetch> | undefined

/** {@link loadRawFetch} over the global `fetch`, loaded once (again after a failed load). */
export function globalRawFetch(): Promise<RawFetch> {
  globalRaw ??= loadRawFetch(undefined).catch((error: unknown) => {
    globalRaw = undefined
    throw error
  })
  return globalRaw
}
