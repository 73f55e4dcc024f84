// How the doctor reports a request that gets no answer: the system error code found anywhere in
// the fetch failure's causes (or "connection failed"), the time limit with a caller's signal too,
// and no timer left behind. The global fetch is replaced (no MSW in this file).
import { afterEach, describe, expect, it, vi } from 'vitest'
import { runDoctor } from '../../src/server.js'
import type { DoctorReport } from '../../src/server.js'

const APP = 'https://netapp.api.loginid.io'

afterEach(() => {
  vi.unstubAllGlobals()
  vi.useRealTimers()
})

async function firstEvidence(failure: unknown): Promise<string> {
  vi.stubGlobal('fetch', async () => {
    throw failure
  })
  const report = await runDoctor({ baseUrl: APP })
  return report.checks[0]!.evidence
}

const withCode = (code: unknown): Error => Object.assign(new Error('connect failed'), { code })

describe('doctor: a request without an answer', () => {
  it.each([
    ['the error itself', withCode('ECONNREFUSED'), 'ECONNREFUSED'],
    ['its cause', new TypeError('fetch failed', { cause: withCode('ENOTFOUND') }), 'ENOTFOUND'],
    [
      'an aggregated error in its cause',
      new TypeError('fetch failed', {
        cause: new AggregateError([withCode(7), withCode('ENETUNREACH')], 'all failed'),
      }),
      'ENETUNREACH',
    ],
    ['no code at all', new TypeError('fetch failed'), 'connection failed'],
    ['a code that is not a system one', withCode('XECONNREFUSED'), 'connection failed'],
    ['a code with more than capitals', withCode('ECONN1'), 'connection failed'],
    ['a code that is not a string', withCode(['ECONNREFUSED']), 'connection failed'],
    ['a null cause', new TypeError('fetch failed', { cause: null }), 'connection failed'],
    ['a thrown string', 'ECONNRESET', 'connection failed'],
  ])('shows the system error code found in %s', async (_, failure, detail) => {
    expect(await firstEvidence(failure)).toBe(`could not reach netapp.api.loginid.io: ${detail}`)
  })

  it('stops at causes that loop back', async () => {
    const a: Error & { cause?: unknown } = new Error('a')
    const b: Error & { cause?: unknown } = new Error('b', { cause: a })
    a.cause = b
    expect(await firstEvidence(new TypeError('fetch failed', { cause: a }))).toBe(
      'could not reach netapp.api.loginid.io: connection failed',
    )
  })

  it('gives up after timeoutMs even with a caller signal, and leaves no timer behind', async () => {
    vi.stubGlobal('fetch', (_: unknown, init: RequestInit) => {
      return new Promise((_resolve, reject) => {
        init.signal?.addEventListener('abort', () => reject(init.signal?.reason))
        // Without the time limit, an answer would come after 3 s.
        setTimeout(() => _resolve(new Response('{"keys":[]}', { status: 200 })), 3_000).unref()
      })
    })
    const report: DoctorReport = await runDoctor({
      baseUrl: APP,
      timeoutMs: 50,
      signal: new AbortController().signal,
    })
    expect(report.checks[0]).toMatchObject({
      status: 'fail',
      evidence: 'could not reach netapp.api.loginid.io: no answer within 50 ms',
    })
  })

  it('clears its time limit once the answer is read', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    vi.stubGlobal('fetch', async () => new Response('{"keys":[]}', { status: 200 }))
    await runDoctor({ baseUrl: APP, timeoutMs: 60_000 })
    expect(vi.getTimerCount()).toBe(0)
  })
})
