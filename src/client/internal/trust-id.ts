// Internal: the Trust ID `LoginIDMfa` (websdk3 3.5.0) sends as `trustItems.auth` on every
// `beginFlow` (PROTOCOL.md b.1, b.2): a non-extractable ECDSA P-256 key per (appId, username) in
// IndexedDB `loginid-trust-store`, store `LoginID_trust-id`, records `{id, appId, username,
// keyPair}`; the value is a JWS with header `{alg: 'ES256', jwk}` and payload `{id, exp}` (exp 60 s
// ahead). Records the SDK wrote are reused, so LoginID recognises a device that switches clients.
// Best effort: without IndexedDB or WebCrypto, or on any failure, there is no Trust ID.
import { encodeBase64Url, encodeBase64UrlText } from '../../internal/base64url.js'

const DB = 'loginid-trust-store'
const STORE = 'LoginID_trust-id'
/** How long opening and reading the store may take before the flow goes on without a Trust ID. */
const BUDGET_MS = 1_500

interface TrustRecord {
  id: string
  appId: string
  username: string
  keyPair: CryptoKeyPair
}

const request = <T>(req: IDBRequest<T>): Promise<T> =>
  new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result)
    req.onerror = () => reject(req.error)
  })

/** 25 characters of [A-Z0-9], as the SDK's ids. */
function randomId(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'
  const bytes = crypto.getRandomValues(new Uint8Array(25))
  let id = ''
  for (const b of bytes) id += alphabet[b % alphabet.length]
  return id
}

function openStore(idb: IDBFactory): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = idb.open(DB)
    req.onupgradeneeded = () => {
      // A new database: the SDK's layout (keyPath id, indexes on username, appId and both).
      const store = req.result.createObjectStore(STORE, { keyPath: 'id' })
      store.createIndex('username', 'username')
      store.createIndex('appId', 'appId')
      store.createIndex('appId_username', ['appId', 'username'])
    }
    req.onsuccess = () => resolve(req.result)
    req.onerror = () => reject(req.error)
    req.onblocked = () => reject(req.error) // any failure means no Trust ID
  })
}

async function findOrCreate(
  idb: IDBFactory,
  appId: string,
  username: string,
): Promise<TrustRecord> {
  const db = await openStore(idb)
  try {
    // Read every record and match the fields, so whatever the SDK named its indexes, its records count.
    const all = (await request(
      db.transaction(STORE, 'readonly').objectStore(STORE).getAll(),
    )) as Partial<TrustRecord>[]
    const found = all.find(
      (r) =>
        r?.appId === appId &&
        r.username === username &&
        typeof r.id === 'string' &&
        r.keyPair?.privateKey !== undefined,
    )
    if (found) return found as TrustRecord
    const keyPair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, [
      'sign',
      'verify',
    ])
    const record: TrustRecord = { id: randomId(), appId, username, keyPair }
    await request(db.transaction(STORE, 'readwrite').objectStore(STORE).put(record))
    return record
  } finally {
    db.close()
  }
}

async function sign(record: TrustRecord): Promise<string> {
  const { kty, crv, x, y } = await crypto.subtle.exportKey('jwk', record.keyPair.publicKey)
  const header = encodeBase64UrlText(JSON.stringify({ alg: 'ES256', jwk: { kty, crv, x, y } }))
  const payload = encodeBase64UrlText(
    JSON.stringify({ id: record.id, exp: Math.floor(Date.now() / 1000) + 60 }),
  )
  const signature = await crypto.subtle.sign(
    { name: 'ECDSA', hash: 'SHA-256' },
    record.keyPair.privateKey,
    new TextEncoder().encode(`${header}.${payload}`),
  )
  return `${header}.${payload}.${encodeBase64Url(new Uint8Array(signature))}`
}

/**
 * The Trust ID JWS for (appId, username), creating its key on first use; undefined where there
 * is no IndexedDB or WebCrypto, or when anything fails or takes longer than 1.5 s.
 */
export async function trustId(appId: string, username: string): Promise<string | undefined> {
  let idb: IDBFactory | undefined
  try {
    idb = (globalThis as { indexedDB?: IDBFactory }).indexedDB
  } catch {
    return undefined // a sandboxed frame throws on access
  }
  if (!idb || typeof crypto === 'undefined' || !crypto.subtle) return undefined
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), BUDGET_MS)
  })
  try {
    return await Promise.race([findOrCreate(idb, appId, username).then(sign), late])
  } catch {
    return undefined
  } finally {
    clearTimeout(timer)
  }
}
