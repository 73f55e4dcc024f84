import { describe, expectTypeOf, it } from 'vitest'
import {
  MfaError,
  createMfaClient,
  fetchGrantToken,
  isMfaError,
  peekPendingMfa,
  resumeMfa,
  runMfa,
} from '../index.js'
import type {
  BuiltInMfaClient,
  ExternalAuthReason,
  ExternalRedirectRequest,
  MfaClient,
  MfaCompletion,
  MfaCompletionSummary,
  MfaErrorCode,
  MfaEvent,
  MfaRedirect,
  MfaSessionResult,
  PendingMfa,
  ResumeMfaOptions,
  ResumeMfaResult,
  RunMfaOptions,
  RunMfaResult,
  TokenProvider,
} from '../index.js'

declare const client: BuiltInMfaClient
type ExternalAuthContextRedirect = Parameters<
  NonNullable<RunMfaOptions['externalAuthenticator']>
>[0]['redirect']

describe('runMfa types', () => {
  it('takes options and resolves to a complete-or-redirect union', () => {
    expectTypeOf(runMfa).parameter(0).toMatchTypeOf<RunMfaOptions>()
    expectTypeOf(runMfa({ client, username: 'a' })).resolves.toEqualTypeOf<RunMfaResult>()
    expectTypeOf<RunMfaResult>().toEqualTypeOf<MfaCompletion | MfaRedirect>()
    expectTypeOf<MfaCompletion['accessToken']>().toEqualTypeOf<string | undefined>()
    expectTypeOf<MfaCompletion['username']>().toEqualTypeOf<string>()
  })

  it('narrows the result on status', async () => {
    const result = await runMfa({ client, username: 'a' })
    // @ts-expect-error accessToken exists only on the complete member
    void result.accessToken
    if (result.status === 'complete') {
      expectTypeOf(result).toEqualTypeOf<MfaCompletion>()
      expectTypeOf(result.steps).toBeArray()
    } else {
      expectTypeOf(result).toEqualTypeOf<MfaRedirect>()
      expectTypeOf(result.url).toEqualTypeOf<string>()
      expectTypeOf(result.nonce).toEqualTypeOf<string>()
    }
  })

  it('lets the authenticator redirect, and keeps the proof type without the redirect', () => {
    void runMfa({
      client,
      username: 'a',
      externalAuthenticator: (ctx) => {
        expectTypeOf(ctx.resumeNonce).toEqualTypeOf<string>()
        if (ctx.reason === 'signUp') return { ticket: 't' }
        return ctx.redirect(`https://idp.example/authorize?state=${ctx.resumeNonce}`, { to: '/' })
      },
      tokenProvider: (ctx) => {
        expectTypeOf(ctx.proof).toEqualTypeOf<{ ticket: string }>()
        // @ts-expect-error the token provider cannot redirect
        void ctx.redirect
        return 'token'
      },
    })
    expectTypeOf<ReturnType<ExternalAuthContextRedirect>>().toEqualTypeOf<ExternalRedirectRequest>()
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
          expectTypeOf(event.completion).toEqualTypeOf<MfaCompletionSummary>()
          // @ts-expect-error -- events never carry the tokens
          void event.completion.accessToken
          break
        case 'redirect':
          expectTypeOf(event.action).toEqualTypeOf<'external'>()
          expectTypeOf(event.expiresAt).toEqualTypeOf<number>()
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

describe('resumeMfa and peekPendingMfa types', () => {
  it('requires proof, nonce and tokenProvider, and takes no username', () => {
    expectTypeOf(resumeMfa).parameter(0).toMatchTypeOf<ResumeMfaOptions>()
    // @ts-expect-error nonce is required
    void resumeMfa({ client, proof: 'c', tokenProvider: () => 't' })
    // @ts-expect-error tokenProvider is required
    void resumeMfa({ client, proof: 'c', nonce: 'n' })
    // @ts-expect-error username comes from the saved flow
    void resumeMfa({ client, proof: 'c', nonce: 'n', tokenProvider: () => 't', username: 'a' })
  })

  it('threads the proof and state types', async () => {
    const result = await resumeMfa<string, { returnTo: string }>({
      client,
      proof: 'code',
      nonce: 'n',
      tokenProvider: (ctx) => {
        expectTypeOf(ctx.proof).toEqualTypeOf<string>()
        return 't'
      },
    })
    expectTypeOf(result).toEqualTypeOf<ResumeMfaResult<{ returnTo: string }>>()
    if (result.status === 'complete') {
      expectTypeOf(result.state).toEqualTypeOf<{ returnTo: string } | undefined>()
      expectTypeOf(result.accessToken).toEqualTypeOf<string | undefined>()
    }
    expectTypeOf(peekPendingMfa<{ returnTo: string }>()).resolves.toEqualTypeOf<PendingMfa<{
      returnTo: string
    }> | null>()
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
    if (err instanceof MfaError) {
      expectTypeOf(err.code).toEqualTypeOf<MfaErrorCode>()
      if (err.code === 'ERR_ABORTED') expectTypeOf(err.code).toEqualTypeOf<'ERR_ABORTED'>()
    }
  })
})
