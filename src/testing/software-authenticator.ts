// Over 400 lines: a self-contained authenticator (CBOR, COSE, DER, ceremonies) kept in one unit.
/**
 * `loginid-mfa-flow/testing`: {@link createSoftwareAuthenticator}, an ES256 WebAuthn
 * authenticator in plain JavaScript (WebCrypto). It produces real `none` attestations and real
 * assertions, and plugs into `createMfaClient({ webauthn })` so Node tests run passkey flows
 * with real signatures, no browser needed.
 *
 * @module
 */
import { decodeBase64Url, encodeBase64Url } from '../internal/base64url.js'
import { MfaError } from '../shared/errors.js'
import type {
  PasskeyAssertionResult,
  PasskeyCreationOptions,
  PasskeyCreationResult,
  PasskeyRequestOptions,
  WebAuthnAdapter,
} from '../shared/protocol.js'

/**
 * How a ceremony can be made to fail, and the `DOMException` a browser would throw for it:
 *
 * | failure | DOMException name | what it stands for |
 * |---|---|---|
 * | `cancel` | `NotAllowedError` | the user dismissed the prompt, or it timed out |
 * | `abort` | `AbortError` | the ceremony was aborted |
 * | `exists` | `InvalidStateError` | (create) a passkey for this account is already on the authenticator |
 * | `unsupported` | `NotSupportedError` | no supported algorithm / authenticator |
 * | `constraint` | `ConstraintError` | resident key or user verification not possible |
 * | `security` | `SecurityError` | the rpId is not valid for the page's origin |
 * | `error` | `UnknownError` | the authenticator failed |
 */
export type SoftwareAuthenticatorFailure =
  'cancel' | 'abort' | 'exists' | 'unsupported' | 'constraint' | 'security' | 'error'

/** One ceremony, as {@link SoftwareAuthenticatorOptions.onCeremony} sees it. */
export type SoftwareAuthenticatorCeremony =
  | { type: 'create'; options: PasskeyCreationOptions }
  | { type: 'get'; options: PasskeyRequestOptions; autoFill: boolean }

/** Options of {@link createSoftwareAuthenticator}. */
export interface SoftwareAuthenticatorOptions {
  /**
   * The origin of the "page" the authenticator runs in; goes into `clientDataJSON.origin`.
   * @defaultValue `'http://localhost'` (the simulator's default expected origin)
   */
  origin?: string
  /**
   * The relying party id this authenticator accepts; options asking for another `rp.id` /
   * `rpId` fail with a `SecurityError`. Must be the origin's host or a parent domain of it.
   * @defaultValue the origin's hostname (`'localhost'`)
   */
  rpId?: string
  /**
   * The authenticator's AAGUID, as a UUID string or 16 bytes.
   * @defaultValue `'00000000-0000-0000-0000-000000000000'`
   */
  aaguid?: string | Uint8Array
  /**
   * How every ceremony ends unless {@link SoftwareAuthenticator.fail} queued another outcome:
   * `'succeed'`, or a {@link SoftwareAuthenticatorFailure} (a user who always cancels, a device
   * without passkeys, ...).
   * @defaultValue `'succeed'`
   */
  behaviour?: 'succeed' | SoftwareAuthenticatorFailure
  /**
   * Whether the authenticator verifies the user (sets the UV flag).
   * @defaultValue true
   */
  userVerified?: boolean
  /**
   * Whether credentials are backup eligible and backed up (sets the BE and BS flags), like a
   * synced passkey.
   * @defaultValue false
   */
  backupEligible?: boolean
  /**
   * `'increment'`: every assertion increments the credential's signature counter (a hardware
   * key). `'zero'`: the counter stays 0 (a synced passkey, which relying parties must accept).
   * @defaultValue `'increment'`
   */
  signCount?: 'increment' | 'zero'
  /**
   * Called before each ceremony, after the rpId check. Throw (for example
   * `new DOMException('...', 'NotAllowedError')`) to fail the ceremony; return a promise to hold
   * it (an abort of the ceremony's signal still ends it at once).
   */
  onCeremony?: (ceremony: SoftwareAuthenticatorCeremony) => void | Promise<void>
}

/** A credential held by the software authenticator (public parts only). */
export interface SoftwareCredential {
  /** Credential id, base64url. */
  id: string
  /** The relying party id it was created for. */
  rpId: string
  /** `user.id` of the registration options, base64url: returned as `userHandle`. */
  userHandle: string
  /** `user.name` of the registration options. */
  userName: string
  /** `user.displayName` of the registration options. */
  userDisplayName: string
  /** The signature counter of the last ceremony (0 after registration). */
  signCount: number
  /** DER SubjectPublicKeyInfo, base64url (what `creationResult.publicKey` carries). */
  publicKey: string
  /** COSE_Key (EC2, ES256), base64url (what LoginID's `passkeyInfo.publicKey` carries). */
  cosePublicKey: string
  /** When it was created, ms since the epoch. */
  createdAt: number
}

/** Options of {@link SoftwareAuthenticator.createCredential}. */
export interface CreateSoftwareCredentialOptions {
  /** `user.name` of the credential (the username). */
  userName: string
  /**
   * `user.displayName` of the credential.
   * @defaultValue `userName`
   */
  userDisplayName?: string
  /**
   * The WebAuthn user handle (`user.id`), base64url.
   * @defaultValue 32 random bytes
   */
  userHandle?: string
}

/** What {@link createSoftwareAuthenticator} returns: a {@link WebAuthnAdapter} you can steer. */
export interface SoftwareAuthenticator extends WebAuthnAdapter {
  /** The origin it puts in `clientDataJSON`. */
  readonly origin: string
  /** The relying party id it accepts. */
  readonly rpId: string
  /** A snapshot of the credentials it holds, oldest first. */
  readonly credentials: readonly SoftwareCredential[]
  /**
   * Make the NEXT ceremony (of the given type, or of any type) fail like a user or platform
   * would, by throwing the matching `DOMException`. Calls queue up, one outcome per ceremony.
   */
  fail(failure: SoftwareAuthenticatorFailure, options?: { ceremony?: 'create' | 'get' }): void
  /**
   * Create a credential for the authenticator's rpId without a ceremony (no hook, no queued
   * failure): a passkey the user already has, to seed a simulator user with
   * (`users: [{ username, passkeys: [credential] }]`).
   */
  createCredential(options: CreateSoftwareCredentialOptions): Promise<SoftwareCredential>
  /** Forget one credential (the user deleted the passkey). Returns whether it existed. */
  removeCredential(id: string): boolean
  /** Forget all credentials and queued failures. */
  clear(): void
}

interface StoredCredential extends SoftwareCredential {
  privateKey: CryptoKey
}

type Bytes = Uint8Array<ArrayBuffer>

const FLAG_UP = 0x01
const FLAG_UV = 0x04
const FLAG_BE = 0x08
const FLAG_BS = 0x10
const FLAG_AT = 0x40

const FAILURES: Record<SoftwareAuthenticatorFailure, [name: string, message: string]> = {
  cancel: ['NotAllowedError', 'The operation either timed out or was not allowed.'],
  abort: ['AbortError', 'The operation was aborted.'],
  exists: ['InvalidStateError', 'The authenticator already holds a credential for this account.'],
  unsupported: ['NotSupportedError', 'The authenticator does not support the requested options.'],
  constraint: ['ConstraintError', 'The authenticator cannot satisfy the requested constraints.'],
  security: ['SecurityError', 'The relying party id is not valid for this origin.'],
  error: ['UnknownError', 'The authenticator failed to process the request.'],
}

function domException(failure: SoftwareAuthenticatorFailure, message?: string): DOMException {
  const [name, text] = FAILURES[failure]
  return new DOMException(message ?? text, name)
}

// --- bytes --------------------------------------------------------------------------------------

function concat(...parts: Uint8Array[]): Bytes {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.length
  }
  return out
}

const toBase64Url = encodeBase64Url

/** Decodes base64url, tolerating standard base64 and padding; a TypeError on bad input. */
function fromBase64Url(value: string): Bytes {
  try {
    return decodeBase64Url(value)
  } catch {
    throw new TypeError('The value is not valid base64url.')
  }
}

const utf8 = (text: string): Bytes => new TextEncoder().encode(text) as Bytes

async function sha256(data: Uint8Array): Promise<Bytes> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', data as Bytes))
}

function uint32(n: number): Bytes {
  return new Uint8Array([(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff])
}

function parseAaguid(aaguid: string | Uint8Array): Bytes {
  if (typeof aaguid === 'string') {
    const hex = aaguid.replace(/-/g, '')
    if (/^[0-9a-f]{32}$/i.test(hex)) {
      return new Uint8Array(hex.match(/../g)!.map((pair) => parseInt(pair, 16)))
    }
  } else if (aaguid instanceof Uint8Array && aaguid.length === 16) {
    return new Uint8Array(aaguid)
  }
  throw new MfaError(
    'ERR_INVALID_ARGUMENT',
    'software authenticator: aaguid must be a UUID or 16 bytes',
  )
}

// --- CBOR (just what attestation objects and COSE keys need) ------------------------------------

type CborValue = number | string | Uint8Array | Map<number | string, CborValue>

function cborHead(major: number, length: number): Bytes {
  const m = major << 5
  if (length < 24) return new Uint8Array([m | length])
  if (length < 0x100) return new Uint8Array([m | 24, length])
  if (length < 0x10000) return new Uint8Array([m | 25, length >> 8, length & 0xff])
  return concat(new Uint8Array([m | 26]), uint32(length))
}

/** Encodes integers, text, byte strings and maps (in insertion order) as CBOR. */
function cbor(value: CborValue): Bytes {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || Math.abs(value) > 0xffffffff) {
      throw new RangeError('CBOR: only 32-bit integers are supported')
    }
    return value >= 0 ? cborHead(0, value) : cborHead(1, -1 - value)
  }
  if (typeof value === 'string') {
    const bytes = utf8(value)
    return concat(cborHead(3, bytes.length), bytes)
  }
  if (value instanceof Uint8Array) return concat(cborHead(2, value.length), value)
  const parts: Uint8Array[] = [cborHead(5, value.size)]
  for (const [key, item] of value) parts.push(cbor(key), cbor(item))
  return concat(...parts)
}

// --- ECDSA helpers ------------------------------------------------------------------------------

/** WebCrypto's raw `r ‖ s` (64 bytes for P-256) → the DER `SEQUENCE { r, s }` WebAuthn uses. */
function rawSignatureToDer(raw: Uint8Array): Bytes {
  const half = raw.length / 2
  const integer = (bytes: Uint8Array): Bytes => {
    let start = 0
    while (start < bytes.length - 1 && bytes[start] === 0) start++
    let body = bytes.subarray(start)
    if ((body[0] ?? 0) & 0x80) body = concat(new Uint8Array([0]), body)
    return concat(new Uint8Array([0x02, body.length]), body)
  }
  const r = integer(raw.subarray(0, half))
  const s = integer(raw.subarray(half))
  return concat(new Uint8Array([0x30, r.length + s.length]), r, s)
}

/** An uncompressed P-256 point (`04 ‖ x ‖ y`) → COSE_Key `{1: 2, 3: -7, -1: 1, -2: x, -3: y}`. */
function coseKeyFromRaw(raw: Uint8Array): Bytes {
  const key = new Map<number, CborValue>([
    [1, 2], // kty: EC2
    [3, -7], // alg: ES256
    [-1, 1], // crv: P-256
    [-2, raw.slice(1, 33)], // x
    [-3, raw.slice(33, 65)], // y
  ])
  return cbor(key)
}

// --- the authenticator --------------------------------------------------------------------------

function hostnameOf(origin: string): string {
  try {
    return new URL(origin).hostname
  } catch {
    throw new MfaError('ERR_INVALID_ARGUMENT', 'software authenticator: origin must be a URL')
  }
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('The operation was aborted.', 'AbortError')
}

/** Waits for `promise`, or throws the signal's reason as soon as it aborts. */
async function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise
  if (signal.aborted) throw abortReason(signal)
  let onAbort: (() => void) | undefined
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(abortReason(signal))
    signal.addEventListener('abort', onAbort, { once: true })
  })
  try {
    return await Promise.race([promise, aborted])
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort)
  }
}

/**
 * Create an ES256 (P-256) software authenticator: a {@link WebAuthnAdapter} for
 * `createMfaClient({ webauthn })` that makes real `none` attestations and real assertions with
 * WebCrypto (`globalThis.crypto.subtle`), so passkey flows in Node tests are verified for real by
 * the simulator (or by `@simplewebauthn/server` in your own backend tests).
 *
 * - `create` checks `rp.id` against its rpId (`SecurityError`), `excludeCredentials`
 *   (`InvalidStateError`) and `pubKeyCredParams` (`NotSupportedError` without ES256), then
 *   returns `{ attestationObject, clientDataJSON, credentialId, publicKey (DER SPKI),
 *   publicKeyAlgorithm: -7, authenticatorData, transports: ['internal'] }`, base64url.
 * - `get` picks the newest credential for the rpId allowed by `allowCredentials` (any, when it is
 *   empty or `autoFill` is set) and signs `authenticatorData ‖ sha256(clientDataJSON)`; no such
 *   credential is a `NotAllowedError`, as in a browser.
 * - Failures are thrown as the `DOMException` a browser would throw, so the client's mapping
 *   (`toPasskeyError`) is exercised; an aborted signal throws the signal's reason.
 *
 * @param options - See {@link SoftwareAuthenticatorOptions}.
 * @returns A {@link SoftwareAuthenticator}.
 *
 * @example Passkey flows in Node tests
 * ```ts
 * import { expect } from 'vitest'
 * import { createMfaClient, runMfa } from 'loginid-mfa-flow'
 * import { createManagementClient } from 'loginid-mfa-flow/server'
 * import { createLoginIDSimulator, createSoftwareAuthenticator, SIMULATOR_API_KEY } from 'loginid-mfa-flow/testing'
 *
 * const sim = createLoginIDSimulator({ requirePasskeyRegistration: true }) // served by MSW: sim.handlers
 * const management = createManagementClient({ baseUrl: sim.baseUrl, apiKey: SIMULATOR_API_KEY })
 * const authenticator = createSoftwareAuthenticator() // origin http://localhost, rpId localhost
 * const client = createMfaClient({ baseUrl: sim.baseUrl, webauthn: authenticator })
 * await runMfa({
 *   client,
 *   username: 'ada@example.com',
 *   externalAuthenticator: () => ({ password: 'checked' }),
 *   tokenProvider: async ({ username }) => (await management.grantExternalAuth(username)).token,
 * })
 * expect(authenticator.credentials).toHaveLength(1)
 * ```
 *
 * @example Make the next passkey prompt be cancelled
 * ```ts
 * import { createSoftwareAuthenticator } from 'loginid-mfa-flow/testing'
 *
 * const authenticator = createSoftwareAuthenticator()
 * authenticator.fail('cancel') // the next ceremony throws DOMException NotAllowedError
 * ```
 */
export function createSoftwareAuthenticator(
  options: SoftwareAuthenticatorOptions = {},
): SoftwareAuthenticator {
  const {
    origin = 'http://localhost',
    aaguid = '00000000-0000-0000-0000-000000000000',
    behaviour = 'succeed',
    userVerified = true,
    backupEligible = false,
    signCount: signCountMode = 'increment',
    onCeremony,
  } = options
  const host = hostnameOf(origin)
  const rpId = options.rpId ?? host
  if (host !== rpId && !host.endsWith(`.${rpId}`)) {
    throw new MfaError(
      'ERR_INVALID_ARGUMENT',
      `software authenticator: rpId "${rpId}" is not valid for origin ${origin}`,
    )
  }
  const aaguidBytes = parseAaguid(aaguid)
  const credentials: StoredCredential[] = []
  let queue: { failure: SoftwareAuthenticatorFailure; ceremony?: 'create' | 'get' }[] = []
  const backupFlags = backupEligible ? FLAG_BE | FLAG_BS : 0
  const uvFlag = userVerified ? FLAG_UV : 0

  /** The rpId check, the hook, then the queued or standing outcome. */
  async function prologue(ceremony: SoftwareAuthenticatorCeremony, signal?: AbortSignal) {
    if (signal?.aborted) throw abortReason(signal)
    const requested = ceremony.type === 'create' ? ceremony.options.rp?.id : ceremony.options.rpId
    if (requested !== undefined && requested !== '' && requested !== rpId) {
      throw domException('security', `The relying party id "${requested}" is not valid here.`)
    }
    if (onCeremony) await untilAborted(Promise.resolve(onCeremony(ceremony)), signal)
    const index = queue.findIndex((q) => q.ceremony === undefined || q.ceremony === ceremony.type)
    if (index >= 0) {
      const [queued] = queue.splice(index, 1)
      throw domException(queued!.failure)
    }
    if (behaviour !== 'succeed') throw domException(behaviour)
  }

  function decode(value: unknown, field: string): Bytes {
    if (typeof value !== 'string') throw new TypeError(`${field} must be a base64url string.`)
    return fromBase64Url(value)
  }

  function clientData(type: 'webauthn.create' | 'webauthn.get', challenge: unknown): Bytes {
    // A browser puts base64url (no padding) of the challenge bytes in clientDataJSON.
    const encoded = toBase64Url(decode(challenge, 'challenge'))
    return utf8(JSON.stringify({ type, challenge: encoded, origin, crossOrigin: false }))
  }

  /** A new ES256 key pair and its credential, plus the attested `authenticatorData`. */
  async function makeCredential(
    user: Pick<SoftwareCredential, 'userHandle' | 'userName' | 'userDisplayName'>,
  ): Promise<{ credential: StoredCredential; authData: Bytes }> {
    const keyPair = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
      'sign',
      'verify',
    ])) as CryptoKeyPair
    const rawPublicKey = new Uint8Array(await crypto.subtle.exportKey('raw', keyPair.publicKey))
    const spki = new Uint8Array(await crypto.subtle.exportKey('spki', keyPair.publicKey))
    const coseKey = coseKeyFromRaw(rawPublicKey)
    const credentialId = crypto.getRandomValues(new Uint8Array(32))
    const authData = concat(
      await sha256(utf8(rpId)),
      new Uint8Array([FLAG_UP | uvFlag | backupFlags | FLAG_AT]),
      uint32(0),
      aaguidBytes,
      new Uint8Array([credentialId.length >> 8, credentialId.length & 0xff]),
      credentialId,
      coseKey,
    )
    const credential: StoredCredential = {
      id: toBase64Url(credentialId),
      rpId,
      ...user,
      signCount: 0,
      publicKey: toBase64Url(spki),
      cosePublicKey: toBase64Url(coseKey),
      createdAt: Date.now(),
      privateKey: keyPair.privateKey,
    }
    return { credential, authData }
  }

  async function create(
    creationOptions: PasskeyCreationOptions,
    signal?: AbortSignal,
  ): Promise<PasskeyCreationResult> {
    await prologue({ type: 'create', options: creationOptions }, signal)
    const params = creationOptions.pubKeyCredParams ?? []
    if (params.length > 0 && !params.some((p) => p.type === 'public-key' && p.alg === -7)) {
      throw domException(
        'unsupported',
        'None of the requested algorithms is supported (ES256 only).',
      )
    }
    const excluded = new Set((creationOptions.excludeCredentials ?? []).map((c) => c.id))
    if (credentials.some((c) => c.rpId === rpId && excluded.has(c.id))) throw domException('exists')
    const userHandle = toBase64Url(decode(creationOptions.user?.id, 'user.id'))
    const clientDataJSON = clientData('webauthn.create', creationOptions.challenge)
    const { credential, authData } = await makeCredential({
      userHandle,
      userName: String(creationOptions.user.name ?? ''),
      userDisplayName: String(creationOptions.user.displayName ?? ''),
    })
    const attestationObject = cbor(
      new Map<string, CborValue>([
        ['fmt', 'none'],
        ['attStmt', new Map()],
        ['authData', authData],
      ]),
    )
    if (signal?.aborted) throw abortReason(signal)
    credentials.push(credential)
    const id = credential.id
    return {
      attestationObject: toBase64Url(attestationObject),
      clientDataJSON: toBase64Url(clientDataJSON),
      credentialId: id,
      publicKey: credential.publicKey,
      publicKeyAlgorithm: -7,
      authenticatorData: toBase64Url(authData),
      transports: ['internal'],
    }
  }

  async function get(
    requestOptions: PasskeyRequestOptions,
    signal?: AbortSignal,
    extra: { autoFill?: boolean } = {},
  ): Promise<PasskeyAssertionResult> {
    const autoFill = extra.autoFill === true
    await prologue({ type: 'get', options: requestOptions, autoFill }, signal)
    const allowed = autoFill ? [] : (requestOptions.allowCredentials ?? []).map((c) => c.id)
    const candidates = credentials.filter(
      (c) => c.rpId === rpId && (allowed.length === 0 || allowed.includes(c.id)),
    )
    const credential = candidates[candidates.length - 1]
    if (!credential) throw domException('cancel', 'No passkey for this site is available.')
    const clientDataJSON = clientData('webauthn.get', requestOptions.challenge)

    const signCount = signCountMode === 'increment' ? credential.signCount + 1 : 0
    const authData = concat(
      await sha256(utf8(rpId)),
      new Uint8Array([FLAG_UP | uvFlag | backupFlags]),
      uint32(signCount),
    )
    const signed = concat(authData, await sha256(clientDataJSON))
    const raw = new Uint8Array(
      await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, credential.privateKey, signed),
    )
    if (signal?.aborted) throw abortReason(signal)
    credential.signCount = signCount
    return {
      authenticatorData: toBase64Url(authData),
      clientDataJSON: toBase64Url(clientDataJSON),
      credentialId: credential.id,
      signature: toBase64Url(rawSignatureToDer(raw)),
      userHandle: credential.userHandle,
    }
  }

  return {
    origin,
    rpId,
    get credentials() {
      return credentials.map(({ privateKey: _privateKey, ...rest }) => ({ ...rest }))
    },
    create,
    get,
    fail(failure, failOptions = {}) {
      if (!(failure in FAILURES)) {
        throw new MfaError(
          'ERR_INVALID_ARGUMENT',
          `software authenticator: unknown failure "${failure}"`,
        )
      }
      queue.push({ failure, ...(failOptions.ceremony && { ceremony: failOptions.ceremony }) })
    },
    async createCredential({ userName, userDisplayName = userName, userHandle }) {
      if (typeof userName !== 'string' || userName === '') {
        throw new MfaError(
          'ERR_INVALID_ARGUMENT',
          'software authenticator: userName must be a non-empty string',
        )
      }
      const handle =
        userHandle === undefined
          ? toBase64Url(crypto.getRandomValues(new Uint8Array(32)))
          : toBase64Url(decode(userHandle, 'userHandle'))
      const { credential } = await makeCredential({
        userHandle: handle,
        userName,
        userDisplayName,
      })
      credentials.push(credential)
      const { privateKey: _privateKey, ...rest } = credential
      return rest
    },
    removeCredential(id) {
      const index = credentials.findIndex((c) => c.id === id)
      if (index < 0) return false
      credentials.splice(index, 1)
      return true
    },
    clear() {
      credentials.length = 0
      queue = []
    },
  }
}
