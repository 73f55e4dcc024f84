// The two storage options, each named for what it holds (issue 12 §2): createMfaClient's
// `stateStorage` (the client's session and device id) and runMfa / resumeMfa / peekPendingMfa's
// `pendingFlowStorage` (a flow suspended by ctx.redirect). `storage` is a deprecated alias of each;
// the new name wins when both are given.
import { describe, expect, it } from 'vitest'
import { serveSimulator } from '../support/serve-simulator.js'
import { createMfaClient, peekPendingMfa, runMfa } from '../../src/index.js'
import { createLoginIDSimulator } from '../../src/testing.js'
import { memoryStorage } from './helpers.js'

const sim = createLoginIDSimulator()
serveSimulator(sim)
const sessionKey = `LoginID_${sim.appId}_mfa-session`

describe('createMfaClient({ stateStorage })', () => {
  it('keeps the session there, and wins over the deprecated storage', async () => {
    const state = memoryStorage()
    const old = memoryStorage()
    const client = createMfaClient({ baseUrl: sim.baseUrl, stateStorage: state, storage: old })
    await client.beginFlow('ada@example.com')
    expect(JSON.parse(state.map.get(sessionKey) ?? '{}')).toMatchObject({
      username: 'ada@example.com',
    })
    expect(old.map.size).toBe(0)
  })

  it('still takes the deprecated storage alone', async () => {
    const old = memoryStorage()
    await createMfaClient({ baseUrl: sim.baseUrl, storage: old }).beginFlow('bo@example.com')
    expect(old.map.has(sessionKey)).toBe(true)
  })

  it('checks stateStorage like storage', () => {
    expect(() =>
      createMfaClient({ baseUrl: sim.baseUrl, stateStorage: { getItem: () => null } as never }),
    ).toThrow(
      expect.objectContaining({
        code: 'ERR_INVALID_ARGUMENT',
        message: expect.stringContaining('stateStorage'),
      }),
    )
  })
})

describe('runMfa({ pendingFlowStorage })', () => {
  it('saves a suspended flow there (not in the deprecated storage) and peekPendingMfa reads it', async () => {
    const pending = memoryStorage()
    const old = memoryStorage()
    const result = await runMfa({
      client: createMfaClient({ baseUrl: sim.baseUrl }),
      username: 'cy@example.com',
      externalAuthenticator: (ctx) => ctx.redirect('https://idp.example/', { returnTo: '/a' }),
      tokenProvider: () => 'unused',
      pendingFlowStorage: pending,
      storage: old,
    })
    expect(result.status).toBe('redirect')
    expect(pending.map.has('loginid-mfa-flow:pending')).toBe(true)
    expect(old.map.size).toBe(0)
    await expect(peekPendingMfa({ pendingFlowStorage: pending })).resolves.toMatchObject({
      username: 'cy@example.com',
      state: { returnTo: '/a' },
    })
  })
})
