import { describe, expectTypeOf, it } from 'vitest'
import { MfaError, createMfaClient, fetchGrantToken, isMfaError, runMfa } from '../index.js'
import type {
  BuiltInMfaClient,
  ExternalAuthReason,
  MfaClient,
  MfaCompletion,
  MfaErrorCode,
  MfaEvent,
  MfaSessionResult,
  RunMfaOptions,
  TokenProvider,
} from '../index.js'

declare const client: BuiltInMfaClient

describe('runMfa types', () => {
  it('takes options and resolves to MfaCompletion', () => {
    expectTypeOf(runMfa).parameter(0).toMatchTypeOf<RunMfaOptions>()
    expectTypeOf(runMfa({ client, username: 'a' })).resolves.toEqualTypeOf<MfaCompletion>()
    expectTypeOf<MfaCompletion['accessToken']>().toEqualTypeOf<string | undefined>()
    expectTypeOf<MfaCompletion['username']>().toEqualTypeOf<string>()
  })

  it('threads the proof type from the authenticator to the token provider', () => {
    void runMfa({
      client,
      username: 'a',
      externalAuthenticator: () => ({ ticket: 't' }),
      tokenProvider: (ctx) => {
        expectTypeOf(ctx.proof).toEqualTypeOf<{ ticket: string }>()
        expectTypeOf(ctx.reason).toEqualTypeOf<ExternalAuthReason>()
        return 'token'
      },
    })
    expectTypeOf(fetchGrantToken('/x')).toEqualTypeOf<TokenProvider<unknown>>()
  })

  it('rejects unknown options and wrong callback types', () => {
    // @ts-expect-error maxSteps is a number
    void runMfa({ client, username: 'a', maxSteps: '3' })
    // @ts-expect-error passkey.onError is 'fallback' | 'throw'
    void runMfa({ client, username: 'a', passkey: { onError: 'retry' } })
    // @ts-expect-error chooseAction returns a factor name
    void runMfa({ client, username: 'a', chooseAction: () => 'face:scan' })
  })

  it('narrows events by type', () => {
    const onEvent = (event: MfaEvent): void => {
      switch (event.type) {
        case 'step:start':
          expectTypeOf(event.step).toEqualTypeOf<number>()
          break
        case 'fallback':
          expectTypeOf(event.to).toEqualTypeOf<'external'>()
          expectTypeOf(event.error).toEqualTypeOf<MfaError>()
          break
        case 'complete':
          expectTypeOf(event.completion).toEqualTypeOf<MfaCompletion>()
          break
        case 'error':
          expectTypeOf(event.error.code).toEqualTypeOf<MfaErrorCode>()
          break
        case 'step:done':
          expectTypeOf(event.outcome).toEqualTypeOf<'complete' | 'continue' | 'failed'>()
          break
        default:
          expectTypeOf(event).toBeNever()
      }
    }
    void onEvent
  })
})

describe('client and error types', () => {
  it('the built-in client is an MfaClient', () => {
    expectTypeOf(
      createMfaClient({ baseUrl: 'https://a.api.loginid.io' }),
    ).toMatchTypeOf<MfaClient>()
    expectTypeOf(client.getMfaSessionDetails()).resolves.toEqualTypeOf<MfaSessionResult>()
  })

  it('narrows error codes', () => {
    const err = undefined as unknown
    if (isMfaError(err, 'ERR_TOKEN_REJECTED', 'ERR_EXTERNAL_DENIED')) {
      expectTypeOf(err.code).toEqualTypeOf<'ERR_TOKEN_REJECTED' | 'ERR_EXTERNAL_DENIED'>()
    }
    // `instanceof` on the generic class gives MfaError<any>; annotate to get the code union.
    if (err instanceof MfaError) {
      const e: MfaError = err
      expectTypeOf(e.code).toEqualTypeOf<MfaErrorCode>()
      if (e.code === 'ERR_ABORTED') expectTypeOf(e.code).toEqualTypeOf<'ERR_ABORTED'>()
    }
  })
})
