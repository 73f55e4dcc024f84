// Tests with teeth for createExternalAuthHandler (issue 16, third pass): the grant's signal as a
// runtime hands it over. A cancelled grant is "LoginID unavailable" (503, retryable by the
// page), a Request without a signal (an older polyfill) still mints, and the route leaves no
// listener on the request's signal once the grant settles.
import { getEventListeners } from 'node:events'
import { describe, expect, it, vi } from 'vitest'
import { MfaError } from '../shared/errors.js'
import { createExternalAuthHandler } from './create-external-auth-handler.js'

const URL_ = 'https://app.example.com/api/loginid/grant'
const ORIGIN = 'https://app.example.com'

function post(signal?: AbortSignal): Request {
  return new Request(URL_, {
    method: 'POST',
    headers: { origin: ORIGIN, 'content-type': 'application/json' },
    body: '{"proof":"p"}',
    ...(signal && { signal }),
  })
}

function handlerWith(
  grantExternalAuth: (u: string, o?: { signal?: AbortSignal }) => Promise<{ token: string }>,
) {
  const onError = vi.fn()
  const handler = createExternalAuthHandler({
    management: { grantExternalAuth },
    authorize: () => ({ username: 'alice' }),
    onError,
  })
  return { handler, onError }
}

describe('createExternalAuthHandler: the grant signal', () => {
  it('a grant cancelled (ERR_ABORTED) answers 503 ERR_LOGINID_UNAVAILABLE', async () => {
    const aborted = new MfaError('ERR_ABORTED', 'the request was aborted')
    const { handler, onError } = handlerWith(async () => {
      throw aborted
    })
    const response = await handler(post())
    expect(response.status).toBe(503)
    expect(await response.json()).toEqual({ error: 'ERR_LOGINID_UNAVAILABLE' })
    expect(onError).toHaveBeenCalledWith(
      aborted,
      expect.objectContaining({ code: 'ERR_LOGINID_UNAVAILABLE', status: 503 }),
    )
  })

  it('a Request without a signal (an older polyfill) still mints, with no signal', async () => {
    const grant = vi.fn(async (username: string) => ({ token: `grant-for-${username}` }))
    const { handler } = handlerWith(grant)
    const request = post()
    Object.defineProperty(request, 'signal', { value: null })
    const response = await handler(request)
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ token: 'grant-for-alice' })
    expect(grant).toHaveBeenCalledWith('alice')
  })

  it("leaves no listener on the request's signal once the grant settles", async () => {
    const controller = new AbortController()
    const ok = handlerWith(async () => ({ token: 't' }))
    expect((await ok.handler(post(controller.signal))).status).toBe(200)
    const failing = handlerWith(async () => {
      throw new MfaError('ERR_NETWORK', 'down')
    })
    expect((await failing.handler(post(controller.signal))).status).toBe(503)
    const request = post(controller.signal)
    await ok.handler(request)
    expect(getEventListeners(request.signal, 'abort')).toHaveLength(0)
  })
})
