// Tests with teeth for the resume path (issue 16): resumeMfa, peekPendingMfa and the saved
// snapshot (src/client/internal/pending-flow.ts). Each one fails when a deliberate breakage that
// the other tests let through is applied. What a return page relies on: which saved flows are
// accepted, what it is told, that the flow is used once, and that nothing is sent otherwise.
import { describe, expect, it, vi } from 'vitest'
import { serveSimulator } from '../support/serve-simulator.js'
import { createMfaClient, peekPendingMfa, resumeMfa, runMfa } from '../../src/index.js'
import type {
  ExternalAuthenticator,
  MfaStorage,
  ResumeMfaOptions,
  RunMfaOptions,
} from '../../src/index.js'
import { createLoginIDSimulator } from '../../src/testing.js'
import { completed, memoryStorage, PENDING_KEY, pendingNonce, pendingSnapshot } from './helpers.js'

const ADA = 'ada@example.com'
const KEY = PENDING_KEY
const IDP = 'https://idp.example/authorize'
const NONCE = pendingNonce()
const sim = createLoginIDSimulator({ users: [{ username: ADA, email: ADA }] })
serveSimulator(sim)

const grant = (ctx: { username: string }): string => sim.grantExternalAuth(ctx.username)

const snapshot = (extra: Record<string, unknown> = {}) => pendingSnapshot(NONCE, extra)

function storageWith(value: unknown): MfaStorage & { map: Map<string, string> } {
  const storage = memoryStorage()
  storage.map.set(KEY, typeof value === 'string' ? value : JSON.stringify(value))
  return storage
}

/** The app page: the first external step leaves for the IdP. */
async function redirectRun(storage: MfaStorage, extra: Partial<RunMfaOptions<string>> = {}) {
  const result = await runMfa<string>({
    client: createMfaClient({ baseUrl: sim.baseUrl }),
    username: ADA,
    storage,
    tokenProvider: grant,
    externalAuthenticator: (ctx) => ctx.redirect(`${IDP}?state=${ctx.resumeNonce}`, 'st'),
    ...extra,
  })
  if (result.status !== 'redirect') throw new Error('expected a redirect')
  return result
}

function resume(
  storage: MfaStorage,
  nonce: string,
  extra: Partial<ResumeMfaOptions<string>> = {},
): ReturnType<typeof resumeMfa<string, unknown>> {
  return resumeMfa<string, unknown>({
    client: createMfaClient({ baseUrl: sim.baseUrl }),
    storage,
    proof: 'idp-code',
    nonce,
    tokenProvider: grant,
    ...extra,
  })
}

describe('peekPendingMfa: which saved flows are read', () => {
  it('returns username, flow, state, expiry and steps; never the nonce or the session', async () => {
    const saved = snapshot()
    const pending = await peekPendingMfa({ storage: storageWith(saved) })
    expect(pending).toEqual({
      username: ADA,
      flow: 'signIn',
      state: { returnTo: '/account' },
      expiresAt: saved.expiresAt,
      steps: [{ action: 'external', attempt: 1, outcome: 'continue' }],
    })
    expect(JSON.stringify(pending)).not.toContain(NONCE)
    expect(JSON.stringify(pending)).not.toContain('session-1')
  })

  it('accepts each documented reason and factor name', async () => {
    for (const reason of ['signUp', 'newDevice', 'passkeyFailed', 'recommended']) {
      const pending = await peekPendingMfa({ storage: storageWith(snapshot({ reason })) })
      expect(pending).not.toBeNull()
    }
    const factors = [
      'passkey:reg',
      'passkey:auth',
      'passkey:tx',
      'otp:email',
      'otp:sms',
      'external',
    ]
    const pending = await peekPendingMfa({
      storage: storageWith(
        snapshot({
          factors: factors.map((type) => ({ type, label: type })),
          steps: factors.map((action) => ({ action, attempt: 1, outcome: 'retry' })),
        }),
      ),
    })
    expect(pending?.steps).toHaveLength(factors.length)
  })

  it('accepts a flow with no steps, no flow and no state', async () => {
    const pending = await peekPendingMfa({
      storage: storageWith(snapshot({ steps: [], flow: undefined, state: undefined })),
    })
    expect(pending).toEqual({
      username: ADA,
      flow: undefined,
      state: undefined,
      expiresAt: expect.any(Number),
      steps: [],
    })
  })

  const corrupt: [string, unknown][] = [
    ['not JSON', '{not json'],
    ['an empty string', ''],
    ['JSON null', 'null'],
    ['an array', [snapshot()]],
    ['a number', 42],
    ['another version', snapshot({ v: 2 })],
    ['no version', snapshot({ v: undefined })],
    ['"1" as version', snapshot({ v: '1' })],
    ['an empty nonce', snapshot({ nonce: '' })],
    ['a numeric nonce', snapshot({ nonce: 1234 })],
    ['a string expiry', snapshot({ expiresAt: '2030-01-01' })],
    ['an infinite expiry', snapshot({ expiresAt: 'Infinity' })],
    ['no expiry', snapshot({ expiresAt: undefined })],
    ['an empty session', snapshot({ session: '' })],
    ['no session', snapshot({ session: undefined })],
    ['an empty username', snapshot({ username: '' })],
    ['a numeric username', snapshot({ username: 7 })],
    ['an unknown reason', snapshot({ reason: 'bored' })],
    ['no reason', snapshot({ reason: undefined })],
    ['factors that are not a list', snapshot({ factors: { type: 'external' } })],
    ['a factor that is not an object', snapshot({ factors: ['external'] })],
    ['a null factor', snapshot({ factors: [null] })],
    ['an array as factor', snapshot({ factors: [['external']] })],
    ['an unknown factor', snapshot({ factors: [{ type: 'face:scan', label: 'x' }] })],
    ['steps that are not a list', snapshot({ steps: 'external' })],
    ['a step that is not an object', snapshot({ steps: ['external'] })],
    ['an unknown step action', snapshot({ steps: [{ action: 'face:scan', attempt: 1 }] })],
    ['a step with attempt 0', snapshot({ steps: [{ action: 'external', attempt: 0 }] })],
    ['a step without attempt', snapshot({ steps: [{ action: 'external' }] })],
  ]
  it.each(corrupt)('treats a snapshot with %s as none', async (_, value) => {
    const storage = storageWith(value)
    await expect(peekPendingMfa({ storage })).resolves.toBeNull()
    // Peeking never removes anything, even a corrupt entry.
    expect(storage.map.has(KEY)).toBe(true)
  })

  it('is null when nothing is saved (null or undefined from the storage)', async () => {
    await expect(peekPendingMfa({ storage: memoryStorage() })).resolves.toBeNull()
    const undefinedStorage: MfaStorage = {
      getItem: () => undefined as unknown as null,
      setItem: () => undefined,
      removeItem: () => undefined,
    }
    await expect(peekPendingMfa({ storage: undefinedStorage })).resolves.toBeNull()
  })

  it('reads the given storageKey only', async () => {
    const storage = memoryStorage()
    storage.map.set('app-b', JSON.stringify(snapshot()))
    await expect(peekPendingMfa({ storage })).resolves.toBeNull()
    await expect(peekPendingMfa({ storage, storageKey: 'app-b' })).resolves.toMatchObject({
      username: ADA,
    })
  })
})

describe('peekPendingMfa: bad options and storages', () => {
  it('refuses options that are not an object with ERR_INVALID_ARGUMENT', async () => {
    for (const options of [null, 'storage', 42]) {
      await expect(peekPendingMfa(options as never)).rejects.toMatchObject({
        code: 'ERR_INVALID_ARGUMENT',
      })
    }
  })

  it('refuses a storage that lacks one of getItem, setItem, removeItem', async () => {
    const full = memoryStorage()
    for (const missing of ['getItem', 'setItem', 'removeItem'] as const) {
      const storage = { ...full, [missing]: 'not a function' } as unknown as MfaStorage
      await expect(peekPendingMfa({ storage })).rejects.toMatchObject({
        code: 'ERR_INVALID_ARGUMENT',
      })
    }
    await expect(peekPendingMfa({ storage: null as never })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
    })
  })

  it("turns the storage's failure into ERR_STORAGE with the failure as cause", async () => {
    const denied = new Error('SecurityError')
    const storage: MfaStorage = {
      ...memoryStorage(),
      getItem: () => {
        throw denied
      },
    }
    await expect(peekPendingMfa({ storage })).rejects.toMatchObject({
      code: 'ERR_STORAGE',
      cause: denied,
    })
    const rejecting: MfaStorage = { ...memoryStorage(), getItem: () => Promise.reject(denied) }
    await expect(peekPendingMfa({ storage: rejecting })).rejects.toMatchObject({
      code: 'ERR_STORAGE',
      cause: denied,
    })
  })

  it('uses sessionStorage by default, and reports ERR_STORAGE when reading it throws', async () => {
    vi.stubGlobal('sessionStorage', storageWith(snapshot()))
    await expect(peekPendingMfa()).resolves.toMatchObject({ username: ADA })
    vi.unstubAllGlobals()
    Object.defineProperty(globalThis, 'sessionStorage', {
      configurable: true,
      get() {
        throw new Error('SecurityError: sandboxed')
      },
    })
    try {
      await expect(peekPendingMfa()).rejects.toMatchObject({ code: 'ERR_STORAGE' })
    } finally {
      delete (globalThis as { sessionStorage?: unknown }).sessionStorage
    }
  })
})

describe('resumeMfa: what it accepts and refuses', () => {
  it('refuses options that are not an object, or no tokenProvider, touching nothing', async () => {
    for (const options of [null, undefined, 'x']) {
      await expect(resumeMfa(options as never)).rejects.toMatchObject({
        code: 'ERR_INVALID_ARGUMENT',
      })
    }
    const storage = storageWith(snapshot())
    for (const tokenProvider of [undefined, 'grant', {}]) {
      await expect(
        resume(storage, NONCE, { tokenProvider: tokenProvider as never }),
      ).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' })
    }
    expect(storage.map.has(KEY)).toBe(true)
    expect(sim.requests).toHaveLength(0)
  })

  it('an undefined from the storage is no pending flow, and nothing is removed', async () => {
    const removeItem = vi.fn()
    const storage: MfaStorage = {
      getItem: async () => undefined as unknown as null,
      setItem: () => undefined,
      removeItem,
    }
    await expect(resume(storage, NONCE)).rejects.toMatchObject({ code: 'ERR_NO_PENDING_FLOW' })
    expect(removeItem).not.toHaveBeenCalled()
    expect(sim.requests).toHaveLength(0)
  })

  it('removes the saved flow from the given storageKey before checking the nonce', async () => {
    const storage = memoryStorage()
    storage.map.set('app-b', JSON.stringify(snapshot()))
    storage.map.set(KEY, 'other app')
    const removeItem = vi.spyOn(storage, 'removeItem')
    await expect(resume(storage, 'f'.repeat(32), { storageKey: 'app-b' })).rejects.toMatchObject({
      code: 'ERR_STATE_MISMATCH',
    })
    expect(removeItem).toHaveBeenCalledWith('app-b')
    expect([...storage.map.keys()]).toEqual([KEY])
  })

  it('a saved flow is valid until the millisecond before expiresAt', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const storage = memoryStorage()
    const { nonce, expiresAt } = await redirectRun(storage)
    vi.setSystemTime(expiresAt - 1)
    await expect(completed(resume(storage, nonce))).resolves.toMatchObject({ username: ADA })
  })

  it('gives the tokenProvider the saved reason, and the completion the saved state', async () => {
    const storage = memoryStorage()
    const { nonce } = await redirectRun(storage)
    const saved = JSON.parse(storage.map.get(KEY) ?? '') as Record<string, unknown>
    storage.map.set(KEY, JSON.stringify({ ...saved, reason: 'recommended', state: [1, 'two'] }))
    const reasons: string[] = []
    const done = await resume(storage, nonce, {
      tokenProvider: (ctx) => (reasons.push(ctx.reason), grant(ctx)),
    })
    expect(reasons).toEqual(['recommended'])
    expect(done).toMatchObject({ status: 'complete', state: [1, 'two'] })
  })

  it('a flow saved without state completes with state undefined', async () => {
    const storage = memoryStorage()
    const { nonce } = await redirectRun(storage, {
      externalAuthenticator: (ctx) => ctx.redirect(IDP),
    })
    const done = await resume(storage, nonce)
    expect(done.status).toBe('complete')
    expect('state' in done && done.state).toBeUndefined()
  })

  it('a later redirect resolves without the earlier state', async () => {
    sim.setPolicy((ctx) =>
      ctx.event === 'begin' || ctx.done.length < 2 ? { next: ['external'] } : { complete: true },
    )
    const storage = memoryStorage()
    const { nonce } = await redirectRun(storage)
    const again = await resume(storage, nonce, {
      externalAuthenticator: (ctx) => ctx.redirect(IDP),
    })
    expect(again.status).toBe('redirect')
    expect(again).not.toHaveProperty('state')
  })

  it('checks the nonce in full, whatever its characters', async () => {
    const storage = memoryStorage()
    const { nonce } = await redirectRun(storage)
    const saved = storage.map.get(KEY) ?? ''
    // Each position matters: a difference at the first or a middle character is a mismatch.
    for (const i of [0, 15, 31]) {
      storage.map.set(KEY, saved)
      const flipped = `${nonce.slice(0, i)}${nonce[i] === 'a' ? 'b' : 'a'}${nonce.slice(i + 1)}`
      await expect(resume(storage, flipped)).rejects.toMatchObject({
        code: 'ERR_STATE_MISMATCH',
      })
    }
    storage.map.set(KEY, saved)
    await expect(resume(storage, 42 as unknown as string)).rejects.toMatchObject({
      code: 'ERR_STATE_MISMATCH',
    })
    storage.map.set(KEY, saved)
    await expect(completed(resume(storage, nonce))).resolves.toMatchObject({ username: ADA })
  })
})

describe('the nonce of a redirect', () => {
  // The stand-in crypto is installed once LoginID's session exists (inside the external step),
  // so the simulator keeps the real one, and removed as soon as the run settles (before the
  // simulator's reset, which needs it).
  const withCrypto =
    (stand: object | undefined): ExternalAuthenticator<string> =>
    (ctx) => {
      vi.stubGlobal('crypto', stand)
      return ctx.redirect(IDP)
    }

  it('is the creation time (12 hex digits), then 16 random bytes as 32 lowercase hex digits (leading zeros kept)', async () => {
    const getRandomValues = <T extends ArrayBufferView | null>(array: T): T => {
      const bytes = array as unknown as Uint8Array
      bytes.forEach((_, i) => (bytes[i] = i % 2 === 0 ? 0x0a : 0xf0))
      return array
    }
    const storage = memoryStorage()
    const before = Date.now()
    const { nonce } = await redirectRun(storage, {
      externalAuthenticator: withCrypto({ getRandomValues }),
    }).finally(() => vi.unstubAllGlobals())
    const after = Date.now()
    expect(nonce).toMatch(/^[0-9a-f]{44}$/)
    expect(nonce.slice(12)).toBe('0af0'.repeat(8))
    const created = parseInt(nonce.slice(0, 12), 16)
    expect(created).toBeGreaterThanOrEqual(before)
    expect(created).toBeLessThanOrEqual(after)
    expect(JSON.parse(storage.map.get(KEY) ?? '')).toMatchObject({ nonce })
  })

  it('fails the redirect with ERR_STORAGE when crypto or getRandomValues is missing', async () => {
    for (const stand of [{}, undefined]) {
      const storage = memoryStorage()
      await expect(
        redirectRun(storage, { externalAuthenticator: withCrypto(stand) }).finally(() =>
          vi.unstubAllGlobals(),
        ),
      ).rejects.toMatchObject({ code: 'ERR_STORAGE' })
      expect(storage.map.size).toBe(0)
    }
  })
})
