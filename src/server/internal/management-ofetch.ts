// Internal: the management client's HTTP on ofetch, loaded on the first request so that
// `import 'loginid-mfa-flow/server'` does not load it. Not exported from any entry.
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
 * set up for the management client: redirects are not followed (the client refuses 3xx), no
 * status throws (the client maps every answer), the body is left as a stream (the client reads
 * at most 1 MiB of it), and ofetch does not retry: its retry cannot tell a connection never
 * opened from a reset one, and a grant is not idempotent, so the client keeps its own retry
 * loop. Timeouts and aborts are the client's timer race, which holds whatever `fetch` does.
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
