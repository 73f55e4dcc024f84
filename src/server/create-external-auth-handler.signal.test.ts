// How the token route ties the LoginID call to `request.signal`: cancelled while the answer is
// pending, untouched once it is sent (Deno's default `Deno.serve` aborts `request.signal` after
// every successful response; the Fetch standard and `--unstable-no-legacy-abort` only on
// disconnect). The suite in runtimes/ runs the route in Deno both ways.
import { describe, expect, it, vi } from 'vitest'
import { MfaError } from '../shared/errors.js'
import { createExternalAuthHandler } from './create-external-auth-handler.js'
import type { ManagementRequestOptions } from './create-management-client.js'

const ORIGIN = 'https://app.example.com'

function request(signal: AbortSignal): Request {
  return new Request(`${ORIGIN}/api/loginid/grant`, {
    method: 'POST',
    headers: { origin: ORIGIN, 'content-type': 'application/json' },
    body: JSON.stringify({ proof: 'p' }),
    signal,
  })
}

/** A grant that settles when told to, or rejects `ERR_ABORTED` when its signal aborts. */
function pendingGrant() {
  const signals: AbortSignal[] = []
  let started!: () => void
  const startedPromise = new Promise<void>((resolve) => (started = resolve))
  let settle!: (token: string) => void
  const grantExternalAuth = vi.fn(
    (_username: string, options?: ManagementRequestOptions) =>
      new Promise<{ token: string }>((resolve, reject) => {
        const signal = options?.signal
        if (signal) signals.push(signal)
        settle = (token) => resolve({ token })
        const onAbort = () =>
          reject(new MfaError('ERR_ABORTED', 'aborted', { cause: signal?.reason }))
        if (signal?.aborted) onAbort()
        signal?.addEventListener('abort', onAbort, { once: true })
        started()
      }),
  )
  return { grantExternalAuth, signals, started: startedPromise, settle: (t: string) => settle(t) }
}

describe('createExternalAuthHandler and request.signal', () => {
  it('leaves the LoginID call alone when request.signal aborts after a success (legacy Deno)', async () => {
    const grant = pendingGrant()
    const handler = createExternalAuthHandler({
      management: grant,
      authorize: () => ({ username: 'alice' }),
    })
    const client = new AbortController()
    const answer = handler(request(client.signal))
    await grant.started
    grant.settle('grant-token')
    const response = await answer
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ token: 'grant-token' })

    client.abort() // what Deno.serve does once the successful response is sent
    expect(grant.signals).toHaveLength(1)
    expect(grant.signals[0]?.aborted).toBe(false)
  })

  it('aborts the LoginID call when the client goes away before the answer: 503', async () => {
    const grant = pendingGrant()
    const onError = vi.fn()
    const handler = createExternalAuthHandler({
      management: grant,
      authorize: () => ({ username: 'alice' }),
      onError,
    })
    const client = new AbortController()
    const answer = handler(request(client.signal))
    await grant.started
    const reason = new Error('client disconnected')
    client.abort(reason)

    const response = await answer
    expect(response.status).toBe(503)
    expect(await response.json()).toEqual({ error: 'ERR_LOGINID_UNAVAILABLE' })
    expect(grant.signals[0]?.aborted).toBe(true)
    expect(grant.signals[0]?.reason).toBe(reason)
    expect(onError).toHaveBeenCalledTimes(1)
    expect(onError.mock.calls[0]?.[0]).toMatchObject({ code: 'ERR_ABORTED' })
  })

  it('hands the LoginID call an aborted signal when the request aborted during authorize', async () => {
    const grant = pendingGrant()
    const client = new AbortController()
    const handler = createExternalAuthHandler({
      management: grant,
      authorize: () => {
        client.abort()
        return { username: 'alice' }
      },
    })
    const response = await handler(request(client.signal))
    expect(response.status).toBe(503)
    expect(grant.grantExternalAuth).toHaveBeenCalledTimes(1)
    expect(grant.signals[0]?.aborted).toBe(true)
  })
})
