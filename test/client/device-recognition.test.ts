// @vitest-environment happy-dom
// Device recognition on par with LoginIDMfa 3.5.0 (issue 9 §3), in a DOM environment with
// localStorage and an IndexedDB implementation (fake-indexeddb): the device id persisted as
// `LoginID_<appId>_device-id`, and the Trust ID (`trustItems.auth`) from IndexedDB
// `loginid-trust-store`, reusing records the SDK wrote.
import 'fake-indexeddb/auto'
import { IDBFactory } from 'fake-indexeddb'
import { beforeEach, describe, expect, it } from 'vitest'
import { createMfaClient, runMfa } from '../../src/index.js'
import type { MfaBeginRequestBody, MfaClient } from '../../src/index.js'
import { createLoginIDSimulator, createSoftwareAuthenticator } from '../../src/testing.js'
import { decodeBase64UrlText, decodeBase64Url } from '../../src/internal/base64url.js'

const sim = createLoginIDSimulator({ requirePasskeyRegistration: true })
const bodies: MfaBeginRequestBody[] = []
const simFetch: typeof fetch = async (input, init) => {
  const request = new Request(input, init)
  if (request.url.endsWith('/mfa/begin')) bodies.push((await request.clone().json()) as never)
  return sim.handle(request)
}
const authenticator = createSoftwareAuthenticator()
const deviceKey = `LoginID_${sim.appId}_device-id`
let n = 0

beforeEach(() => {
  bodies.length = 0
  localStorage.clear()
  globalThis.indexedDB = new IDBFactory()
})

/** A client as a fresh page load makes it. */
const client = (trustId?: boolean): MfaClient =>
  createMfaClient({
    baseUrl: sim.baseUrl,
    fetch: simFetch,
    webauthn: authenticator,
    ...(trustId !== undefined && { trustId }),
  })

const signUp = (username: string, trustId?: boolean) =>
  runMfa({
    client: client(trustId),
    username,
    externalAuthenticator: () => true,
    tokenProvider: ({ username: user }) => sim.grantExternalAuth(user),
  })

/** What the next run is offered at begin. */
async function offered(username: string, trustId?: boolean): Promise<string[]> {
  const result = await client(trustId).beginFlow(username)
  return result.remainingFactors.map((f) => f.type)
}

describe('the device id', () => {
  it('is kept in localStorage by default and sent after a page load', async () => {
    const username = `dev-${n++}@example.com`
    const done = await signUp(username)
    expect(done.status).toBe('complete')
    const saved = localStorage.getItem(deviceKey)
    expect(saved).toBeTruthy()
    await client().beginFlow(username)
    expect(bodies.at(-1)?.deviceInfo?.deviceId).toBe(saved)
  })

  it('reads an id LoginIDMfa wrote', async () => {
    localStorage.setItem(deviceKey, 'sdk-device-7')
    await client().beginFlow(`dev-${n++}@example.com`)
    expect(bodies.at(-1)?.deviceInfo?.deviceId).toBe('sdk-device-7')
  })

  it('stays out of localStorage when stateStorage is given', async () => {
    const map = new Map<string, string>()
    const stateStorage = {
      getItem: (k: string) => map.get(k) ?? null,
      setItem: (k: string, v: string) => void map.set(k, v),
      removeItem: (k: string) => void map.delete(k),
    }
    await runMfa({
      client: createMfaClient({
        baseUrl: sim.baseUrl,
        fetch: simFetch,
        webauthn: authenticator,
        stateStorage,
      }),
      username: `dev-${n++}@example.com`,
      externalAuthenticator: () => true,
      tokenProvider: ({ username: user }) => sim.grantExternalAuth(user),
    })
    expect(localStorage.getItem(deviceKey)).toBeNull()
    expect(map.get(deviceKey)).toBeTruthy()
  })
})

describe('the Trust ID', () => {
  it('is an ES256 JWS with the public JWK in its header and {id, exp} 60 s ahead', async () => {
    const before = Math.floor(Date.now() / 1000)
    await client().beginFlow(`trust-${n++}@example.com`)
    const auth = bodies.at(-1)?.trustItems?.auth
    expect(auth).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/)
    const [h, p, s] = (auth as string).split('.') as [string, string, string]
    const header = JSON.parse(decodeBase64UrlText(h)) as { alg: string; jwk: JsonWebKey }
    const payload = JSON.parse(decodeBase64UrlText(p)) as { id: string; exp: number }
    expect(header.alg).toBe('ES256')
    expect(payload.id).toMatch(/^[A-Z0-9]{25}$/)
    expect(payload.exp - before).toBeGreaterThanOrEqual(59)
    expect(payload.exp - before).toBeLessThanOrEqual(61)
    const key = await crypto.subtle.importKey(
      'jwk',
      header.jwk,
      { name: 'ECDSA', namedCurve: 'P-256' },
      false,
      ['verify'],
    )
    const valid = await crypto.subtle.verify(
      { name: 'ECDSA', hash: 'SHA-256' },
      key,
      decodeBase64Url(s),
      new TextEncoder().encode(`${h}.${p}`),
    )
    expect(valid).toBe(true)
  })

  it('offers a registered user passkey:auth on the next run although the device id is gone', async () => {
    const username = `trust-${n++}@example.com`
    expect((await signUp(username)).status).toBe('complete')
    localStorage.clear() // the device id is gone; the IndexedDB key is not
    expect(await offered(username)).toContain('passkey:auth')
    // Without the Trust ID the same device is a new device: the test sees the difference.
    localStorage.clear()
    expect(await offered(username, false)).toEqual(['external'])
  })

  it('reuses a record in the SDK layout (same key, same id)', async () => {
    const username = `trust-${n++}@example.com`
    const keyPair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, [
      'sign',
      'verify',
    ])
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const req = indexedDB.open('loginid-trust-store', 1)
      req.onupgradeneeded = () => {
        const store = req.result.createObjectStore('LoginID_trust-id', { keyPath: 'id' })
        store.createIndex('byUsername', 'username')
        store.createIndex('byAppIdAndUsername', ['appId', 'username'])
      }
      req.onsuccess = () => resolve(req.result)
      req.onerror = () => reject(req.error)
    })
    await new Promise((resolve, reject) => {
      const tx = db.transaction('LoginID_trust-id', 'readwrite')
      tx.objectStore('LoginID_trust-id').put({
        id: 'SDKID0000000000000000000A',
        appId: sim.appId,
        username,
        keyPair,
      })
      tx.oncomplete = resolve
      tx.onerror = reject
    })
    db.close()
    const jwk = await crypto.subtle.exportKey('jwk', keyPair.publicKey)
    await client().beginFlow(username)
    const [h, p] = (bodies.at(-1)?.trustItems?.auth ?? '').split('.') as [string, string]
    expect((JSON.parse(decodeBase64UrlText(h)) as { jwk: JsonWebKey }).jwk).toMatchObject({
      x: jwk.x,
      y: jwk.y,
    })
    expect((JSON.parse(decodeBase64UrlText(p)) as { id: string }).id).toBe(
      'SDKID0000000000000000000A',
    )
  })

  it('is left out with a checkout id, a transaction payload, or trustId: false', async () => {
    const username = `trust-${n++}@example.com`
    await client().beginFlow(username, { checkoutId: 'chk-1' })
    expect(bodies.at(-1)?.trustItems).toEqual({ merchant: 'chk-1' })
    await client().beginFlow(username, { txPayload: 'pay me' })
    expect(bodies.at(-1)?.trustItems).toEqual({})
    await client(false).beginFlow(username)
    expect(bodies.at(-1)?.trustItems).toEqual({})
  })

  it('is absent without IndexedDB, and the flow goes on', async () => {
    // @ts-expect-error: a browser without IndexedDB
    delete globalThis.indexedDB
    await client().beginFlow(`trust-${n++}@example.com`)
    expect(bodies.at(-1)?.trustItems).toEqual({})
  })
})
