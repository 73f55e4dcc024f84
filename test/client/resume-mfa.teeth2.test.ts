// Tests with teeth for the resume path, second pass (issue 16): what the mutation run of
// resumeMfa, peekPendingMfa and the saved snapshot still let through. Each test fails with the
// named breakage in place.
import { afterEach, describe, expect, it, vi } from 'vitest'
import { serveSimulator } from '../support/serve-simulator.js'
import { createMfaClient, peekPendingMfa, resumeMfa } from '../../src/index.js'
import type { MfaStorage } from '../../src/index.js'
import { createLoginIDSimulator } from '../../src/testing.js'
import { memoryStorage, PENDING_KEY, pendingNonce, pendingSnapshot } from './helpers.js'

const ADA = 'ada@example.com'
const KEY = PENDING_KEY
const NONCE = pendingNonce()
const sim = createLoginIDSimulator({ users: [{ username: ADA, email: ADA }] })
serveSimulator(sim)
afterEach(() => {
  vi.useRealTimers()
})

// No steps and no app state; the rest as `ctx.redirect` saves it.
const snapshot = (extra: Record<string, unknown> = {}): string =>
  JSON.stringify(pendingSnapshot(NONCE, { steps: [], state: undefined, ...extra }))

const resume = (storage: MfaStorage | undefined) =>
  resumeMfa({
    client: createMfaClient({ baseUrl: sim.baseUrl }),
    ...(storage && { pendingFlowStorage: storage }),
    proof: 'idp-code',
    nonce: NONCE,
    tokenProvider: ({ username }) => sim.grantExternalAuth(username),
  })

describe('a saved flow is taken only when every entry is valid', () => {
  // Breakage: `factors.every(...)` → `.some(...)`, `steps.every` → `.some`.
  it.each([
    [
      'a valid and an unknown factor',
      { factors: [{ type: 'external', label: 'x' }, { type: 'face:scan' }] },
    ],
    ['a valid and a null factor', { factors: [{ type: 'external', label: 'x' }, null] }],
    [
      'a valid and an unknown step',
      {
        steps: [
          { action: 'external', attempt: 1 },
          { action: 'face:scan', attempt: 1 },
        ],
      },
    ],
  ])('%s: peek sees none, resume sends nothing', async (_, extra) => {
    const storage = memoryStorage()
    storage.map.set(KEY, snapshot(extra))
    await expect(peekPendingMfa({ pendingFlowStorage: storage })).resolves.toBeNull()
    await expect(resume(storage)).rejects.toMatchObject({ code: 'ERR_NO_PENDING_FLOW' })
    expect(sim.requests).toHaveLength(0)
  })
})

describe('peekPendingMfa checks its options and leaves nothing behind', () => {
  it('refuses a signal that is not an AbortSignal, before reading the storage', async () => {
    const getItem = vi.fn(() => snapshot())
    const storage: MfaStorage = { getItem, setItem: vi.fn(), removeItem: vi.fn() }
    for (const signal of [{}, 'abort', 1]) {
      await expect(
        peekPendingMfa({ pendingFlowStorage: storage, signal: signal as unknown as AbortSignal }),
      ).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' })
    }
    expect(getItem).not.toHaveBeenCalled()
    // A real one is taken.
    await expect(
      peekPendingMfa({ pendingFlowStorage: storage, signal: new AbortController().signal }),
    ).resolves.toMatchObject({ username: ADA })
  })

  it('clears its read deadline once the storage answers (no timer left)', async () => {
    vi.useFakeTimers()
    const storage = memoryStorage()
    storage.map.set(KEY, snapshot())
    await expect(
      peekPendingMfa({ pendingFlowStorage: storage, timeoutMs: 60_000 }),
    ).resolves.toMatchObject({ username: ADA })
    expect(vi.getTimerCount()).toBe(0)
  })

  it('clears its read deadline when the storage fails too', async () => {
    vi.useFakeTimers()
    const storage: MfaStorage = {
      getItem: () => Promise.reject(new Error('quota')),
      setItem: vi.fn(),
      removeItem: vi.fn(),
    }
    await expect(
      peekPendingMfa({ pendingFlowStorage: storage, timeoutMs: 60_000 }),
    ).rejects.toMatchObject({ code: 'ERR_STORAGE' })
    expect(vi.getTimerCount()).toBe(0)
  })
})

describe('resumeMfa without a storage', () => {
  it('is ERR_STORAGE where there is no sessionStorage, and sends nothing', async () => {
    vi.stubGlobal('sessionStorage', undefined)
    await expect(resume(undefined)).rejects.toMatchObject({ code: 'ERR_STORAGE' })
    await expect(peekPendingMfa()).rejects.toMatchObject({ code: 'ERR_STORAGE' })
    expect(sim.requests).toHaveLength(0)
  })

  it('uses sessionStorage when there is one', async () => {
    const storage = memoryStorage()
    storage.map.set(KEY, snapshot())
    vi.stubGlobal('sessionStorage', storage)
    await expect(peekPendingMfa()).resolves.toMatchObject({ username: ADA })
  })
})

describe('nothing saved', () => {
  it.each([
    ['null', null],
    ['undefined', undefined],
  ])(
    'a %s from the storage: ERR_NO_PENDING_FLOW, nothing removed, nothing sent',
    async (_, value) => {
      const removeItem = vi.fn()
      const storage: MfaStorage = {
        getItem: () => value as unknown as null,
        setItem: vi.fn(),
        removeItem,
      }
      await expect(resume(storage)).rejects.toMatchObject({ code: 'ERR_NO_PENDING_FLOW' })
      expect(removeItem).not.toHaveBeenCalled()
      expect(sim.requests).toHaveLength(0)
    },
  )
})
