// Tests with teeth for the driver (issue 16): runMfa and the steps it runs, through a scripted
// `MfaClient` whose answers each test chooses (a `LoginIDMfa` that throws what websdk3 3.5.0
// throws, see helpers.ts). Each test fails when a deliberate breakage that the other tests let
// through is applied. What an app relies on: the result's fields, the error's code and fields, the
// events, which calls reach the client, and that a failure is not mistaken for another.
import { describe, expect, it, vi } from 'vitest'
import { resumeMfa, runMfa } from '../../src/index.js'
import type {
  ExternalAuthContext,
  ExternalAuthenticator,
  MfaClient,
  MfaCompletion,
  MfaEvent,
  MfaFactorName,
  MfaPerformActionOptions,
  MfaSessionResult,
  OtpCodeContext,
  RemainingFactor,
  RunMfaOptions,
  TokenProvider,
} from '../../src/index.js'
import { failure } from '../support/mfa-errors.js'
import { ApiError, PasskeyError, completed, memoryStorage } from './helpers.js'

const ADA = 'ada@example.com'
/** `T` whose optional fields may also be set to undefined (as a client or app may do). */
type Loose<T> = { [K in keyof T]?: T[K] | undefined }
const URL_ = 'https://tenant.api.loginid.io/fido2/v2/mfa/x'

/** A factor as LoginIDMfa lists it. */
function factor(type: MfaFactorName, extra: Partial<RemainingFactor> = {}): RemainingFactor {
  return {
    type,
    label: type,
    ...(type.startsWith('otp:') && { options: [`${type}@contact`] }),
    ...(type.startsWith('passkey:') && { value: `${type}-options` }),
    ...extra,
  }
}

/** An incomplete result offering `types` (the first is `nextAction`). */
function offer(types: MfaFactorName[], extra: Loose<MfaSessionResult> = {}): MfaSessionResult {
  return <MfaSessionResult>{
    isComplete: false,
    flow: 'signIn',
    session: 'sess-1',
    remainingFactors: types.map((t) => factor(t)),
    ...(types[0] && { nextAction: types[0] }),
    ...extra,
  }
}

const done = (extra: Loose<MfaSessionResult> = {}): MfaSessionResult =>
  <MfaSessionResult>{
    isComplete: true,
    remainingFactors: [],
    accessToken: 'access-token-1',
    ...extra,
  }

/** websdk3's ApiError for a LoginID answer. */
const apiError = (status: number, msgCode: string, session = 'sess-secret-header'): ApiError =>
  new ApiError(
    URL_,
    status,
    'status',
    { msg: `failed ${msgCode}`, msgCode },
    {
      method: 'POST',
      url: URL_,
      headers: { Authorization: session },
    },
  )

type Answer =
  | MfaSessionResult
  | Error
  | ((options: MfaPerformActionOptions) => MfaSessionResult | Promise<MfaSessionResult>)

/**
 * A client that answers `beginFlow` with `begin`, then each `performAction` with the next answer
 * (an Error is thrown); past the script it repeats the last one. Records every call.
 */
function scripted(begin: MfaSessionResult | Error, ...answers: Answer[]) {
  const calls: { factor: MfaFactorName; options: MfaPerformActionOptions }[] = []
  const client: MfaClient = {
    beginFlow: vi.fn(async () => {
      if (begin instanceof Error) throw begin
      return begin
    }),
    performAction: vi.fn(async (f: MfaFactorName, options: MfaPerformActionOptions = {}) => {
      calls.push({ factor: f, options })
      const answer = answers[Math.min(calls.length, answers.length) - 1]
      if (answer === undefined) throw new Error('no scripted answer')
      if (answer instanceof Error) throw answer
      return typeof answer === 'function' ? answer(options) : answer
    }),
  }
  return { client, calls, factors: () => calls.map((c) => c.factor) }
}

function run<P = true>(client: MfaClient, extra: Loose<RunMfaOptions<P>> = {}) {
  const events: MfaEvent[] = []
  const promise = runMfa<P>({
    client,
    username: ADA,
    onEvent: (e) => void events.push(e),
    ...extra,
  } as RunMfaOptions<P>)
  return { promise, events }
}

describe('otp:verify: only a wrong code asks again', () => {
  const otpRun = (verify: Answer, ...more: Answer[]) => {
    const s = scripted(
      offer(['otp:email']),
      offer(['otp:email'], { session: 'otp-sess' }),
      verify,
      ...more,
    )
    const getCode = vi.fn((_: OtpCodeContext) => '123456')
    const r = run(s.client, { otp: { getCode } })
    return { ...s, ...r, getCode }
  }

  it.each([
    ['a 5xx', apiError(503, 'unavailable'), 'ERR_LOGINID_UNAVAILABLE', 503],
    ['a 401 session_expired', apiError(401, 'session_expired'), 'ERR_SESSION_INVALID', 401],
    ['a 401 unauthorized', apiError(401, 'unauthorized'), 'ERR_SESSION_INVALID', 401],
    ['a 400 that is not about the code', apiError(400, 'bad_request'), 'ERR_BAD_REQUEST', 400],
    ['a 403', apiError(403, 'invalid_otp'), 'ERR_FORBIDDEN', 403],
  ])('%s fails the run at once with its own code', async (_, error, code, status) => {
    const t = otpRun(error)
    const err = await failure(t.promise)
    expect(err.code).toBe(code)
    expect(err.status).toBe(status)
    expect(t.getCode).toHaveBeenCalledTimes(1)
    expect(t.factors()).toEqual(['otp:email', 'otp:verify'])
  })

  it('a network failure fails the run with ERR_NETWORK, asking for no second code', async () => {
    const t = otpRun(new TypeError('fetch failed'))
    expect((await failure(t.promise)).code).toBe('ERR_NETWORK')
    expect(t.getCode).toHaveBeenCalledTimes(1)
  })

  it('a 401 wrong code and a 400 otp error ask again, on the OTP session', async () => {
    const t = otpRun(apiError(401, 'invalid_otp'), apiError(400, 'otp_expired'), done())
    const completion = (await completed(t.promise)) as MfaCompletion
    expect(completion.accessToken).toBe('access-token-1')
    expect(t.getCode.mock.calls.map(([c]) => c.attempt)).toEqual([1, 2, 3])
    expect(t.calls.slice(1).map((c) => [c.factor, c.options.session, c.options.payload])).toEqual([
      ['otp:verify', 'otp-sess', '123456'],
      ['otp:verify', 'otp-sess', '123456'],
      ['otp:verify', 'otp-sess', '123456'],
    ])
  })

  it('wrong codes up to maxAttempts end in ERR_OTP_FAILED with the last status', async () => {
    const s = scripted(offer(['otp:sms']), offer(['otp:sms']), apiError(401, 'invalid_otp'))
    const getCode = vi.fn(() => '000000')
    const err = await failure(run(s.client, { otp: { getCode, maxAttempts: 2 } }).promise)
    expect([err.code, err.status, err.msgCode]).toEqual(['ERR_OTP_FAILED', 401, 'invalid_otp'])
    expect(getCode).toHaveBeenCalledTimes(2)
    expect(s.factors()).toEqual(['otp:sms', 'otp:verify', 'otp:verify'])
  })
})

describe('passkey steps: only a ceremony failure falls back', () => {
  const passkeyRun = (error: Error) => {
    const s = scripted(offer(['passkey:auth', 'external']), error, done())
    const externalAuthenticator = vi.fn(() => true)
    const r = run(s.client, { externalAuthenticator, tokenProvider: () => 'grant-token' })
    return { ...s, ...r, externalAuthenticator }
  }

  it.each([
    ['a network failure', new TypeError('fetch failed'), 'ERR_NETWORK'],
    ['a 5xx', apiError(500, 'internal'), 'ERR_LOGINID_UNAVAILABLE'],
    ['a 401 session_expired', apiError(401, 'session_expired'), 'ERR_SESSION_INVALID'],
  ])('%s fails the run at once, without falling back or repeating', async (_, error, code) => {
    const t = passkeyRun(error)
    const err = await failure(t.promise)
    expect(err.code).toBe(code)
    expect(t.factors()).toEqual(['passkey:auth'])
    expect(t.externalAuthenticator).not.toHaveBeenCalled()
    expect(t.events.map((e) => e.type)).toEqual(['step:start', 'error'])
  })

  it('a ceremony failure falls back to external once, and the run completes', async () => {
    const t = passkeyRun(
      new PasskeyError('failed', 'ERROR_GENERAL_ERROR', new DOMException('x', 'NotAllowedError')),
    )
    const completion = await completed(t.promise)
    expect(t.factors()).toEqual(['passkey:auth', 'external'])
    expect(t.externalAuthenticator).toHaveBeenCalledWith(
      expect.objectContaining({ reason: 'passkeyFailed', attempt: 1 }),
    )
    expect(completion.steps.map((s) => [s.action, s.outcome, s.error])).toEqual([
      ['passkey:auth', 'failed', 'ERR_PASSKEY_CANCELLED'],
      ['external', 'complete', undefined],
    ])
    const fallback = t.events.find((e) => e.type === 'fallback')
    expect(fallback).toMatchObject({ action: 'passkey:auth', attempt: 1, to: 'external' })
  })
})

describe('the completion', () => {
  it('passkey:tx: payloadSignature reaches runMfa’s completion', async () => {
    const s = scripted(
      offer(['passkey:tx']),
      done({ accessToken: undefined, payloadSignature: 'tx-signature' }),
    )
    const completion = await completed(run(s.client).promise)
    expect(completion.payloadSignature).toBe('tx-signature')
    expect(completion.accessToken).toBeUndefined()
    expect(s.calls[0]).toEqual({
      factor: 'passkey:tx',
      options: { session: 'sess-1', payload: 'passkey:tx-options' },
    })
  })
})

describe('options are checked before any call', () => {
  const fn = () => true
  it.each<[string, Record<string, unknown>]>([
    ['options that are not an object', { $replace: null }],
    ['a client without beginFlow', { client: { performAction: fn } }],
    ['a client without performAction', { client: { beginFlow: fn } }],
    ['a non-string username', { username: 42 }],
    ['a tokenProvider without an authenticator', { tokenProvider: fn }],
    [
      'an externalAuthenticator that is not a function',
      { externalAuthenticator: 'x', tokenProvider: fn },
    ],
    ['a tokenProvider that is not a function', { externalAuthenticator: fn, tokenProvider: 1 }],
    ['a chooseAction that is not a function', { chooseAction: {} }],
    ['an onEvent that is not a function', { onEvent: 'log' }],
    ['otp null', { otp: null }],
    ['otp.maxAttempts 1.5', { otp: { getCode: fn, maxAttempts: 1.5 } }],
    ['otp.maxAttempts -1', { otp: { getCode: fn, maxAttempts: -1 } }],
    ['maxSteps 2.5', { maxSteps: 2.5 }],
    ['maxSteps -3', { maxSteps: -3 }],
    ['a zero runMs', { timeouts: { runMs: 0 } }],
    ['a string stepMs', { timeouts: { stepMs: '5' } }],
    ['a signal that is not an AbortSignal', { signal: {} }],
    ['a null signal', { signal: null }],
    ['a storage without setItem', { pendingFlowStorage: { getItem: fn, removeItem: fn } }],
    ['a non-string storageKey', { storageKey: 7 }],
    ['resumeTtlMs over 15 minutes', { resumeTtlMs: 900_001 }],
    ['a NaN resumeTtlMs', { resumeTtlMs: Number.NaN }],
  ])('rejects %s with ERR_INVALID_ARGUMENT', async (_, extra) => {
    const s = scripted(offer(['external']), done())
    const options =
      '$replace' in extra ? extra.$replace : { client: s.client, username: ADA, ...extra }
    expect((await failure(runMfa(options as never))).code).toBe('ERR_INVALID_ARGUMENT')
    expect(s.client.beginFlow).not.toHaveBeenCalled()
    expect(s.calls).toHaveLength(0)
  })

  it('accepts the documented edge values', async () => {
    const s = scripted(offer(['passkey:auth']), done())
    const completion = await completed(
      runMfa({
        client: s.client,
        username: ADA,
        maxSteps: 1,
        resumeTtlMs: 900_000,
        passkey: { onError: 'throw' },
        otp: { getCode: () => '1', maxAttempts: 1 },
        storageKey: 'k',
        pendingFlowStorage: {
          getItem: () => null,
          setItem: () => undefined,
          removeItem: () => undefined,
        },
        timeouts: { stepMs: 1_000, runMs: 2_000 },
        signal: new AbortController().signal,
      }),
    )
    expect(completion.accessToken).toBe('access-token-1')
  })
})

describe('steps and attempts', () => {
  it('stops at maxSteps (12 by default) with ERR_MAX_STEPS, after exactly that many calls', async () => {
    const loop = scripted(offer(['external']), offer(['external']))
    const ext = { externalAuthenticator: () => true, tokenProvider: () => 'g' }
    const err = await failure(run(loop.client, ext).promise)
    expect(err.code).toBe('ERR_MAX_STEPS')
    expect(loop.calls).toHaveLength(12)
    const three = scripted(offer(['external']), offer(['external']))
    expect((await failure(run(three.client, { ...ext, maxSteps: 3 }).promise)).code).toBe(
      'ERR_MAX_STEPS',
    )
    expect(three.calls).toHaveLength(3)
    // maxSteps steps that complete are enough.
    const two = scripted(offer(['external']), offer(['external']), done())
    await completed(run(two.client, { ...ext, maxSteps: 2 }).promise)
  })

  it('numbers steps and attempts per action in events and steps', async () => {
    const s = scripted(
      offer(['external']),
      offer(['otp:email']),
      offer(['otp:email']),
      offer(['external']),
      offer(['otp:email']),
      offer(['otp:email']),
      done(),
    )
    const t = run(s.client, {
      externalAuthenticator: () => true,
      tokenProvider: () => 'g',
      otp: { getCode: () => '1' },
    })
    const completion = await completed(t.promise)
    expect(completion.steps.map((x) => [x.action, x.attempt, x.outcome])).toEqual([
      ['external', 1, 'continue'],
      ['otp:email', 1, 'continue'],
      ['external', 2, 'continue'],
      ['otp:email', 2, 'complete'],
    ])
    for (const step of completion.steps) expect(step.elapsedMs).toBeGreaterThanOrEqual(0)
    const starts = t.events.filter((e) => e.type === 'step:start')
    expect(starts.map((e) => [e.action, e.attempt, e.step])).toEqual([
      ['external', 1, 1],
      ['otp:email', 1, 2],
      ['external', 2, 3],
      ['otp:email', 2, 4],
    ])
    const dones = t.events.filter((e) => e.type === 'step:done')
    expect(dones.map((e) => [e.action, e.attempt, e.step, e.outcome])).toEqual([
      ['external', 1, 1, 'continue'],
      ['otp:email', 1, 2, 'continue'],
      ['external', 2, 3, 'continue'],
      ['otp:email', 2, 4, 'complete'],
    ])
    expect(t.events.at(-1)).toMatchObject({ type: 'complete', action: 'otp:email', attempt: 2 })
  })

  it('an error event names the action and attempt that failed', async () => {
    const s = scripted(offer(['external']), offer(['external']), apiError(500, 'down'))
    const t = run(s.client, { externalAuthenticator: () => true, tokenProvider: () => 'g' })
    const err = await failure(t.promise)
    expect(t.events.at(-1)).toEqual({
      type: 'error',
      action: 'external',
      attempt: 2,
      error: err,
      elapsedMs: expect.any(Number),
    })
  })

  it('a failing begin is reported with no action and attempt 0', async () => {
    const s = scripted(new TypeError('offline'))
    const t = run(s.client)
    const err = await failure(t.promise)
    expect(err.code).toBe('ERR_NETWORK')
    expect(t.events).toEqual([
      { type: 'error', action: undefined, attempt: 0, error: err, elapsedMs: expect.any(Number) },
    ])
  })

  it('a listener that throws or rejects changes nothing', async () => {
    const s = scripted(offer(['external']), done())
    const seen: string[] = []
    const completion = await completed(
      runMfa({
        client: s.client,
        username: ADA,
        externalAuthenticator: () => true,
        tokenProvider: () => 'g',
        onEvent: (e) => {
          seen.push(e.type)
          if (e.type === 'step:start') throw new Error('sync bug')
          return Promise.reject(new Error('async bug')) as never
        },
      }),
    )
    expect(completion.accessToken).toBe('access-token-1')
    expect(seen).toEqual(['step:start', 'step:done', 'complete'])
  })
})

describe('what the client is called with', () => {
  it('no signal when nothing can abort the run; the session only when there is one', async () => {
    const s = scripted(offer(['external'], { session: undefined }), done())
    await completed(
      run(s.client, { externalAuthenticator: () => true, tokenProvider: () => 'g' }).promise,
    )
    expect(s.calls[0]!.options).toStrictEqual({ payload: 'g' })
    expect(vi.mocked(s.client.beginFlow).mock.calls[0]).toEqual([ADA, {}])
  })

  it('passes beginOptions, and a live signal when the run can abort', async () => {
    const s = scripted(offer(['external']), done())
    const controller = new AbortController()
    await completed(
      run(s.client, {
        externalAuthenticator: () => true,
        tokenProvider: () => 'g',
        signal: controller.signal,
        beginOptions: { displayName: 'Ada' },
      }).promise,
    )
    const [, beginOptions] = vi.mocked(s.client.beginFlow).mock.calls[0]!
    expect(beginOptions).toMatchObject({ displayName: 'Ada' })
    expect(beginOptions!.signal).toBeInstanceOf(AbortSignal)
    expect(s.calls[0]!.options).toEqual({
      session: 'sess-1',
      payload: 'g',
      signal: expect.any(AbortSignal),
    })
    // The signal ends with the step: nothing may still use it.
    expect(s.calls[0]!.options.signal!.aborted).toBe(true)
  })

  it('a step deadline hands the client a signal that times out', async () => {
    vi.useFakeTimers()
    try {
      const s = scripted(offer(['external']), () => new Promise<MfaSessionResult>(() => undefined))
      const t = run(s.client, {
        externalAuthenticator: () => true,
        tokenProvider: () => 'g',
        timeouts: { stepMs: 1_000 },
      })
      const pending = failure(t.promise)
      await vi.advanceTimersByTimeAsync(999)
      expect(s.calls[0]!.options.signal!.aborted).toBe(false)
      await vi.advanceTimersByTimeAsync(1)
      expect((await pending).code).toBe('ERR_TIMEOUT')
      expect(s.calls[0]!.options.signal!.aborted).toBe(true)
    } finally {
      vi.useRealTimers()
    }
  })

  it('a run deadline fails a pending begin with ERR_TIMEOUT', async () => {
    vi.useFakeTimers()
    try {
      const client: MfaClient = {
        beginFlow: () => new Promise(() => undefined),
        performAction: vi.fn(),
      }
      const pending = failure(runMfa({ client, username: ADA, timeouts: { runMs: 500 } }))
      await vi.advanceTimersByTimeAsync(500)
      expect((await pending).code).toBe('ERR_TIMEOUT')
    } finally {
      vi.useRealTimers()
    }
  })

  it('an abort reason that is not an MfaError becomes ERR_ABORTED with it as cause', async () => {
    const controller = new AbortController()
    const reason = new Error('user left')
    const client: MfaClient = {
      beginFlow: () => {
        controller.abort(reason)
        return new Promise(() => undefined)
      },
      performAction: vi.fn(),
    }
    const err = await failure(runMfa({ client, username: ADA, signal: controller.signal }))
    expect(err.code).toBe('ERR_ABORTED')
    expect(err.cause).toBe(reason)
  })

  it('an already aborted signal calls nothing', async () => {
    const s = scripted(offer(['external']), done())
    const controller = new AbortController()
    controller.abort()
    expect((await failure(run(s.client, { signal: controller.signal }).promise)).code).toBe(
      'ERR_ABORTED',
    )
    expect(s.client.beginFlow).not.toHaveBeenCalled()
  })
})

describe('what a client result must hold', () => {
  it.each<[string, unknown]>([
    ['no result', undefined],
    ['null', null],
    ['no remainingFactors', { isComplete: false }],
    [
      'an accessToken that is not a string',
      { isComplete: true, remainingFactors: [], accessToken: 1 },
    ],
    ['an empty accessToken', { isComplete: true, remainingFactors: [], accessToken: '' }],
    ['a payloadSignature object', { isComplete: true, remainingFactors: [], payloadSignature: {} }],
    ['completion without any token', { isComplete: true, remainingFactors: [] }],
  ])('%s from the client is ERR_BAD_RESPONSE', async (_, result) => {
    const s = scripted(offer(['external']), result as MfaSessionResult)
    const t = run(s.client, { externalAuthenticator: () => true, tokenProvider: () => 'g' })
    expect((await failure(t.promise)).code).toBe('ERR_BAD_RESPONSE')
  })

  it('a completed begin completes without a step', async () => {
    const s = scripted(
      done({
        idToken: 'id-1',
        refreshToken: 'rt-1',
        username: 'canonical@example.com',
        flow: 'signIn',
        deviceId: 'dev-1',
      }),
    )
    const t = run(s.client)
    const completion = await completed(t.promise)
    expect(completion).toEqual({
      status: 'complete',
      username: 'canonical@example.com',
      steps: [],
      flow: 'signIn',
      deviceId: 'dev-1',
      accessToken: 'access-token-1',
      idToken: 'id-1',
      refreshToken: 'rt-1',
    })
    expect(s.calls).toHaveLength(0)
    expect(t.events).toEqual([
      {
        type: 'complete',
        action: undefined,
        attempt: 0,
        completion: {
          status: 'complete',
          username: 'canonical@example.com',
          steps: [],
          flow: 'signIn',
          deviceId: 'dev-1',
        },
        elapsedMs: expect.any(Number),
      },
    ])
  })
})

describe('choosing the action', () => {
  it('chooseAction picks; undefined keeps nextAction', async () => {
    const both = offer(['external', 'otp:email'])
    const s = scripted(both, both, both, done())
    const choices: (MfaFactorName | undefined)[] = ['otp:email', undefined]
    const chooseAction = vi.fn(() => choices.shift())
    const completion = await completed(
      run(s.client, {
        chooseAction,
        externalAuthenticator: () => true,
        tokenProvider: () => 'g',
        otp: { getCode: () => '1' },
      }).promise,
    )
    expect(completion.steps.map((x) => x.action)).toEqual(['otp:email', 'external'])
    expect(chooseAction).toHaveBeenCalledWith(expect.objectContaining({ session: 'sess-1' }))
  })

  it('a chooseAction that throws is ERR_UNSUPPORTED_ACTION with its cause', async () => {
    const bug = new Error('bug')
    const s = scripted(offer(['external']))
    const err = await failure(
      run(s.client, {
        chooseAction: () => {
          throw bug
        },
      }).promise,
    )
    expect(err.code).toBe('ERR_UNSUPPORTED_ACTION')
    expect(err.cause).toBe(bug)
    expect(s.calls).toHaveLength(0)
  })

  it('an abort while chooseAction runs is ERR_ABORTED', async () => {
    const controller = new AbortController()
    const s = scripted(offer(['external']))
    const err = await failure(
      run(s.client, {
        signal: controller.signal,
        chooseAction: () => {
          controller.abort()
          throw new Error('late')
        },
      }).promise,
    )
    expect(err.code).toBe('ERR_ABORTED')
  })

  it('an unknown factor with no nextAction is ERR_UNKNOWN_ACTION; none at all ERR_NO_ACTION', async () => {
    const unknown = scripted({
      isComplete: false,
      session: 's',
      remainingFactors: [{ type: 'face:scan' as never, label: 'x' }],
    })
    expect((await failure(run(unknown.client).promise)).code).toBe('ERR_UNKNOWN_ACTION')
    const nothing = scripted({
      isComplete: false,
      session: 's',
      remainingFactors: [factor('external')],
    })
    expect((await failure(run(nothing.client).promise)).code).toBe('ERR_NO_ACTION')
  })

  it('otp:verify cannot be started by itself', async () => {
    const s = scripted(offer(['otp:verify']))
    expect((await failure(run(s.client).promise)).code).toBe('ERR_UNSUPPORTED_ACTION')
    expect(s.calls).toHaveLength(0)
  })
})

describe('the external step', () => {
  const ext = (extra: Loose<RunMfaOptions<unknown>> = {}) => ({
    externalAuthenticator: vi.fn<ExternalAuthenticator<unknown>>(() => 'proof'),
    tokenProvider: vi.fn<TokenProvider<unknown>>(() => 'grant-token'),
    ...extra,
  })

  it.each<[string, MfaSessionResult, boolean, string]>([
    [
      'signUp for a sign-up flow',
      offer(['external', 'passkey:reg'], { flow: 'signUp' }),
      false,
      'signUp',
    ],
    [
      'newDevice for a sign-in without passkeys',
      offer(['external', 'otp:email']),
      false,
      'newDevice',
    ],
    [
      'recommended for a sign-in offering a passkey',
      offer(['external', 'passkey:auth']),
      false,
      'recommended',
    ],
    ['recommended without a flow', offer(['external'], { flow: undefined }), false, 'recommended'],
  ])('tells the authenticator the reason: %s', async (_, begin, _x, reason) => {
    const s = scripted(begin, done())
    const o = ext()
    await completed(run(s.client, o).promise)
    expect(o.externalAuthenticator).toHaveBeenCalledWith(
      expect.objectContaining({
        username: ADA,
        reason,
        flow: begin.flow,
        session: 'sess-1',
        attempt: 1,
        remainingFactors: begin.remainingFactors,
      }),
    )
    expect(o.tokenProvider).toHaveBeenCalledWith(
      expect.objectContaining({ proof: 'proof', reason, username: ADA, session: 'sess-1' }),
    )
    expect(s.calls[0]!.options).toEqual({ session: 'sess-1', payload: 'grant-token' })
  })

  it('signUp wins over passkeyFailed on a sign-up', async () => {
    const s = scripted(
      offer(['passkey:reg', 'external'], { flow: 'signUp' }),
      new PasskeyError('x', 'ERROR_GENERAL_ERROR', new DOMException('x', 'NotAllowedError')),
      done(),
    )
    const o = ext()
    await completed(run(s.client, o).promise)
    expect(o.externalAuthenticator).toHaveBeenCalledWith(
      expect.objectContaining({ reason: 'signUp' }),
    )
  })

  it.each([[false], [null], [undefined]])(
    'a proof of %s denies the user before any token',
    async (proof) => {
      const s = scripted(offer(['external']), done())
      const o = ext({ externalAuthenticator: vi.fn(() => proof) })
      expect((await failure(run(s.client, o).promise)).code).toBe('ERR_EXTERNAL_DENIED')
      expect(o.tokenProvider).not.toHaveBeenCalled()
      expect(s.calls).toHaveLength(0)
    },
  )

  it('a proof of 0 or an empty string is a proof', async () => {
    for (const proof of [0, '']) {
      const s = scripted(offer(['external']), done())
      await completed(run(s.client, ext({ externalAuthenticator: () => proof })).promise)
    }
  })

  it.each([[''], [42], [undefined]])(
    'a token of %s is ERR_TOKEN_PROVIDER, nothing submitted',
    async (token) => {
      const s = scripted(offer(['external']), done())
      const err = await failure(run(s.client, ext({ tokenProvider: () => token as never })).promise)
      expect(err.code).toBe('ERR_TOKEN_PROVIDER')
      expect(s.calls).toHaveLength(0)
    },
  )

  it('an authenticator failure is ERR_EXTERNAL_DENIED, keeping an MfaError of that code as is', async () => {
    const { MfaError } = await import('../../src/index.js')
    const own = new MfaError('ERR_EXTERNAL_DENIED', 'user closed the dialog')
    const s = scripted(offer(['external']), done())
    expect(
      await failure(
        run(s.client, ext({ externalAuthenticator: () => Promise.reject(own) })).promise,
      ),
    ).toBe(own)
    const other = new MfaError('ERR_NETWORK', 'idp down')
    const err = await failure(
      run(s.client, ext({ externalAuthenticator: () => Promise.reject(other) })).promise,
    )
    expect(err.code).toBe('ERR_EXTERNAL_DENIED')
    expect(err.cause).toBe(other)
  })

  it('an expired grant token is retried once with a fresh token', async () => {
    const s = scripted(offer(['external']), apiError(401, 'token_expired'), done())
    const tokens = ['grant-1', 'grant-2']
    const o = ext({ tokenProvider: vi.fn<TokenProvider<unknown>>(() => tokens.shift()!) })
    await completed(run(s.client, o).promise)
    expect(s.calls.map((c) => c.options.payload)).toEqual(['grant-1', 'grant-2'])
    expect(o.externalAuthenticator).toHaveBeenCalledTimes(1)
  })

  it('a second expiry, or another 401, is ERR_TOKEN_REJECTED with the HTTP fields', async () => {
    const twice = scripted(offer(['external']), apiError(401, 'token_expired'))
    const o = ext()
    const err = await failure(run(twice.client, o).promise)
    expect([err.code, err.status, err.msgCode]).toEqual([
      'ERR_TOKEN_REJECTED',
      401,
      'token_expired',
    ])
    expect(o.tokenProvider).toHaveBeenCalledTimes(2)
    const used = scripted(offer(['external']), apiError(401, 'token_used'))
    const p = ext()
    const rejected = await failure(run(used.client, p).promise)
    expect([rejected.code, rejected.msgCode]).toEqual(['ERR_TOKEN_REJECTED', 'token_used'])
    expect(p.tokenProvider).toHaveBeenCalledTimes(1)
  })

  it.each([
    ['a 401 session_expired', apiError(401, 'session_expired'), 'ERR_SESSION_INVALID'],
    ['a 401 unauthorized', apiError(401, 'unauthorized'), 'ERR_SESSION_INVALID'],
    ['a 400', apiError(400, 'token_expired'), 'ERR_BAD_REQUEST'],
    ['a 5xx', apiError(502, 'bad_gateway'), 'ERR_LOGINID_UNAVAILABLE'],
  ])('%s on the token keeps its own code, with no retry', async (_, error, code) => {
    const s = scripted(offer(['external']), error, done())
    const o = ext()
    expect((await failure(run(s.client, o).promise)).code).toBe(code)
    expect(o.tokenProvider).toHaveBeenCalledTimes(1)
  })

  it('an abort while the token is submitted is ERR_ABORTED, with no retry', async () => {
    const controller = new AbortController()
    const s = scripted(offer(['external']), () => {
      controller.abort()
      throw apiError(401, 'token_expired')
    })
    const o = ext({ signal: controller.signal })
    expect((await failure(run(s.client, o).promise)).code).toBe('ERR_ABORTED')
    expect(o.tokenProvider).toHaveBeenCalledTimes(1)
  })

  it('without a tokenProvider (a resume-only setup) external is ERR_UNSUPPORTED_ACTION', async () => {
    const s = scripted(offer(['external']), done())
    expect((await failure(run(s.client).promise)).code).toBe('ERR_UNSUPPORTED_ACTION')
  })

  it('the callbacks get a signal that is live during the step and aborted after it', async () => {
    const s = scripted(offer(['external']), done())
    const seen: AbortSignal[] = []
    await completed(
      run(s.client, {
        externalAuthenticator: (ctx) => {
          seen.push(ctx.signal)
          expect(ctx.signal.aborted).toBe(false)
          return true
        },
        tokenProvider: (ctx) => {
          seen.push(ctx.signal)
          return 'g'
        },
      }).promise,
    )
    expect(seen).toHaveLength(2)
    expect(seen[0]).toBe(seen[1])
    expect(seen[0]!.aborted).toBe(true)
  })
})

describe('OTP', () => {
  it('pickContact chooses among the contacts; its failure is ERR_OTP_NO_CONTACT', async () => {
    const begin = offer(['otp:sms'])
    begin.remainingFactors[0]!.options = ['+1111', '+2222']
    const s = scripted(begin, offer(['otp:sms'], { session: 'otp-s' }), done())
    const pickContact = vi.fn((contacts: readonly string[]) => contacts[1]!)
    const getCode = vi.fn(() => '42')
    await completed(run(s.client, { otp: { getCode, pickContact } }).promise)
    expect(pickContact).toHaveBeenCalledWith(['+1111', '+2222'], begin.remainingFactors[0])
    expect(s.calls[0]!.options).toEqual({ session: 'sess-1', payload: '+2222' })
    expect(getCode).toHaveBeenCalledWith(
      expect.objectContaining({ username: ADA, action: 'otp:sms', contact: '+2222', attempt: 1 }),
    )
    const bug = new Error('bug')
    const t = scripted(begin, done())
    const err = await failure(
      run(t.client, {
        otp: {
          getCode,
          pickContact: () => {
            throw bug
          },
        },
      }).promise,
    )
    expect([err.code, err.cause]).toEqual(['ERR_OTP_NO_CONTACT', bug])
    expect(t.calls).toHaveLength(0)
  })

  it.each<[string, string[] | undefined, (() => string) | undefined]>([
    ['no contacts', [], undefined],
    ['no options', undefined, undefined],
    ['an empty contact', [''], undefined],
    ['a pickContact that returns nothing', ['a@x'], () => ''],
  ])('%s is ERR_OTP_NO_CONTACT before any request', async (_, options, pickContact) => {
    const begin = offer(['otp:email'])
    Object.assign(begin.remainingFactors[0]!, { options })
    const s = scripted(begin, done())
    const err = await failure(
      run(s.client, { otp: { getCode: () => '1', ...(pickContact && { pickContact }) } }).promise,
    )
    expect(err.code).toBe('ERR_OTP_NO_CONTACT')
    expect(s.calls).toHaveLength(0)
  })

  it('resend requests a new code on the latest OTP session; verify uses it', async () => {
    const s = scripted(
      offer(['otp:email']),
      offer(['otp:email'], { session: 'otp-1' }),
      offer(['otp:email'], { session: 'otp-2' }),
      done(),
    )
    const getCode = vi.fn(async (ctx: { resend: () => Promise<void> }) => {
      await ctx.resend()
      return '9'
    })
    await completed(run(s.client, { otp: { getCode } }).promise)
    expect(s.calls.map((c) => [c.factor, c.options.session, c.options.payload])).toEqual([
      ['otp:email', 'sess-1', 'otp:email@contact'],
      ['otp:email', 'otp-1', 'otp:email@contact'],
      ['otp:verify', 'otp-2', '9'],
    ])
  })

  it('an OTP request answered without a session verifies on the flow session', async () => {
    const s = scripted(offer(['otp:email']), offer(['otp:email'], { session: undefined }), done())
    await completed(run(s.client, { otp: { getCode: () => '5' } }).promise)
    expect(s.calls[1]).toEqual({
      factor: 'otp:verify',
      options: { session: 'sess-1', payload: '5' },
    })
  })

  it.each([[''], [undefined], [123]])(
    'a code of %s is ERR_OTP_FAILED, nothing verified',
    async (code) => {
      const s = scripted(offer(['otp:email']), offer(['otp:email']), done())
      const err = await failure(run(s.client, { otp: { getCode: () => code as never } }).promise)
      expect(err.code).toBe('ERR_OTP_FAILED')
      expect(s.factors()).toEqual(['otp:email'])
    },
  )

  it('a getCode failure is ERR_OTP_FAILED with its cause', async () => {
    const bug = new Error('dialog closed')
    const s = scripted(offer(['otp:email']), offer(['otp:email']), done())
    const err = await failure(
      run(s.client, {
        otp: {
          getCode: () => {
            throw bug
          },
        },
      }).promise,
    )
    expect([err.code, err.cause]).toEqual(['ERR_OTP_FAILED', bug])
  })

  it('three wrong codes by default', async () => {
    const s = scripted(offer(['otp:email']), offer(['otp:email']), apiError(401, 'invalid_otp'))
    const getCode = vi.fn(() => '0')
    expect((await failure(run(s.client, { otp: { getCode } }).promise)).code).toBe('ERR_OTP_FAILED')
    expect(getCode).toHaveBeenCalledTimes(3)
  })

  it('an abort while a code is verified is ERR_ABORTED, not a wrong code', async () => {
    const controller = new AbortController()
    const getCode = vi.fn(() => '1')
    const s = scripted(offer(['otp:email']), offer(['otp:email']), () => {
      controller.abort()
      throw apiError(401, 'invalid_otp')
    })
    const err = await failure(
      run(s.client, { otp: { getCode }, signal: controller.signal }).promise,
    )
    expect(err.code).toBe('ERR_ABORTED')
    expect(getCode).toHaveBeenCalledTimes(1)
  })
})

describe('passkey steps', () => {
  const ceremony = () =>
    new PasskeyError('x', 'ERROR_GENERAL_ERROR', new DOMException('x', 'NotAllowedError'))
  const ext = { externalAuthenticator: () => true, tokenProvider: () => 'g' }

  it('passes the factor value as payload, and nothing when it has none', async () => {
    const begin = offer(['passkey:auth'])
    begin.remainingFactors[0]!.value = ''
    const s = scripted(begin, done())
    await completed(run(s.client).promise)
    expect(s.calls[0]!.options).toEqual({ session: 'sess-1' })
  })

  it('a 401 offering only external is a passkey failure that falls back', async () => {
    const s = scripted(offer(['passkey:auth', 'external']), offer(['external']), done())
    const t = run(s.client, ext)
    const completion = await completed(t.promise)
    expect(completion.steps.map((x) => [x.action, x.outcome, x.error])).toEqual([
      ['passkey:auth', 'failed', 'ERR_PASSKEY_FAILED'],
      ['external', 'complete', undefined],
    ])
    expect(t.events.find((e) => e.type === 'fallback')).toMatchObject({
      error: { code: 'ERR_PASSKEY_FAILED' },
    })
  })

  it('a result offering external among others is not a failure', async () => {
    const s = scripted(
      offer(['passkey:auth']),
      offer(['otp:email', 'external']),
      offer(['otp:email']),
      done(),
    )
    const completion = await completed(
      run(s.client, { ...ext, otp: { getCode: () => '1' } }).promise,
    )
    expect(completion.steps.map((x) => [x.action, x.outcome])).toEqual([
      ['passkey:auth', 'continue'],
      ['otp:email', 'complete'],
    ])
  })

  it('a result offering nothing is not a failure (it fails later with ERR_NO_ACTION)', async () => {
    const s = scripted(offer(['passkey:auth']), {
      isComplete: false,
      remainingFactors: [],
      session: 's',
    })
    expect((await failure(run(s.client, ext).promise)).code).toBe('ERR_NO_ACTION')
  })

  it.each<[string, Partial<RunMfaOptions<true>>, MfaFactorName[]]>([
    ["onError 'throw'", { ...ext, passkey: { onError: 'throw' } }, ['passkey:auth', 'external']],
    ['no externalAuthenticator', {}, ['passkey:auth', 'external']],
    ['LoginID not offering external', ext, ['passkey:auth']],
  ])('a ceremony failure fails the run with %s', async (_, extra, offered) => {
    const s = scripted(offer(offered), ceremony(), done())
    const err = await failure(run(s.client, extra).promise)
    expect(err.code).toBe('ERR_PASSKEY_CANCELLED')
    expect(s.factors()).toEqual(['passkey:auth'])
  })

  it('an abort during the ceremony is ERR_ABORTED, not a fallback', async () => {
    const controller = new AbortController()
    const s = scripted(offer(['passkey:auth', 'external']), () => {
      controller.abort()
      throw ceremony()
    })
    const t = run(s.client, { ...ext, signal: controller.signal })
    expect((await failure(t.promise)).code).toBe('ERR_ABORTED')
    expect(t.events.some((e) => e.type === 'fallback')).toBe(false)
  })

  it.each<[string, unknown, string]>([
    [
      'a websdk PasskeyError code without a cause',
      new PasskeyError('x', 'ERROR_PASSKEY_EXISTS', undefined),
      'ERR_PASSKEY_EXISTS',
    ],
    ['a bare DOMException', new DOMException('x', 'NotAllowedError'), 'ERR_PASSKEY_CANCELLED'],
    [
      'an AbortError of a newer ceremony',
      new DOMException('x', 'AbortError'),
      'ERR_PASSKEY_CANCELLED',
    ],
  ])('%s on passkey:reg is a passkey failure', async (_, error, code) => {
    const s = scripted(offer(['passkey:reg']), error as Error)
    expect((await failure(run(s.client, ext).promise)).code).toBe(code)
  })
})

describe('what a client threw, as an MfaError', () => {
  const ext = { externalAuthenticator: () => true, tokenProvider: () => 'g' }

  it('an ApiError keeps status and msgCode, redacts the session it echoes, keeps no request', async () => {
    const session = 'the-session-value-1234'
    const error = new ApiError(
      URL_,
      400,
      'Bad',
      { msg: `bad session ${session}`, msgCode: 'bad_thing' },
      { method: 'POST', url: URL_, headers: { authorization: session } },
    )
    const s = scripted(offer(['external'], { session }), error)
    const err = await failure(run(s.client, ext).promise)
    expect([err.code, err.status, err.msgCode]).toEqual(['ERR_BAD_REQUEST', 400, 'bad_thing'])
    expect(JSON.stringify(err)).not.toContain(session)
    expect(err.message).not.toContain(session)
    expect(err.cause).toBeUndefined()
  })

  it('an axios-style error with data keeps its msgCode', async () => {
    const s = scripted(
      offer(['external']),
      Object.assign(new Error('x'), { status: 403, data: { msgCode: 'nope' } }),
    )
    const err = await failure(run(s.client, ext).promise)
    expect([err.code, err.msgCode]).toEqual(['ERR_FORBIDDEN', 'nope'])
  })

  it('an AbortError is ERR_ABORTED, a TypeError ERR_NETWORK with it as cause', async () => {
    const abort = Object.assign(new Error('aborted'), { name: 'AbortError' })
    const s = scripted(offer(['external']), abort)
    expect((await failure(run(s.client, ext).promise)).code).toBe('ERR_ABORTED')
    const net = new TypeError('fetch failed')
    const t = scripted(offer(['external']), net)
    const err = await failure(run(t.client, ext).promise)
    expect([err.code, err.cause]).toEqual(['ERR_NETWORK', net])
  })

  it.each([
    ['a FetchError', { name: 'FetchError' }],
    ['an error holding options', { options: { headers: { Authorization: 's' } } }],
    ['an error holding a request', { request: {} }],
    ['an error holding a config', { config: {} }],
  ])('%s is never kept as cause; only its low-level cause is', async (_, fields) => {
    const low = new Error('ECONNRESET')
    const e = Object.assign(new Error('boom'), fields, { cause: low })
    const s = scripted(offer(['external']), e)
    const err = await failure(run(s.client, ext).promise)
    expect(err.cause).toBe(low)
    const bare = Object.assign(new Error('boom'), fields, { cause: 'not an error' })
    const t = scripted(offer(['external']), bare)
    expect((await failure(run(t.client, ext).promise)).cause).toBeUndefined()
  })

  it('a LoginIDError keeps its (redacted) message; another error is ERR_BAD_RESPONSE with its cause', async () => {
    const { LoginIDError } = await import('./helpers.js')
    const s = scripted(
      offer(['external']),
      new LoginIDError('Payload is required to perform MFA factor.'),
    )
    const err = await failure(run(s.client, ext).promise)
    expect(err.code).toBe('ERR_BAD_RESPONSE')
    expect(err.message).toContain('Payload is required')
    const other = new RangeError('odd')
    const t = scripted(offer(['external']), other)
    const e2 = await failure(run(t.client, ext).promise)
    expect([e2.code, e2.cause]).toEqual(['ERR_BAD_RESPONSE', other])
    expect(e2.message).not.toContain('odd')
    const thrown = scripted(offer(['external']), null as never)
    thrown.client.performAction = () => Promise.reject(null)
    expect((await failure(run(thrown.client, ext).promise)).code).toBe('ERR_BAD_RESPONSE')
  })
})

describe('a redirect suspends the run', () => {
  const KEY = 'loginid-mfa-flow:pending'
  const IDP = 'https://idp.example/authorize'

  it('saves the flow and resolves with the URL, the nonce and the expiry', async () => {
    const storage = memoryStorage()
    const begin = offer(['external', 'otp:email'], { flow: 'signUp' })
    const s = scripted(begin, done())
    let nonce = ''
    const t = run<string>(s.client, {
      pendingFlowStorage: storage,
      resumeTtlMs: 60_000,
      tokenProvider: () => 'g',
      externalAuthenticator: (ctx) => {
        nonce = ctx.resumeNonce
        expect(ctx.resumeNonce).toBe(nonce) // one nonce per step
        return ctx.redirect(new URL(`${IDP}?state=${ctx.resumeNonce}`), { returnTo: '/a' })
      },
    })
    const before = Date.now()
    const result = await t.promise
    expect(result).toEqual({
      status: 'redirect',
      url: `${IDP}?state=${nonce}`,
      nonce,
      expiresAt: expect.any(Number),
    })
    if (result.status !== 'redirect') throw new Error('expected a redirect')
    expect(result.expiresAt).toBeGreaterThanOrEqual(before - 1_000 + 60_000)
    expect(result.expiresAt).toBeLessThanOrEqual(Date.now() + 60_000)
    expect(s.calls).toHaveLength(0)
    const saved = JSON.parse(storage.map.get(KEY)!) as Record<string, unknown>
    expect(saved).toEqual({
      v: 1,
      nonce,
      expiresAt: result.expiresAt,
      session: 'sess-1',
      username: ADA,
      flow: 'signUp',
      reason: 'signUp',
      factors: begin.remainingFactors.map(({ type, label }) => ({ type, label })),
      steps: [],
      state: { returnTo: '/a' },
    })
    expect(t.events.map((e) => e.type)).toEqual(['step:start', 'redirect'])
    expect(t.events[1]).toEqual({
      type: 'redirect',
      action: 'external',
      attempt: 1,
      step: 1,
      expiresAt: result.expiresAt,
      elapsedMs: expect.any(Number),
    })
  })

  it('counts the expiry from when the call that produced the session began', async () => {
    let now = 1_000_000
    vi.spyOn(Date, 'now').mockImplementation(() => now)
    try {
      const storage = memoryStorage()
      const s = scripted(
        offer(['otp:email']),
        () => ((now += 100), offer(['otp:email'], { session: 'otp' })),
        () => ((now += 100), offer(['external'], { session: 'sess-2' })),
      )
      s.client.beginFlow = async () => ((now += 50), offer(['otp:email']))
      const result = await run<string>(s.client, {
        pendingFlowStorage: storage,
        resumeTtlMs: 10_000,
        otp: { getCode: () => ((now += 5_000), '1') },
        tokenProvider: () => 'g',
        externalAuthenticator: (ctx) => ((now += 7_000), ctx.redirect(IDP)),
      }).promise
      // The OTP step began at 1_000_050: the session LoginID returned is no older than that.
      expect(result).toMatchObject({ status: 'redirect', expiresAt: 1_010_050 })
      const saved = JSON.parse(storage.map.get(KEY)!) as {
        session: string
        steps: unknown[]
        state?: unknown
      }
      expect(saved.session).toBe('sess-2')
      expect(saved.steps).toEqual([
        { action: 'otp:email', attempt: 1, outcome: 'continue', elapsedMs: 5_200 },
      ])
      expect('state' in saved).toBe(false)
    } finally {
      vi.restoreAllMocks()
    }
  })

  it('the expiry of a flow that needed no step counts from the run start', async () => {
    let now = 2_000_000
    vi.spyOn(Date, 'now').mockImplementation(() => now)
    try {
      const s = scripted(offer(['external']))
      s.client.beginFlow = async () => ((now += 300), offer(['external']))
      const result = await run<string>(s.client, {
        pendingFlowStorage: memoryStorage(),
        tokenProvider: () => 'g',
        externalAuthenticator: (ctx) => ((now += 1_000), ctx.redirect(IDP)),
      }).promise
      expect(result).toMatchObject({ status: 'redirect', expiresAt: 2_000_000 + 300_000 })
    } finally {
      vi.restoreAllMocks()
    }
  })

  it.each<[string, (ctx: ExternalAuthContext) => unknown, MfaSessionResult, string]>([
    ['an empty URL', (ctx) => ctx.redirect(''), offer(['external']), 'ERR_INVALID_ARGUMENT'],
    [
      'state that is not JSON',
      (ctx) => ctx.redirect(IDP, { n: 1n }),
      offer(['external']),
      'ERR_INVALID_ARGUMENT',
    ],
    [
      'no session to resume',
      (ctx) => ctx.redirect(IDP),
      offer(['external'], { session: undefined }),
      'ERR_BAD_RESPONSE',
    ],
  ])('%s fails the run and saves nothing', async (_, authenticator, begin, code) => {
    const storage = memoryStorage()
    const s = scripted(begin, done())
    const err = await failure(
      run<string>(s.client, {
        pendingFlowStorage: storage,
        tokenProvider: () => 'g',
        externalAuthenticator: authenticator as never,
      }).promise,
    )
    expect(err.code).toBe(code)
    expect(storage.map.size).toBe(0)
    expect(s.calls).toHaveLength(0)
  })

  it('a redirect-shaped proof the authenticator made itself is a proof', async () => {
    const s = scripted(offer(['external']), done())
    const tokenProvider = vi.fn(() => 'g')
    const proof = { type: 'redirect', url: IDP }
    await completed(
      run<unknown>(s.client, { externalAuthenticator: () => proof, tokenProvider }).promise,
    )
    expect(tokenProvider).toHaveBeenCalledWith(expect.objectContaining({ proof }))
  })

  it('a storage that fails is ERR_STORAGE; an abort during the write removes the flow', async () => {
    const failing = { ...memoryStorage(), setItem: () => Promise.reject(new Error('quota')) }
    const s = scripted(offer(['external']), done())
    const ext = {
      tokenProvider: () => 'g',
      externalAuthenticator: (ctx: ExternalAuthContext) => ctx.redirect(IDP),
    }
    expect(
      (await failure(run<string>(s.client, { ...ext, pendingFlowStorage: failing }).promise)).code,
    ).toBe('ERR_STORAGE')
    const storage = memoryStorage()
    const controller = new AbortController()
    let finish!: () => void
    const slow = {
      ...storage,
      setItem: (key: string, value: string) =>
        new Promise<void>((resolve) => {
          controller.abort()
          finish = () => resolve(storage.setItem(key, value))
        }),
    }
    const t = run<string>(s.client, { ...ext, pendingFlowStorage: slow, signal: controller.signal })
    expect((await failure(t.promise)).code).toBe('ERR_ABORTED')
    finish()
    await vi.waitFor(() => expect(storage.map.size).toBe(0))
    await new Promise((r) => setTimeout(r, 10))
    expect(storage.map.size).toBe(0)
    // A write that completed before a later failure is kept only when the run succeeded.
    expect(t.events.at(-1)).toMatchObject({ type: 'error', action: 'external' })
  })

  it('honours storageKey', async () => {
    const storage = memoryStorage()
    const s = scripted(offer(['external']), done())
    await run<string>(s.client, {
      pendingFlowStorage: storage,
      storageKey: 'my-key',
      tokenProvider: () => 'g',
      externalAuthenticator: (ctx) => ctx.redirect(IDP),
    }).promise
    expect([...storage.map.keys()]).toEqual(['my-key'])
  })
})

describe('errors say what failed', () => {
  // A bad option is fixed by its name: the message names it (and, for a limit, the limit).
  it.each<[string, Record<string, unknown>, RegExp]>([
    ['options', { $replace: 'options' }, /options object/],
    ['client without performAction', { client: { beginFlow: () => undefined } }, /performAction/],
    ['client without beginFlow', { client: { performAction: () => undefined } }, /beginFlow/],
    ['username', { username: '' }, /username/],
    ['pair', { tokenProvider: () => 'g' }, /externalAuthenticator and tokenProvider/],
    ['chooseAction', { chooseAction: 1 }, /chooseAction must be a function/],
    ['otp', { otp: {} }, /otp\.getCode/],
    ['maxAttempts', { otp: { getCode: () => '1', maxAttempts: 0 } }, /otp\.maxAttempts/],
    ['maxSteps', { maxSteps: 0 }, /maxSteps/],
    ['timeouts', { timeouts: { runMs: -1 } }, /timeouts/],
    ['passkey', { passkey: { onError: 'retry' } }, /passkey\.onError/],
    ['signal', { signal: {} }, /signal/],
    ['storageKey', { storageKey: '' }, /storageKey/],
    ['resumeTtlMs', { resumeTtlMs: 0 }, /resumeTtlMs.*900000/],
  ])('a bad %s is named in the message', async (_, extra, pattern) => {
    const s = scripted(offer(['external']), done())
    const options =
      '$replace' in extra ? extra.$replace : { client: s.client, username: ADA, ...extra }
    const err = await failure(runMfa(options as never))
    expect(err.code).toBe('ERR_INVALID_ARGUMENT')
    expect(err.message).toMatch(pattern)
  })

  it.each<[string, () => Promise<unknown>, string, RegExp]>([
    [
      'ERR_MAX_STEPS names the limit',
      () =>
        run(scripted(offer(['external']), offer(['external'])).client, {
          externalAuthenticator: () => true,
          tokenProvider: () => 'g',
          maxSteps: 4,
        }).promise,
      'ERR_MAX_STEPS',
      /4 steps/,
    ],
    [
      'ERR_OTP_FAILED names the attempts',
      () =>
        run(scripted(offer(['otp:sms']), offer(['otp:sms']), apiError(401, 'invalid_otp')).client, {
          otp: { getCode: () => '1', maxAttempts: 2 },
        }).promise,
      'ERR_OTP_FAILED',
      /2 attempts/,
    ],
    [
      'ERR_OTP_NO_CONTACT names the factor',
      () =>
        run(scripted(offer(['otp:sms'], { remainingFactors: [] })).client, {
          otp: { getCode: () => '1' },
        }).promise,
      'ERR_OTP_NO_CONTACT',
      /otp:sms/,
    ],
    [
      'a missing otp option names the factor',
      () => run(scripted(offer(['otp:email'])).client).promise,
      'ERR_UNSUPPORTED_ACTION',
      /otp:email.*otp option/,
    ],
    [
      'an unknown action is named',
      () =>
        run(scripted(offer([]), done()).client, { chooseAction: () => 'face:scan' as never })
          .promise,
      'ERR_UNKNOWN_ACTION',
      /"face:scan"/,
    ],
    [
      'an unknown offered factor is named',
      () =>
        run(
          scripted({
            isComplete: false,
            session: 's',
            remainingFactors: [{ type: 'voice' as never, label: 'v' }],
          }).client,
        ).promise,
      'ERR_UNKNOWN_ACTION',
      /"voice"/,
    ],
    [
      'otp:verify alone is named',
      () => run(scripted(offer(['otp:verify'])).client).promise,
      'ERR_UNSUPPORTED_ACTION',
      /otp:verify/,
    ],
    [
      'a step deadline says step and its ms',
      () =>
        run(
          scripted(offer(['external']), () => new Promise<MfaSessionResult>(() => undefined))
            .client,
          { externalAuthenticator: () => true, tokenProvider: () => 'g', timeouts: { stepMs: 30 } },
        ).promise,
      'ERR_TIMEOUT',
      /step did not finish in 30 ms/,
    ],
    [
      'a run deadline says run and its ms',
      () =>
        run(
          { beginFlow: () => new Promise(() => undefined), performAction: vi.fn() },
          { timeouts: { runMs: 30 } },
        ).promise,
      'ERR_TIMEOUT',
      /run did not finish in 30 ms/,
    ],
  ])('%s', async (_, go, code, pattern) => {
    const err = await failure(go())
    expect(err.code).toBe(code)
    expect(err.message).toMatch(pattern)
  })

  it('runMfa() without options, or with no client, is ERR_INVALID_ARGUMENT', async () => {
    expect((await failure(runMfa(undefined as never))).code).toBe('ERR_INVALID_ARGUMENT')
    expect((await failure(runMfa({ username: ADA } as never))).code).toBe('ERR_INVALID_ARGUMENT')
  })

  it('a blank username never reaches the client', async () => {
    const s = scripted(offer(['external']), done())
    expect((await failure(runMfa({ client: s.client, username: ' \t' }))).code).toBe(
      'ERR_INVALID_ARGUMENT',
    )
    expect(s.client.beginFlow).not.toHaveBeenCalled()
  })

  it("passkey.onError 'fallback' is accepted", async () => {
    const s = scripted(offer(['external']), done())
    const r = run(s.client, {
      externalAuthenticator: () => true,
      tokenProvider: () => 'g',
      passkey: { onError: 'fallback' },
    })
    await completed(r.promise)
  })
})

describe('more of what a client answers', () => {
  const ext = { externalAuthenticator: () => true, tokenProvider: () => 'g' }

  it('a client resolving with nothing is ERR_BAD_RESPONSE', async () => {
    const s = scripted(offer(['external']), () => undefined as never)
    expect((await failure(run(s.client, ext).promise)).code).toBe('ERR_BAD_RESPONSE')
  })

  it('a passkey factor LoginID does not list runs without a payload', async () => {
    const s = scripted(offer(['passkey:auth'], { remainingFactors: [factor('external')] }), done())
    await completed(run(s.client, ext).promise)
    expect(s.calls[0]).toEqual({ factor: 'passkey:auth', options: { session: 'sess-1' } })
  })

  it('an OTP factor LoginID does not list has no contact', async () => {
    const s = scripted(offer(['otp:email'], { remainingFactors: [factor('external')] }), done())
    const pickContact = vi.fn(() => 'x')
    const err = await failure(run(s.client, { otp: { getCode: () => '1', pickContact } }).promise)
    expect(err.code).toBe('ERR_OTP_NO_CONTACT')
    expect(pickContact).not.toHaveBeenCalled()
    expect(s.calls).toHaveLength(0)
  })

  it('a pickContact answering a non-string is ERR_OTP_NO_CONTACT', async () => {
    const s = scripted(offer(['otp:email']), done())
    const err = await failure(
      run(s.client, { otp: { getCode: () => '1', pickContact: () => 42 as never } }).promise,
    )
    expect(err.code).toBe('ERR_OTP_NO_CONTACT')
    expect(s.calls).toHaveLength(0)
  })

  it('an OTP request that fails keeps its own code', async () => {
    const s = scripted(offer(['otp:email']), new DOMException('x', 'NotAllowedError'))
    expect((await failure(run(s.client, { otp: { getCode: () => '1' } }).promise)).code).toBe(
      'ERR_BAD_RESPONSE',
    )
    const t = scripted(offer(['otp:email']), apiError(429, 'too_many'))
    expect((await failure(run(t.client, { otp: { getCode: () => '1' } }).promise)).code).toBe(
      'ERR_HTTP',
    )
  })

  it('an HTTP-status error without request headers is mapped by its status', async () => {
    const s = scripted(
      offer(['external']),
      Object.assign(new Error('x'), { status: 500, request: {} }),
    )
    expect((await failure(run(s.client, ext).promise)).code).toBe('ERR_LOGINID_UNAVAILABLE')
  })

  it.each<[string, MfaFactorName, unknown, string]>([
    [
      'InvalidStateError on a registration',
      'passkey:reg',
      new DOMException('x', 'InvalidStateError'),
      'ERR_PASSKEY_EXISTS',
    ],
    [
      'InvalidStateError on a sign-in',
      'passkey:auth',
      new DOMException('x', 'InvalidStateError'),
      'ERR_PASSKEY_FAILED',
    ],
    [
      'a websdk code with an unrelated cause',
      'passkey:auth',
      new PasskeyError('x', 'ERROR_PASSKEY_EXISTS', new Error('inner')),
      'ERR_PASSKEY_EXISTS',
    ],
    [
      'an error named PasskeyError',
      'passkey:auth',
      Object.assign(new Error('x'), { name: 'PasskeyError' }),
      'ERR_PASSKEY_FAILED',
    ],
    [
      'a PasskeyError whose cause says no WebAuthn',
      'passkey:auth',
      Object.assign(new Error('x'), {
        name: 'PasskeyError',
        cause: new Error('WebAuthn is not supported in this browser'),
      }),
      'ERR_PASSKEY_UNSUPPORTED',
    ],
    ['an MfaError with a passkey code', 'passkey:auth', 'mfa', 'ERR_PASSKEY_DOMAIN'],
  ])('%s is a passkey failure: fallback with its code', async (_, action, error, code) => {
    const { MfaError } = await import('../../src/index.js')
    const thrown = error === 'mfa' ? new MfaError('ERR_PASSKEY_DOMAIN', 'rp') : error
    const s = scripted(offer([action, 'external']), thrown as Error, done())
    const completion = await completed(run(s.client, ext).promise)
    expect(completion.steps[0]).toMatchObject({ action, outcome: 'failed', error: code })
  })

  it.each<[string, unknown, string]>([
    ['null', null, 'ERR_BAD_RESPONSE'],
    [
      'a name that only contains a WebAuthn name',
      Object.assign(new Error('x'), { name: 'MyNotAllowedError' }),
      'ERR_BAD_RESPONSE',
    ],
    [
      'a name that only starts with one',
      Object.assign(new Error('x'), { name: 'NotAllowedErrorX' }),
      'ERR_BAD_RESPONSE',
    ],
    ['an MfaError of another kind', 'mfa', 'ERR_FORBIDDEN'],
  ])('%s thrown in a passkey step fails the run without fallback', async (_, error, code) => {
    const { MfaError } = await import('../../src/index.js')
    const thrown = error === 'mfa' ? new MfaError('ERR_FORBIDDEN', 'no') : error
    const s = scripted(offer(['passkey:auth', 'external']), done())
    s.client.performAction = () => Promise.reject(thrown)
    const t = run(s.client, ext)
    expect((await failure(t.promise)).code).toBe(code)
    expect(t.events.some((e) => e.type === 'fallback')).toBe(false)
  })
})

describe('timers and listeners', () => {
  it('a run with deadlines leaves no timer behind', async () => {
    vi.useFakeTimers()
    try {
      const s = scripted(offer(['external']), done())
      await completed(
        run(s.client, {
          externalAuthenticator: () => true,
          tokenProvider: () => 'g',
          timeouts: { stepMs: 60_000, runMs: 600_000 },
        }).promise,
      )
      expect(vi.getTimerCount()).toBe(0)
    } finally {
      vi.useRealTimers()
    }
  })

  it("removes every listener it added to the caller's signal", async () => {
    const controller = new AbortController()
    const added = vi.spyOn(controller.signal, 'addEventListener')
    const removed = vi.spyOn(controller.signal, 'removeEventListener')
    const s = scripted(offer(['external']), done())
    await completed(
      run(s.client, {
        externalAuthenticator: () => true,
        tokenProvider: () => 'g',
        signal: controller.signal,
      }).promise,
    )
    expect(added.mock.calls.length).toBeGreaterThan(0)
    expect(removed.mock.calls.map((c) => c.slice(0, 2))).toEqual(
      added.mock.calls.map((c) => c.slice(0, 2)),
    )
  })

  it("a callback's signal is aborted with ERR_ABORTED once its step ended", async () => {
    const { MfaError } = await import('../../src/index.js')
    const s = scripted(offer(['external']), done())
    let signal: AbortSignal | undefined
    await completed(
      run(s.client, {
        externalAuthenticator: (ctx) => ((signal = ctx.signal), true),
        tokenProvider: () => 'g',
      }).promise,
    )
    expect(signal!.reason).toBeInstanceOf(MfaError)
    expect(signal!.reason).toMatchObject({
      code: 'ERR_ABORTED',
      message: expect.stringMatching(/step has ended/),
    })
  })

  it('events carry the time since the run started', async () => {
    let now = 5_000_000
    vi.spyOn(Date, 'now').mockImplementation(() => now)
    try {
      const s = scripted(offer(['external']), () => ((now += 40), done()))
      s.client.beginFlow = async () => ((now += 10), offer(['external']))
      const t = run(s.client, {
        externalAuthenticator: () => ((now += 200), true),
        tokenProvider: () => 'g',
      })
      await completed(t.promise)
      expect(t.events.map((e) => [e.type, e.elapsedMs])).toEqual([
        ['step:start', 10],
        ['step:done', 250],
        ['complete', 250],
      ])
    } finally {
      vi.restoreAllMocks()
    }
  })
})

describe('redirects, more', () => {
  const IDP = 'https://idp.example/authorize'

  it('a redirect without a listener still suspends; the nonce is 44 hex digits', async () => {
    const storage = memoryStorage()
    const s = scripted(offer(['external']), done())
    const result = await runMfa<string>({
      client: s.client,
      username: ADA,
      pendingFlowStorage: storage,
      tokenProvider: () => 'g',
      externalAuthenticator: (ctx) => ctx.redirect(IDP),
    })
    expect(result).toMatchObject({
      status: 'redirect',
      url: IDP,
      nonce: expect.stringMatching(/^[0-9a-f]{44}$/),
    })
  })

  it('state that is not JSON keeps the serializer error as cause', async () => {
    const s = scripted(offer(['external']), done())
    const err = await failure(
      run<string>(s.client, {
        pendingFlowStorage: memoryStorage(),
        tokenProvider: () => 'g',
        externalAuthenticator: (ctx) => ctx.redirect(IDP, { big: 1n }),
      }).promise,
    )
    expect(err.cause).toBeInstanceOf(TypeError)
    expect(err.message).toMatch(/state/)
  })

  it('a failed passkey does not make an older session look newer', async () => {
    let now = 3_000_000
    vi.spyOn(Date, 'now').mockImplementation(() => now)
    try {
      const s = scripted(offer(['passkey:auth', 'external']), () => {
        now += 100
        throw new PasskeyError('x', 'ERROR_GENERAL_ERROR', new DOMException('x', 'NotAllowedError'))
      })
      s.client.beginFlow = async () => ((now += 50), offer(['passkey:auth', 'external']))
      const result = await run<string>(s.client, {
        pendingFlowStorage: memoryStorage(),
        resumeTtlMs: 60_000,
        tokenProvider: () => 'g',
        externalAuthenticator: (ctx) => ctx.redirect(IDP),
      }).promise
      // The session came from beginFlow, started at 3_000_000; the passkey step changed nothing.
      expect(result).toMatchObject({ status: 'redirect', expiresAt: 3_060_000 })
    } finally {
      vi.restoreAllMocks()
    }
  })

  it('a resumed flow continues the step and attempt count, and a later external needs the authenticator', async () => {
    const storage = memoryStorage()
    const first = scripted(offer(['external']), offer(['external'], { session: 'sess-2' }))
    let nonce = ''
    const redirected = await run<string>(first.client, {
      pendingFlowStorage: storage,
      tokenProvider: () => 'g',
      externalAuthenticator: (ctx) =>
        first.calls.length === 0 ? 'proof' : ((nonce = ctx.resumeNonce), ctx.redirect(IDP)),
    }).promise
    expect(redirected.status).toBe('redirect')
    const back = scripted(offer(['external']), offer(['otp:email']), offer(['otp:email']), done())
    const events: MfaEvent[] = []
    const completion = await completed(
      resumeMfa<string>({
        client: back.client,
        storage,
        proof: 'idp-code',
        nonce,
        tokenProvider: () => 'g2',
        otp: { getCode: () => '1' },
        onEvent: (e) => void events.push(e),
      }),
    )
    expect(back.calls[0]).toEqual({
      factor: 'external',
      options: { session: 'sess-2', payload: 'g2' },
    })
    expect(completion.steps.map((x) => [x.action, x.attempt, x.outcome])).toEqual([
      ['external', 1, 'continue'],
      ['external', 2, 'continue'],
      ['otp:email', 1, 'complete'],
    ])
    expect(events[0]).toMatchObject({ type: 'step:start', action: 'external', attempt: 2, step: 2 })
    // Resumed again, LoginID asks for external a second time: without an authenticator that fails.
    const again = scripted(offer(['external']), offer(['external']))
    const storage2 = memoryStorage()
    let nonce2 = ''
    await run<string>(again.client, {
      pendingFlowStorage: storage2,
      tokenProvider: () => 'g',
      externalAuthenticator: (ctx) => ((nonce2 = ctx.resumeNonce), ctx.redirect(IDP)),
    }).promise
    const err = await failure(
      resumeMfa<string>({
        client: again.client,
        storage: storage2,
        proof: 'p',
        nonce: nonce2,
        tokenProvider: () => 'g',
      }),
    )
    expect(err.code).toBe('ERR_UNSUPPORTED_ACTION')
  })

  it('resumeMfa checks its client before touching the storage', async () => {
    const storage = memoryStorage()
    storage.map.set('loginid-mfa-flow:pending', 'kept')
    const err = await failure(
      resumeMfa({ client: {} as never, storage, proof: 1, nonce: 'n', tokenProvider: () => 'g' }),
    )
    expect(err.code).toBe('ERR_INVALID_ARGUMENT')
    expect(err.message).toMatch(/performAction/)
    expect(storage.map.get('loginid-mfa-flow:pending')).toBe('kept')
  })
})

describe('an abort is never mistaken for a step failure', () => {
  it("a Cancel button aborting with a passkey error's code does not fall back", async () => {
    const { MfaError } = await import('../../src/index.js')
    const controller = new AbortController()
    const reason = new MfaError('ERR_PASSKEY_CANCELLED', 'the user pressed Cancel')
    const s = scripted(offer(['passkey:auth', 'external']), () => {
      controller.abort(reason)
      return new Promise<MfaSessionResult>(() => undefined)
    })
    const externalAuthenticator = vi.fn(() => true)
    const t = run(s.client, {
      externalAuthenticator,
      tokenProvider: () => 'g',
      signal: controller.signal,
    })
    expect(await failure(t.promise)).toBe(reason)
    expect(t.events.map((e) => e.type)).toEqual(['step:start', 'error'])
    expect(externalAuthenticator).not.toHaveBeenCalled()
  })
})

describe('the completion, more', () => {
  it('leaves out empty fields rather than passing them on', async () => {
    const s = scripted(
      offer(['external']),
      done({
        idToken: '',
        refreshToken: '',
        deviceId: '',
        flow: '' as never,
      }),
    )
    const completion = await completed(
      run(s.client, { externalAuthenticator: () => true, tokenProvider: () => 'g' }).promise,
    )
    expect(Object.keys(completion).sort()).toEqual(['accessToken', 'status', 'steps', 'username'])
  })

  it('resumeMfa without a client is ERR_INVALID_ARGUMENT', async () => {
    const err = await failure(
      resumeMfa({
        storage: memoryStorage(),
        proof: 1,
        nonce: 'n',
        tokenProvider: () => 'g',
      } as never),
    )
    expect(err.code).toBe('ERR_INVALID_ARGUMENT')
  })
})
