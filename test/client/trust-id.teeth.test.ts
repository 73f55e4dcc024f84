// @vitest-environment happy-dom
// Tests with teeth for the built-in client's Trust ID (issue 16), through createMfaClient's
// beginFlow with a scripted fetch and fake-indexeddb: the IndexedDB layout LoginIDMfa 3.5.0 reads,
// which records are reused, and that a slow or broken IndexedDB never holds the flow up.
import 'fake-indexeddb/auto'
import { IDBFactory } from 'fake-indexeddb'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createMfaClient } from '../../src/index.js'
import { decodeBase64UrlText } from '../../src/internal/base64url.js'

const BASE = 'https://tenant.api.loginid.io'
const DB = 'loginid-trust-store'
const STORE = 'LoginID_trust-id'
const bodies: { trustItems?: { auth?: string } }[] = []
const fetchBegin: typeof fetch = async (_input, init) => {
  bodies.push(JSON.parse(String(init?.body)) as never)
  return new Response(
    JSON.stringify({
      msgCode: 'more',
      session: 'sess-1',
      next: [{ action: { name: 'external' } }],
    }),
    { status: 401, headers: { 'content-type': 'application/json' } },
  )
}
const client = (appId?: string) =>
  createMfaClient({ baseUrl: BASE, fetch: fetchBegin, ...(appId && { appId }) })

/** The Trust ID the last begin sent: its JWS payload and header, or undefined. */
function lastTrust(): { id: string; exp: number; x: string } | undefined {
  const auth = bodies.at(-1)?.trustItems?.auth
  if (auth === undefined) return undefined
  const [h, p] = auth.split('.') as [string, string]
  const header = JSON.parse(decodeBase64UrlText(h)) as { jwk: { x: string } }
  return { ...(JSON.parse(decodeBase64UrlText(p)) as { id: string; exp: number }), x: header.jwk.x }
}

function openDb(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB)
    req.onsuccess = () => resolve(req.result)
    req.onerror = () => reject(req.error)
  })
}

async function put(record: Record<string, unknown>): Promise<void> {
  const db = await openDb()
  await new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, 'readwrite')
    tx.objectStore(STORE).put(record)
    tx.oncomplete = resolve
    tx.onerror = reject
  })
  db.close()
}

let n = 0
beforeEach(() => {
  bodies.length = 0
  globalThis.indexedDB = new IDBFactory()
})
afterEach(() => {
  vi.restoreAllMocks()
  vi.unstubAllGlobals()
  vi.useRealTimers()
})

describe('the Trust ID store', () => {
  it('is created in the layout LoginIDMfa reads (keyPath id, its three indexes)', async () => {
    await client().beginFlow(`t${n++}@example.com`)
    expect(lastTrust()?.id).toMatch(/^[A-Z0-9]{25}$/)
    const db = await openDb()
    const store = db.transaction(STORE, 'readonly').objectStore(STORE)
    expect(store.keyPath).toBe('id')
    expect([...store.indexNames].sort()).toEqual(['appId', 'appId_username', 'username'])
    expect(store.index('username').keyPath).toBe('username')
    expect(store.index('appId').keyPath).toBe('appId')
    expect(store.index('appId_username').keyPath).toEqual(['appId', 'username'])
    db.close()
  })

  it('signs with one key per (appId, username), 60 s ahead', async () => {
    vi.spyOn(Date, 'now').mockReturnValue(1_700_000_000_999)
    const user = `t${n++}@example.com`
    await client().beginFlow(user)
    const first = lastTrust()!
    expect(first.exp).toBe(1_700_000_060)
    await client().beginFlow(user)
    expect(lastTrust()).toEqual(first)
    await client().beginFlow(`other-${user}`)
    expect(lastTrust()!.id).not.toBe(first.id)
    await client('another-app').beginFlow(user)
    const other = lastTrust()!
    expect(other.id).not.toBe(first.id)
    expect(other.x).not.toBe(first.x)
  })

  it.each<[string, Record<string, unknown>]>([
    ['without a private key', { keyPair: {} }],
    ['without a key pair', {}],
    ['with an id that is not a string', { id: 42 }],
  ])('does not reuse a record %s', async (_, fields) => {
    const user = `t${n++}@example.com`
    await client().beginFlow('seed@example.com') // creates the store
    await put({ id: 'BROKEN00000000000000000000', appId: 'tenant', username: user, ...fields })
    await client().beginFlow(user)
    expect(lastTrust()?.id).toMatch(/^[A-Z0-9]{25}$/)
    expect(lastTrust()?.id).not.toBe('BROKEN00000000000000000000')
  })
})

describe('a Trust ID never holds the flow up', () => {
  it('an IndexedDB that never answers: begin goes after 1.5 s without one', async () => {
    vi.useFakeTimers()
    vi.stubGlobal('indexedDB', { open: () => ({}) })
    const begun = client().beginFlow(`t${n++}@example.com`)
    await vi.advanceTimersByTimeAsync(1_499)
    expect(bodies).toHaveLength(0)
    await vi.advanceTimersByTimeAsync(1)
    await begun
    expect(bodies).toHaveLength(1)
    expect(bodies[0]!.trustItems).toEqual({})
  })

  it.each(['onerror', 'onblocked'] as const)(
    'an open that fires %s: no Trust ID',
    async (event) => {
      vi.stubGlobal('indexedDB', {
        open: () => {
          const req: Record<string, unknown> = { error: new Error('denied') }
          setTimeout(() => (req[event] as () => void)(), 0)
          return req
        },
      })
      await client().beginFlow(`t${n++}@example.com`)
      expect(bodies[0]!.trustItems).toEqual({})
    },
  )

  it('an indexedDB getter that throws (a sandboxed frame): no Trust ID', async () => {
    Object.defineProperty(globalThis, 'indexedDB', {
      configurable: true,
      get() {
        throw new DOMException('denied', 'SecurityError')
      },
    })
    try {
      await client().beginFlow(`t${n++}@example.com`)
      expect(bodies[0]!.trustItems).toEqual({})
    } finally {
      Object.defineProperty(globalThis, 'indexedDB', {
        configurable: true,
        writable: true,
        value: new IDBFactory(),
      })
    }
  })

  it('no WebCrypto: no Trust ID', async () => {
    vi.stubGlobal('crypto', { getRandomValues: crypto.getRandomValues.bind(crypto) })
    await client().beginFlow(`t${n++}@example.com`)
    expect(bodies[0]!.trustItems).toEqual({})
  })
})

describe('the Trust ID key', () => {
  it('is not extractable, and the store is closed after use', async () => {
    await client().beginFlow(`t${n++}@example.com`)
    const db = await openDb()
    const records = await new Promise<{ keyPair: CryptoKeyPair }[]>((resolve) => {
      const req = db.transaction(STORE, 'readonly').objectStore(STORE).getAll()
      req.onsuccess = () => resolve(req.result as never)
    })
    db.close()
    expect(records[0]!.keyPair.privateKey.extractable).toBe(false)
    // Every connection the client opened is closed: the database can be deleted at once.
    const blocked = vi.fn()
    await new Promise<void>((resolve, reject) => {
      const req = indexedDB.deleteDatabase(DB)
      req.onblocked = blocked
      req.onsuccess = () => resolve()
      req.onerror = () => reject(req.error)
    })
    expect(blocked).not.toHaveBeenCalled()
  })

  it('a record whose id is not a string is not reused, even with a key', async () => {
    const user = `t${n++}@example.com`
    await client().beginFlow('seed@example.com')
    const keyPair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, [
      'sign',
      'verify',
    ])
    await put({ id: 42, appId: 'tenant', username: user, keyPair })
    await client().beginFlow(user)
    expect(lastTrust()?.id).toMatch(/^[A-Z0-9]{25}$/)
  })

  it('an open that fails does not wait for the budget', async () => {
    vi.useFakeTimers()
    vi.stubGlobal('indexedDB', {
      open: () => {
        const req: Record<string, unknown> = { error: new Error('denied') }
        setTimeout(() => (req.onerror as () => void)(), 1)
        return req
      },
    })
    const begun = client().beginFlow(`t${n++}@example.com`)
    await vi.advanceTimersByTimeAsync(10)
    await begun
    expect(bodies).toHaveLength(1)
  })
})
