// Suspending a flow with ctx.redirect and resuming it with resumeMfa, against the simulator.
// Each "page" gets its own client, as a real navigation would; only the storage survives.
import { describe, expect, it, vi } from 'vitest'
import { serveSimulator } from '../support/serve-simulator.js'
import { createMfaClient, peekPendingMfa, resumeMfa, runMfa } from '../../src/index.js'
import type {
  ExternalAuthContext,
  ExternalAuthenticator,
  MfaEvent,
  MfaRedirect,
  MfaStorage,
  ResumeMfaOptions,
  RunMfaOptions,
  TokenRequestContext,
} from '../../src/index.js'
import { createLoginIDSimulator, createSoftwareAuthenticator } from '../../src/testing.js'
import { FakeLoginIDMfa, completed, memoryStorage } from './helpers.js'

const ADA = 'ada@example.com'
const KEY = 'loginid-mfa-flow:pending'
const VERIFY = '/fido2/v2/mfa/third-party/verify'
const sim = createLoginIDSimulator({ users: [{ username: ADA, email: ADA }] })
serveSimulator(sim)

const paths = (): string[] => sim.requests.map((r) => r.path)
const grant = (ctx: { username: string }): string => sim.grantExternalAuth(ctx.username)
const IDP = 'https://idp.example/authorize'

/** Let pending microtasks and MSW's handler chain run. */
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 20))

/** A promise plus its resolver, to hold a callback open. */
function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((r) => (resolve = r))
  return { promise, resolve }
}

/** The app page: an external step that leaves for the IdP with the nonce as OAuth state. */
async function redirectRun(
  storage: MfaStorage | undefined,
  extra: Partial<RunMfaOptions<string>> = {},
): Promise<MfaRedirect & { ctx: ExternalAuthContext }> {
  let seen: ExternalAuthContext | undefined
  const authenticate: ExternalAuthenticator<string> =
    extra.externalAuthenticator ??
    ((ctx) => ctx.redirect(`${IDP}?state=${ctx.resumeNonce}`, { returnTo: '/account' }))
  const result = await runMfa<string>({
    client: createMfaClient({ baseUrl: sim.baseUrl }),
    username: ADA,
    ...(storage && { storage }),
    tokenProvider: grant,
    ...extra,
    externalAuthenticator: (ctx) => ((seen = ctx), authenticate(ctx)),
  })
  if (result.status !== 'redirect' || !seen) throw new Error(`expected a redirect`)
  return { ...result, ctx: seen }
}

/** The return page. */
function resume(
  storage: MfaStorage,
  nonce: string,
  extra: Partial<ResumeMfaOptions<string>> = {},
): ReturnType<typeof resumeMfa<string, { returnTo: string }>> {
  return resumeMfa<string, { returnTo: string }>({
    client: createMfaClient({ baseUrl: sim.baseUrl }),
    storage,
    proof: 'idp-code',
    nonce,
    tokenProvider: grant,
    ...extra,
  })
}

describe('redirect, then resume', () => {
  it('saves the flow, resolves with the URL and nonce, and completes on the return page', async () => {
    // external (the IdP), then an OTP: the resumed run keeps driving with the same handlers.
    sim.setPolicy((ctx) =>
      ctx.event === 'begin'
        ? { next: ['external'] }
        : ctx.done.includes('otp:email')
          ? { complete: true }
          : { next: ['otp:email'] },
    )
    const storage = memoryStorage()
    const events: MfaEvent[] = []
    const redirect = await redirectRun(storage, { onEvent: (e) => events.push(e) })
    expect(redirect).toMatchObject({ status: 'redirect', url: `${IDP}?state=${redirect.nonce}` })
    expect(redirect.nonce).toMatch(/^[0-9a-f]{44}$/)
    expect(redirect.nonce).toBe(redirect.ctx.resumeNonce)
    expect(events.map((e) => e.type)).toEqual(['step:start', 'redirect'])
    expect(events[1]).toMatchObject({ action: 'external', step: 1, expiresAt: redirect.expiresAt })
    expect(storage.map.has(KEY)).toBe(true)
    expect(paths()).toEqual(['/fido2/v2/mfa/begin']) // nothing submitted before the redirect

    // The return page reads its state first, without consuming the flow.
    const pending = await peekPendingMfa<{ returnTo: string }>({ storage })
    expect(pending).toEqual({
      username: ADA,
      flow: 'signIn',
      state: { returnTo: '/account' },
      expiresAt: redirect.expiresAt,
      steps: [],
    })
    expect(storage.map.has(KEY)).toBe(true)

    const contexts: TokenRequestContext<string>[] = []
    const resumed = await resume(storage, redirect.nonce, {
      tokenProvider: (ctx) => (contexts.push(ctx), grant(ctx)),
      otp: { getCode: () => sim.inbox(ADA).at(-1)?.code ?? '' },
    })
    expect(resumed.status).toBe('complete')
    if (resumed.status !== 'complete') return
    expect(resumed.accessToken).toMatch(/^ey/)
    expect(resumed.username).toBe(ADA)
    expect(resumed.flow).toBe('signIn')
    expect(resumed.state).toEqual({ returnTo: '/account' })
    expect(resumed.steps.map((s) => [s.action, s.attempt, s.outcome])).toEqual([
      ['external', 1, 'continue'],
      ['otp:email', 1, 'complete'],
    ])
    expect(contexts).toHaveLength(1)
    expect(contexts[0]).toMatchObject({
      proof: 'idp-code',
      username: ADA,
      flow: 'signIn',
      reason: 'newDevice',
      session: redirect.ctx.session,
      attempt: 1,
    })
    expect(contexts[0]?.remainingFactors).toEqual(
      redirect.ctx.remainingFactors.map(({ type, label }) => ({ type, label })),
    )
    expect(storage.map.size).toBe(0)
    expect(paths()).toEqual([
      '/fido2/v2/mfa/begin',
      VERIFY,
      '/fido2/v2/mfa/otp/request',
      '/fido2/v2/mfa/otp/verify',
    ])
  })

  it('refuses a second resume with ERR_NO_PENDING_FLOW', async () => {
    const storage = memoryStorage()
    const { nonce } = await redirectRun(storage)
    await expect(completed(resume(storage, nonce))).resolves.toMatchObject({ status: 'complete' })
    await expect(resume(storage, nonce)).rejects.toMatchObject({ code: 'ERR_NO_PENDING_FLOW' })
    expect(paths().filter((p) => p === VERIFY)).toHaveLength(1)
  })

  it('fails with ERR_NO_PENDING_FLOW when nothing was saved', async () => {
    await expect(resume(memoryStorage(), 'a'.repeat(32))).rejects.toMatchObject({
      code: 'ERR_NO_PENDING_FLOW',
    })
    expect(sim.requests).toHaveLength(0)
  })

  it('fails with ERR_SESSION_EXPIRED after resumeTtlMs, and forgets the flow', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const storage = memoryStorage()
    const { nonce, expiresAt } = await redirectRun(storage, { resumeTtlMs: 60_000 })
    expect(expiresAt - Date.now()).toBeLessThanOrEqual(60_000)
    expect(expiresAt - Date.now()).toBeGreaterThan(59_000)
    vi.setSystemTime(expiresAt)
    const tokenProvider = vi.fn(grant)
    await expect(resume(storage, nonce, { tokenProvider })).rejects.toMatchObject({
      code: 'ERR_SESSION_EXPIRED',
    })
    expect(tokenProvider).not.toHaveBeenCalled()
    expect(storage.map.size).toBe(0)
    expect(paths()).toEqual(['/fido2/v2/mfa/begin'])
  })

  it("counts the expiry from LoginID's session, not from when the external step began", async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const issued = Date.now()
    const { expiresAt } = await redirectRun(memoryStorage(), {
      resumeTtlMs: 60_000,
      // The user spends 40 s choosing a factor after LoginID issued the session.
      chooseAction: () => void vi.setSystemTime(issued + 40_000),
    })
    expect(expiresAt).toBe(issued + 60_000)
  })

  it('expires after 5 minutes by default', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const storage = memoryStorage()
    const { nonce } = await redirectRun(storage)
    vi.setSystemTime(Date.now() + 5 * 60_000 + 1)
    await expect(resume(storage, nonce)).rejects.toMatchObject({ code: 'ERR_SESSION_EXPIRED' })
  })

  it('fails with ERR_STATE_MISMATCH on a wrong nonce, and forgets the flow', async () => {
    const storage = memoryStorage()
    const { nonce } = await redirectRun(storage)
    const tokenProvider = vi.fn(grant)
    const wrong = `${nonce.slice(0, -1)}${nonce.endsWith('0') ? '1' : '0'}`
    await expect(resume(storage, wrong, { tokenProvider })).rejects.toMatchObject({
      code: 'ERR_STATE_MISMATCH',
    })
    expect(tokenProvider).not.toHaveBeenCalled()
    expect(storage.map.size).toBe(0)
    // The right nonce is no use now: the flow was single-use.
    await expect(resume(storage, nonce)).rejects.toMatchObject({ code: 'ERR_NO_PENDING_FLOW' })
    expect(paths()).toEqual(['/fido2/v2/mfa/begin'])
  })

  it.each([
    ['an empty', (): string => ''],
    ['a prefix of the', (nonce: string): string => nonce.slice(0, 8)],
    ['a longer', (nonce: string): string => `${nonce}0`],
    ['a missing', (): string => undefined as unknown as string],
  ])('treats %s nonce as a mismatch', async (_, returned) => {
    const storage = memoryStorage()
    const { nonce } = await redirectRun(storage)
    await expect(resume(storage, returned(nonce))).rejects.toMatchObject({
      code: 'ERR_STATE_MISMATCH',
    })
    expect(storage.map.size).toBe(0)
  })

  it('discards the flow with ERR_EXTERNAL_DENIED when the IdP denied the user (no proof)', async () => {
    const storage = memoryStorage()
    const { nonce } = await redirectRun(storage)
    const tokenProvider = vi.fn(grant)
    await expect(resume(storage, nonce, { proof: null, tokenProvider })).rejects.toMatchObject({
      code: 'ERR_EXTERNAL_DENIED',
    })
    expect(tokenProvider).not.toHaveBeenCalled()
    expect(storage.map.size).toBe(0)
    expect(paths()).toEqual(['/fido2/v2/mfa/begin'])
  })

  it('treats a tampered or unreadable snapshot as no pending flow, and removes it', async () => {
    const storage = memoryStorage()
    const { nonce } = await redirectRun(storage)
    const saved = JSON.parse(storage.map.get(KEY) ?? '') as Record<string, unknown>
    for (const bad of [
      '{not json',
      JSON.stringify({ ...saved, v: 2 }),
      JSON.stringify({ ...saved, session: 42 }),
      JSON.stringify({ ...saved, steps: [{ action: 'face:scan', attempt: 1 }] }),
    ]) {
      storage.map.set(KEY, bad)
      await expect(resume(storage, nonce)).rejects.toMatchObject({ code: 'ERR_NO_PENDING_FLOW' })
      expect(storage.map.size).toBe(0)
    }
    expect(paths()).toEqual(['/fido2/v2/mfa/begin'])
  })

  it('keeps one pending flow per storage: a new redirect replaces the old one', async () => {
    const storage = memoryStorage()
    const first = await redirectRun(storage)
    const second = await redirectRun(storage)
    expect(second.nonce).not.toBe(first.nonce)
    await expect(resume(storage, first.nonce)).rejects.toMatchObject({
      code: 'ERR_STATE_MISMATCH',
    })
  })

  it('suspends again when a later external step redirects, carrying the steps so far', async () => {
    sim.setPolicy((ctx) =>
      ctx.event === 'begin' || ctx.done.length < 2 ? { next: ['external'] } : { complete: true },
    )
    const storage = memoryStorage()
    const first = await redirectRun(storage)
    const again = await resume(storage, first.nonce, {
      externalAuthenticator: (ctx) => ctx.redirect(`${IDP}?state=${ctx.resumeNonce}`, 2),
    })
    expect(again).toMatchObject({ status: 'redirect' })
    if (again.status !== 'redirect') return
    expect(again.nonce).not.toBe(first.nonce)
    expect(await peekPendingMfa({ storage })).toMatchObject({
      state: 2,
      steps: [{ action: 'external', attempt: 1, outcome: 'continue' }],
    })
    const done = await completed(resume(storage, again.nonce))
    expect(done.steps.map((s) => [s.action, s.attempt])).toEqual([
      ['external', 1],
      ['external', 2],
    ])
  })
})

describe('what is stored', () => {
  it('holds the session but no grant or access token, and nothing after completion', async () => {
    // First external step with a proof (a grant token is used), the second one redirects.
    sim.setPolicy((ctx) =>
      ctx.event === 'begin' || ctx.done.length < 2 ? { next: ['external'] } : { complete: true },
    )
    const storage = memoryStorage()
    const granted: string[] = []
    const tokenProvider = (ctx: { username: string }): string => {
      const token = grant(ctx)
      granted.push(token)
      return token
    }
    const { nonce, ctx } = await redirectRun(storage, {
      externalAuthenticator: (c) =>
        c.attempt === 1 ? 'password-ok' : c.redirect(`${IDP}?state=${c.resumeNonce}`),
      tokenProvider,
    })
    const raw = storage.map.get(KEY) ?? ''
    expect(granted).toHaveLength(1)
    expect(raw).not.toContain(granted[0])
    expect(raw).not.toMatch(/eyJ/)
    expect(Object.keys(JSON.parse(raw) as object).sort()).toEqual(
      [
        'expiresAt',
        'factors',
        'flow',
        'nonce',
        'reason',
        'session',
        'steps',
        'username',
        'v',
      ].sort(),
    )
    expect(raw).toContain(ctx.session)

    const done = await completed(resume(storage, nonce, { tokenProvider }))
    expect(done.accessToken).toMatch(/^ey/)
    expect(granted).toHaveLength(2)
    expect(storage.map.size).toBe(0)
  })

  it('uses sessionStorage by default', async () => {
    const session = memoryStorage()
    vi.stubGlobal('sessionStorage', session)
    const redirect = await redirectRun(undefined)
    expect(session.map.has(KEY)).toBe(true)
    expect(await peekPendingMfa()).toMatchObject({ username: ADA })
    const result = await completed(
      resumeMfa({
        client: createMfaClient({ baseUrl: sim.baseUrl }),
        proof: 'idp-code',
        nonce: redirect.nonce,
        tokenProvider: grant,
      }),
    )
    expect(result.accessToken).toMatch(/^ey/)
    expect(session.map.size).toBe(0)
  })

  it('honours storageKey', async () => {
    const storage = memoryStorage()
    const { nonce } = await redirectRun(storage, { storageKey: 'app-a' })
    expect([...storage.map.keys()]).toEqual(['app-a'])
    await expect(resume(storage, nonce)).rejects.toMatchObject({ code: 'ERR_NO_PENDING_FLOW' })
    await expect(completed(resume(storage, nonce, { storageKey: 'app-a' }))).resolves.toMatchObject(
      { status: 'complete' },
    )
  })
})

describe('storage', () => {
  it('works with an asynchronous storage', async () => {
    const map = new Map<string, string>()
    const later = <T>(fn: () => T): Promise<T> =>
      new Promise((resolve) => setTimeout(() => resolve(fn()), 1))
    const storage: MfaStorage = {
      getItem: (key) => later(() => map.get(key) ?? null),
      setItem: (key, value) => later(() => void map.set(key, value)),
      removeItem: (key) => later(() => void map.delete(key)),
    }
    const { nonce } = await redirectRun(storage)
    expect(map.has(KEY)).toBe(true)
    expect(await peekPendingMfa({ storage })).toMatchObject({ state: { returnTo: '/account' } })
    const done = await completed(resume(storage, nonce))
    expect(done.accessToken).toMatch(/^ey/)
    expect(map.size).toBe(0)
  })

  it('fails the redirect with ERR_STORAGE when the storage throws, before the app navigates', async () => {
    const quota = new Error('QuotaExceededError')
    const storage = { ...memoryStorage(), setItem: () => Promise.reject(quota) }
    const events: string[] = []
    const err = await redirectRun(storage, { onEvent: (e) => events.push(e.type) }).catch(
      (e: unknown) => e,
    )
    expect(err).toMatchObject({ code: 'ERR_STORAGE', cause: quota })
    expect(events).toEqual(['step:start', 'error'])
  })

  it.each(['getItem', 'removeItem'] as const)(
    'fails the resume with ERR_STORAGE when %s throws, sending nothing',
    async (method) => {
      const storage = memoryStorage()
      const { nonce } = await redirectRun(storage)
      const broken = {
        ...storage,
        [method]: () => {
          throw new Error('SecurityError')
        },
      }
      await expect(resume(broken, nonce)).rejects.toMatchObject({ code: 'ERR_STORAGE' })
      expect(paths()).toEqual(['/fido2/v2/mfa/begin'])
    },
  )

  it('fails with ERR_STORAGE when there is no storage at all', async () => {
    expect('sessionStorage' in globalThis).toBe(false)
    const run = runMfa({
      client: createMfaClient({ baseUrl: sim.baseUrl }),
      username: ADA,
      externalAuthenticator: (ctx) => ctx.redirect(IDP),
      tokenProvider: grant,
    })
    await expect(run).rejects.toMatchObject({ code: 'ERR_STORAGE' })
    await expect(peekPendingMfa()).rejects.toMatchObject({ code: 'ERR_STORAGE' })
  })

  it('rejects state that is not JSON with ERR_INVALID_ARGUMENT, storing nothing', async () => {
    const storage = memoryStorage()
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    const run = runMfa({
      client: createMfaClient({ baseUrl: sim.baseUrl }),
      username: ADA,
      storage,
      externalAuthenticator: (ctx) => ctx.redirect(IDP, cyclic),
      tokenProvider: grant,
    })
    await expect(run).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' })
    expect(storage.map.size).toBe(0)
  })

  it('checks storage, storageKey and resumeTtlMs before any request', async () => {
    const base = {
      client: createMfaClient({ baseUrl: sim.baseUrl }),
      username: ADA,
    }
    for (const bad of [
      { storage: { getItem: () => null } as unknown as MfaStorage },
      { storageKey: '' },
      { resumeTtlMs: 900_001 },
      { resumeTtlMs: 0 },
    ]) {
      await expect(runMfa({ ...base, ...bad })).rejects.toMatchObject({
        code: 'ERR_INVALID_ARGUMENT',
      })
    }
    const storage = memoryStorage()
    storage.map.set(KEY, 'kept')
    await expect(
      resumeMfa({ client: base.client, storage, proof: 1, nonce: 'n' } as never),
    ).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' })
    expect(storage.map.get(KEY)).toBe('kept')
    expect(sim.requests).toHaveLength(0)
  })
})

describe('abort', () => {
  it('abandons a pending token provider on the return page: nothing sent, flow removed', async () => {
    const storage = memoryStorage()
    const { nonce } = await redirectRun(storage)
    const controller = new AbortController()
    const entered = deferred()
    const hold = deferred()
    const run = resume(storage, nonce, {
      signal: controller.signal,
      tokenProvider: async (ctx) => {
        entered.resolve()
        await hold.promise
        return grant(ctx)
      },
    })
    await entered.promise
    expect(storage.map.size).toBe(0)
    controller.abort()
    await expect(run).rejects.toMatchObject({ code: 'ERR_ABORTED' })
    hold.resolve()
    await settle()
    expect(paths()).toEqual(['/fido2/v2/mfa/begin'])
    expect(storage.map.size).toBe(0)
  })

  it('removes the flow and sends nothing when the signal is already aborted', async () => {
    const storage = memoryStorage()
    const { nonce } = await redirectRun(storage)
    const tokenProvider = vi.fn(grant)
    await expect(
      resume(storage, nonce, { signal: AbortSignal.abort(), tokenProvider }),
    ).rejects.toMatchObject({ code: 'ERR_ABORTED' })
    expect(tokenProvider).not.toHaveBeenCalled()
    expect(storage.map.size).toBe(0)
    expect(paths()).toEqual(['/fido2/v2/mfa/begin'])
  })

  it('does not wait for a hanging storage after an abort, and still removes the flow', async () => {
    const storage = memoryStorage()
    const { nonce } = await redirectRun(storage)
    const answer = deferred()
    const slow: MfaStorage = {
      getItem: async (key) => (await answer.promise, storage.getItem(key)),
      setItem: storage.setItem,
      removeItem: storage.removeItem,
    }
    const controller = new AbortController()
    const resumed = resume(slow, nonce, { signal: controller.signal })
    await settle()
    controller.abort()
    await expect(resumed).rejects.toMatchObject({ code: 'ERR_ABORTED' })
    answer.resolve()
    await vi.waitFor(() => expect(storage.map.size).toBe(0))
    expect(paths()).toEqual(['/fido2/v2/mfa/begin'])
  })

  it('removes a snapshot whose write was abandoned by an abort', async () => {
    const map = new Map<string, string>()
    const write = deferred()
    const storage: MfaStorage = {
      getItem: (key) => map.get(key) ?? null,
      setItem: async (key, value) => {
        await write.promise
        map.set(key, value)
      },
      removeItem: (key) => void map.delete(key),
    }
    const controller = new AbortController()
    const entered = deferred()
    const run = runMfa({
      client: createMfaClient({ baseUrl: sim.baseUrl }),
      username: ADA,
      storage,
      signal: controller.signal,
      externalAuthenticator: (ctx) => (entered.resolve(), ctx.redirect(IDP)),
      tokenProvider: grant,
    })
    await entered.promise
    await settle()
    controller.abort()
    await expect(run).rejects.toMatchObject({ code: 'ERR_ABORTED' })
    write.resolve()
    await settle()
    expect(map.size).toBe(0)
  })
})

describe('with a LoginIDMfa-shaped client', () => {
  it('redirects and resumes, passing the saved session to performAction', async () => {
    const storage = memoryStorage()
    const page = (): FakeLoginIDMfa =>
      new FakeLoginIDMfa(sim.baseUrl, createSoftwareAuthenticator())
    const { nonce, ctx } = await redirectRun(storage, { client: page() })
    const client = page() // a fresh page: the double holds no flow of its own
    const performAction = vi.spyOn(client, 'performAction')
    const done = await completed(resume(storage, nonce, { client }))
    expect(done.accessToken).toMatch(/^ey/)
    expect(done.username).toBe(ADA)
    expect(performAction).toHaveBeenCalledWith(
      'external',
      expect.objectContaining({ session: ctx.session, payload: expect.any(String) }),
    )
    expect(storage.map.size).toBe(0)
  })
})

// Attack matrix of the suspended flow (`resumeMfa`, `peekPendingMfa`): a second tab or script
// racing for the flow, tampered same-origin storage, a storage that never answers.
describe('attack matrix: suspended flows', () => {
  /** `memoryStorage` whose calls answer asynchronously (IndexedDB-like). */
  function asyncStorage(): MfaStorage & { map: Map<string, string> } {
    const inner = memoryStorage()
    const map = inner.map
    const later = <T>(fn: () => T): Promise<T> =>
      new Promise((resolve) => setTimeout(() => resolve(fn()), 5))
    return {
      map: inner.map,
      getItem: (key) => later(() => map.get(key) ?? null),
      setItem: (key, value) => later(() => void map.set(key, value)),
      removeItem: (key) => later(() => void map.delete(key)),
    }
  }

  it.each([
    ['synchronous', memoryStorage],
    ['asynchronous', asyncStorage],
  ])(
    'two resumeMfa calls started together (%s storage): one wins, the other gets ERR_NO_PENDING_FLOW calling nothing',
    async (_, make) => {
      const storage = make()
      const { nonce } = await redirectRun(storage)
      const getItem = vi.spyOn(storage, 'getItem')
      const providers = [vi.fn(grant), vi.fn(grant)]
      const outcomes = await Promise.allSettled(
        providers.map((tokenProvider) => completed(resume(storage, nonce, { tokenProvider }))),
      )
      const won = outcomes.filter((o) => o.status === 'fulfilled')
      const lost = outcomes.filter((o) => o.status === 'rejected')
      expect(won).toHaveLength(1)
      expect(lost).toHaveLength(1)
      expect((lost[0] as PromiseRejectedResult).reason).toMatchObject({
        code: 'ERR_NO_PENDING_FLOW',
      })
      // The loser asked neither the storage, nor the backend, nor LoginID.
      expect(getItem).toHaveBeenCalledTimes(1)
      expect(providers[0]!.mock.calls.length + providers[1]!.mock.calls.length).toBe(1)
      expect(paths().filter((path) => path === VERIFY)).toHaveLength(1)
      expect(storage.map.size).toBe(0)
    },
  )

  it('held: the winner gone, a later call finds nothing (single use)', async () => {
    const storage = asyncStorage()
    const { nonce } = await redirectRun(storage)
    await completed(resume(storage, nonce))
    await expect(resume(storage, nonce)).rejects.toMatchObject({ code: 'ERR_NO_PENDING_FLOW' })
  })

  it('an expiresAt edited to a year ahead: expired 15 minutes after the flow was saved', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const storage = memoryStorage()
    const { nonce } = await redirectRun(storage, { resumeTtlMs: 60_000 })
    const saved = JSON.parse(storage.map.get(KEY) ?? '') as Record<string, unknown>
    const yearAhead = Date.now() + 365 * 24 * 3_600_000
    storage.map.set(KEY, JSON.stringify({ ...saved, expiresAt: yearAhead }))
    const pending = await peekPendingMfa({ storage })
    expect(pending?.expiresAt).toBeLessThanOrEqual(Date.now() + 15 * 60_000)
    vi.setSystemTime(Date.now() + 15 * 60_000 + 1)
    const tokenProvider = vi.fn(grant)
    await expect(resume(storage, nonce, { tokenProvider })).rejects.toMatchObject({
      code: 'ERR_SESSION_EXPIRED',
    })
    expect(tokenProvider).not.toHaveBeenCalled()
  })

  it('held: a nonce (and its creation time) edited in the storage no longer matches the return URL', async () => {
    const storage = memoryStorage()
    const { nonce } = await redirectRun(storage)
    const saved = JSON.parse(storage.map.get(KEY) ?? '') as Record<string, unknown>
    const newer = `${(Date.now() + 3_600_000).toString(16).padStart(12, '0')}${nonce.slice(12)}`
    storage.map.set(KEY, JSON.stringify({ ...saved, nonce: newer }))
    await expect(resume(storage, nonce)).rejects.toMatchObject({ code: 'ERR_STATE_MISMATCH' })
  })

  it('a snapshot whose nonce carries no creation time: expired, nothing sent', async () => {
    const storage = memoryStorage()
    const { nonce } = await redirectRun(storage)
    const saved = JSON.parse(storage.map.get(KEY) ?? '') as Record<string, unknown>
    const legacy = nonce.slice(12)
    storage.map.set(KEY, JSON.stringify({ ...saved, nonce: legacy }))
    const tokenProvider = vi.fn(grant)
    await expect(resume(storage, legacy, { tokenProvider })).rejects.toMatchObject({
      code: 'ERR_SESSION_EXPIRED',
    })
    expect(tokenProvider).not.toHaveBeenCalled()
  })

  it('peekPendingMfa on a storage that never answers: ERR_TIMEOUT at timeoutMs, ERR_ABORTED on signal', async () => {
    const silent: MfaStorage = {
      getItem: () => new Promise<string | null>(() => undefined),
      setItem: () => undefined,
      removeItem: () => undefined,
    }
    await expect(peekPendingMfa({ storage: silent, timeoutMs: 30 })).rejects.toMatchObject({
      code: 'ERR_TIMEOUT',
    })
    const controller = new AbortController()
    const pending = peekPendingMfa({ storage: silent, signal: controller.signal })
    setTimeout(() => controller.abort(), 10)
    await expect(pending).rejects.toMatchObject({ code: 'ERR_ABORTED' })
    await expect(
      peekPendingMfa({ storage: silent, signal: AbortSignal.abort() }),
    ).rejects.toMatchObject({ code: 'ERR_ABORTED' })
    for (const timeoutMs of [0, -1, 2 ** 31, Number.NaN]) {
      await expect(peekPendingMfa({ storage: silent, timeoutMs })).rejects.toMatchObject({
        code: 'ERR_INVALID_ARGUMENT',
      })
    }
  })
})
