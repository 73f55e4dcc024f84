// The driver against a test double shaped like `LoginIDMfa` from @loginid/websdk3 >= 3 (see
// FakeLoginIDMfa in ./helpers.ts). It proves runMfa relies only on the structural MfaClient
// contract.
import { describe, expect, it, vi } from 'vitest'
import { serveSimulator } from '../support/serve-simulator.js'
import { runMfa as runMfaResult } from '../../src/index.js'
import type { RunMfaOptions } from '../../src/index.js'
import { createLoginIDSimulator, createSoftwareAuthenticator } from '../../src/testing.js'
import { signUpThenRegister, FakeLoginIDMfa, completed } from './helpers.js'

const runMfa = <P>(options: RunMfaOptions<P>) => completed(runMfaResult(options))

const ADA = 'ada@example.com'
const sim = createLoginIDSimulator({
  users: [
    { username: ADA, email: ADA },
    { username: 'pat@example.com', passkey: true, devices: ['dev-pat'] },
  ],
})
serveSimulator(sim)

const client = (): FakeLoginIDMfa => new FakeLoginIDMfa(sim.baseUrl, createSoftwareAuthenticator())
const grant = ({ username }: { username: string }): string => sim.grantExternalAuth(username)

describe('runMfa with a LoginIDMfa-shaped client', () => {
  it('signs up through external and registers a passkey inside performAction', async () => {
    sim.setPolicy(signUpThenRegister)
    const completion = await runMfa({
      client: client(),
      username: 'new@example.com',
      externalAuthenticator: () => true,
      tokenProvider: grant,
    })
    expect(completion.steps.map((s) => [s.action, s.outcome])).toEqual([
      ['external', 'continue'],
      ['passkey:reg', 'complete'],
    ])
    expect(completion.accessToken).toMatch(/^ey/)
  })

  it('falls back to external on a PasskeyError', async () => {
    const reasons: string[] = []
    const completion = await runMfa({
      client: client(),
      username: 'pat@example.com',
      beginOptions: { deviceId: 'dev-pat' },
      externalAuthenticator: ({ reason }) => (reasons.push(reason), true),
      tokenProvider: grant,
    })
    expect(reasons).toEqual(['passkeyFailed'])
    expect(completion.steps[0]).toMatchObject({ outcome: 'failed', error: 'ERR_PASSKEY_CANCELLED' })
  })

  it('runs OTP when the request keeps the same nextAction, asking again after a wrong code', async () => {
    sim.setPolicy((ctx) => (ctx.event === 'begin' ? { next: ['otp:email'] } : { complete: true }))
    const completion = await runMfa({
      client: client(),
      username: ADA,
      otp: {
        getCode: ({ attempt }) => (attempt === 1 ? 'nope' : (sim.inbox(ADA).at(-1)?.code ?? '')),
      },
    })
    expect(completion.steps).toMatchObject([{ action: 'otp:email', outcome: 'complete' }])
    expect(sim.requests.filter((r) => r.path.endsWith('otp/verify'))).toHaveLength(2)
  })

  it('maps an ApiError from third-party/verify to ERR_TOKEN_REJECTED without the session', async () => {
    let session = ''
    const err = await runMfa({
      client: client(),
      username: ADA,
      externalAuthenticator: (ctx) => ((session = ctx.session ?? ''), true),
      tokenProvider: () => 'sim_g_unknown',
    }).catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'ERR_TOKEN_REJECTED', status: 401, msgCode: 'invalid_token' })
    expect(session).not.toBe('')
    expect(`${String(err)} ${JSON.stringify(err)}`).not.toContain(session)
    expect((err as Error).cause).toBeUndefined()
  })

  it('calls nothing more on a client that ignores signals once the run is aborted', async () => {
    const controller = new AbortController()
    const authenticator = vi.fn(() => true)
    await expect(
      runMfaResult({
        client: client(),
        username: ADA,
        externalAuthenticator: authenticator,
        tokenProvider: grant,
        signal: controller.signal,
        onEvent: (e) => {
          if (e.type === 'step:start') controller.abort()
        },
      }),
    ).rejects.toMatchObject({ code: 'ERR_ABORTED' })
    expect(authenticator).not.toHaveBeenCalled()
    expect(sim.requests.map((r) => r.path)).toEqual(['/fido2/v2/mfa/begin'])
  })
})
