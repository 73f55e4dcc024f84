// The context objects runMfa hands to the app's callbacks (externalAuthenticator, tokenProvider,
// otp.getCode). They are class instances with a lazy `signal` (and `resumeNonce`) on the prototype
// for speed (src/client/internal/steps/app-context.ts); what apps rely on must still hold: every
// field readable and destructurable, `redirect` callable unbound, the nonce stable, and only this
// step's own redirect request suspending the run.
import { describe, expect, it } from 'vitest'
import { createMfaClient, runMfa } from '../../src/index.js'
import type {
  ExternalAuthContext,
  ExternalRedirectRequest,
  MfaSessionResult,
} from '../../src/index.js'
import { createLoginIDSimulator } from '../../src/testing.js'
import { serveSimulator } from '../support/serve-simulator.js'
import { memoryStorage } from './helpers.js'

const ADA = 'ada@example.com'
const sim = createLoginIDSimulator({ users: [{ username: ADA, email: ADA }] })
serveSimulator(sim)

const base = () => ({
  client: createMfaClient({ baseUrl: sim.baseUrl }),
  username: ADA,
  pendingFlowStorage: memoryStorage(),
  tokenProvider: (ctx: { username: string }) => sim.grantExternalAuth(ctx.username),
})

describe('callback contexts', () => {
  it('destructure: fields, a lazy signal, a stable nonce and an unbound redirect', async () => {
    let seen: Record<string, unknown> = {}
    const result = await runMfa({
      ...base(),
      externalAuthenticator: ({
        username,
        reason,
        attempt,
        session,
        signal,
        resumeNonce,
        redirect,
      }) => {
        seen = { username, reason, attempt, session, signal, resumeNonce }
        return redirect(`https://idp.example/?state=${resumeNonce}`, { to: '/' })
      },
    })
    expect(seen).toMatchObject({ username: ADA, reason: 'newDevice', attempt: 1 })
    expect(typeof seen.session).toBe('string')
    expect(seen.signal).toBeInstanceOf(AbortSignal)
    expect(seen.resumeNonce).toMatch(/^[0-9a-f]{44}$/)
    expect(result).toMatchObject({ status: 'redirect', nonce: seen.resumeNonce })
    expect(result.status === 'redirect' && result.url).toBe(
      `https://idp.example/?state=${String(seen.resumeNonce)}`,
    )
  })

  it('reads the same nonce on every read, and the data fields are own enumerable keys', async () => {
    let keys: string[] = []
    let nonces: string[] = []
    await runMfa({
      ...base(),
      externalAuthenticator: (ctx) => {
        keys = Object.keys(ctx)
        nonces = [ctx.resumeNonce, ctx.resumeNonce]
        return true
      },
    })
    expect(keys).toEqual(
      expect.arrayContaining([
        'username',
        'flow',
        'reason',
        'session',
        'remainingFactors',
        'attempt',
        'redirect',
      ]),
    )
    expect(nonces[0]).toBe(nonces[1])
  })

  it('a redirect request from an earlier step is a proof, not a suspension', async () => {
    // Two external steps, then tokens.
    sim.setPolicy((ctx) =>
      ctx.event === 'begin' || ctx.done.length < 2 ? { next: ['external'] } : { complete: true },
    )
    let first: ExternalRedirectRequest | undefined
    const proofs: unknown[] = []
    const result = await runMfa({
      ...base(),
      externalAuthenticator: (ctx: ExternalAuthContext) => {
        if (ctx.attempt === 1) {
          first = ctx.redirect('https://idp.example/')
          return true
        }
        return first
      },
      tokenProvider: (ctx) => {
        proofs.push(ctx.proof)
        return sim.grantExternalAuth(ctx.username)
      },
    })
    expect(result.status).toBe('complete')
    expect(proofs).toEqual([true, first])
  })

  it('tokenProvider and otp.getCode get a lazy signal that aborts with the step', async () => {
    const signals: AbortSignal[] = []
    await runMfa({
      ...base(),
      externalAuthenticator: () => true,
      tokenProvider: ({ username, signal, proof }) => {
        signals.push(signal)
        expect(proof).toBe(true)
        return sim.grantExternalAuth(username)
      },
    })
    expect(signals).toHaveLength(1)
    // The step ended, so its signal aborted (callbacks must stop waiting after their step).
    expect(signals[0]?.aborted).toBe(true)
  })
})

describe('a passkey error told by its ERROR_* code alone', () => {
  // An app's own client (no LoginIDMfa, no built-in client) that rethrows a library's error with
  // a known code but a plain name and no DOMException cause.
  const passkeyFirst: MfaSessionResult = {
    isComplete: false,
    remainingFactors: [
      { type: 'passkey:auth', label: 'Passkey', value: 'opts' },
      { type: 'external', label: 'Other' },
    ],
    nextAction: 'passkey:auth',
    session: 'sess-1',
    flow: 'signIn',
  }
  it.each([
    ['ERROR_INVALID_DOMAIN', 'ERR_PASSKEY_DOMAIN'],
    ['ERROR_CEREMONY_ABORTED', 'ERR_PASSKEY_CANCELLED'],
    ['ERROR_PASSKEY_EXISTS', 'ERR_PASSKEY_EXISTS'],
  ])('%s fails the passkey step as %s', async (sdkCode, code) => {
    const client = {
      beginFlow: () => Promise.resolve(passkeyFirst),
      performAction: () => Promise.reject(Object.assign(new Error('wrapped'), { code: sdkCode })),
    }
    await expect(
      runMfa({
        client,
        username: ADA,
        passkey: { onError: 'throw' },
        externalAuthenticator: () => true,
        tokenProvider: () => 'grant',
      }),
    ).rejects.toMatchObject({ code })
  })
})
