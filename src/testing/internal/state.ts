// Internal (loginid-mfa-flow/testing): the simulator's resolved config and its mutable stores
// (users, sessions, grants, OTP inboxes, the signing key) with the operations on them.
import { encodeBase64Url } from '../../internal/base64url.js'
import { isNonEmptyString, isRecord } from '../../internal/guards.js'
import { MfaError } from '../../shared/errors.js'
import type { MfaFactorName, MfaFlow } from '../../shared/protocol.js'
import type { PasskeyVerifier } from '../passkey-verifier.js'
import type {
  SimulatedMessage,
  SimulatedPasskey,
  SimulatedRequest,
  SimulatedUser,
  SimulatedUserSeed,
  SimulatorApiKey,
  SimulatorPolicy,
} from '../simulator-types.js'
import { ZERO_AAGUID } from './passkeys.js'
import { appError } from './responses.js'
import type { SimulatorKeys } from './simulator-keys.js'

/** The options of a simulator, checked and with their defaults. */
export interface SimulatorConfig {
  baseUrl: string
  /** The path of `baseUrl` without a trailing slash ('' for a bare origin). */
  basePath: string
  appId: string
  rpId: string
  apiKeys: SimulatorApiKey[]
  seeds: SimulatedUserSeed[]
  policy: SimulatorPolicy
  requirePasskeyRegistration: boolean
  sessionTtlMs: number
  grantTtlMs: number
  tokenTtlSec: number
  allowedOrigins: '*' | string[]
  maxBodyBytes: number
  /** OTP requests one flow may make after its first (the resend cap). */
  maxOtpResends: number
  verifier: PasskeyVerifier
}

/** One MFA session (opaque id → state). Factor calls use it up and hand out a new one. */
export interface Session {
  id: string
  username: string
  flow: MfaFlow
  expiresAt: number
  next: MfaFactorName[]
  done: MfaFactorName[]
  deviceKnown: boolean
  deviceId?: string
  /** What the device calls itself (`deviceInfo` of `begin`), for `GET /passkeys` `device`. */
  deviceName: string
  trustKey?: string
  displayName: string
  userHandle: string
  email?: string
  phone?: string
  payload?: string
  /** SHA-256 of `payload`: the tail of every `passkey:tx` challenge. */
  payloadHash?: Uint8Array
  challenges: { reg?: string; auth?: string; tx?: string }
  pendingPasskeys: SimulatedPasskey[]
  /** OTP requests made in this flow so far (carried from session to session). */
  otpRequests: number
  otp?: { code: string; attempts: number; channel: 'email' | 'sms'; to: string }
}

/** A session before it is stored. */
export type SessionDraft = Omit<Session, 'id' | 'expiresAt'>

/** An external-auth grant token's state. */
export interface Grant {
  username: string
  expiresAt: number
  used: boolean
}

/** The stores of one simulator and the operations on them. */
export interface SimulatorState {
  readonly config: SimulatorConfig
  readonly keys: Promise<SimulatorKeys>
  readonly users: Map<string, SimulatedUser>
  readonly sessions: Map<string, Session>
  readonly grants: Map<string, Grant>
  readonly inboxes: Map<string, SimulatedMessage[]>
  readonly requests: SimulatedRequest[]
  /** The policy in force (`setPolicy` replaces it). */
  policy: SimulatorPolicy
  newSession(from: SessionDraft): Session
  /** The session of the raw `Authorization` header, or the 401 to answer. */
  sessionOf(request: Request): Session | Response
  useUp(session: Session): void
  mintGrant(username: string): string
  deliver(username: string, message: SimulatedMessage): void
  addUser(seed: SimulatedUserSeed): void
  /** Forget sessions, grants, inboxes, requests and the custom policy; re-seed the users. */
  reset(): void
}

/** A random opaque token with a prefix. */
export function randomToken(prefix: string, bytes = 24): string {
  return `${prefix}${encodeBase64Url(crypto.getRandomValues(new Uint8Array(bytes)))}`
}

/** A new random WebAuthn user handle, base64url. */
export function newUserHandle(): string {
  return encodeBase64Url(crypto.getRandomValues(new Uint8Array(32)))
}

/**
 * Check a user seed.
 * @throws MfaError `ERR_INVALID_ARGUMENT`
 */
export function checkSeed(seed: SimulatedUserSeed): void {
  if (!isRecord(seed) || !isNonEmptyString(seed.username)) {
    throw new MfaError('ERR_INVALID_ARGUMENT', 'a simulated user needs a non-empty username')
  }
  const passkeys: unknown = seed.passkeys
  if (passkeys === undefined) return
  const valid =
    Array.isArray(passkeys) &&
    passkeys.every(
      (p: unknown) =>
        isRecord(p) &&
        isNonEmptyString(p.id) &&
        isNonEmptyString(p.cosePublicKey) &&
        isNonEmptyString(p.userHandle) &&
        (p.signCount === undefined ||
          (Number.isInteger(p.signCount) && (p.signCount as number) >= 0)),
    )
  if (!valid) {
    throw new MfaError(
      'ERR_INVALID_ARGUMENT',
      `passkeys of ${seed.username} need an id, a cosePublicKey and a userHandle`,
    )
  }
  if (new Set(passkeys.map((p: { userHandle: string }) => p.userHandle)).size > 1) {
    throw new MfaError(
      'ERR_INVALID_ARGUMENT',
      `the passkeys of ${seed.username} must share one userHandle`,
    )
  }
}

function userFromSeed(seed: SimulatedUserSeed): SimulatedUser {
  const now = Date.now()
  const user: SimulatedUser = {
    id: crypto.randomUUID(),
    username: seed.username,
    userHandle: seed.passkeys?.[0]?.userHandle ?? newUserHandle(),
    passkeys: (seed.passkeys ?? []).map((p) => ({
      id: crypto.randomUUID(),
      credentialId: p.id,
      publicKey: p.cosePublicKey,
      signCount: p.signCount ?? 0,
      transports: [...(p.transports ?? ['internal'])],
      aaguid: p.aaguid ?? ZERO_AAGUID,
      createdAt: now,
    })),
    devices: [...(seed.devices ?? [])],
    trustItems: [],
    ...(seed.email !== undefined && { email: seed.email }),
    ...(seed.phone !== undefined && { phone: seed.phone }),
  }
  if (seed.passkey) {
    // A marker passkey: no public key, so every assertion for it fails verification.
    user.passkeys.push({
      id: crypto.randomUUID(),
      credentialId: encodeBase64Url(crypto.getRandomValues(new Uint8Array(16))),
      signCount: 0,
      aaguid: ZERO_AAGUID,
      createdAt: now,
      transports: ['internal'],
    })
  }
  return user
}

/** The stores of a simulator with `config`, its users seeded. */
export function createSimulatorState(
  config: SimulatorConfig,
  keys: Promise<SimulatorKeys>,
): SimulatorState {
  const users = new Map<string, SimulatedUser>()
  const sessions = new Map<string, Session>()
  const grants = new Map<string, Grant>()
  const inboxes = new Map<string, SimulatedMessage[]>()
  const requests: SimulatedRequest[] = []

  function seedUsers(): void {
    users.clear()
    for (const seed of config.seeds) users.set(seed.username, userFromSeed(seed))
  }
  seedUsers()

  const state: SimulatorState = {
    config,
    keys,
    users,
    sessions,
    grants,
    inboxes,
    requests,
    policy: config.policy,
    newSession(from) {
      const session: Session = {
        ...from,
        id: randomToken('sim_s_'),
        expiresAt: Date.now() + config.sessionTtlMs,
      }
      sessions.set(session.id, session)
      return session
    },
    sessionOf(request) {
      const raw = request.headers.get('authorization')
      if (!raw) return appError(401, 'unauthorized', 'missing session')
      const session = sessions.get(raw)
      if (!session) return appError(401, 'unauthorized', 'invalid session')
      if (Date.now() >= session.expiresAt) {
        return appError(401, 'session_expired', 'session expired')
      }
      return session
    },
    useUp(session) {
      sessions.delete(session.id)
    },
    mintGrant(username) {
      const token = randomToken('sim_g_', 32)
      grants.set(token, { username, expiresAt: Date.now() + config.grantTtlMs, used: false })
      return token
    },
    deliver(username, message) {
      const inbox = inboxes.get(username) ?? []
      inbox.push(message)
      inboxes.set(username, inbox)
    },
    addUser(seed) {
      checkSeed(seed)
      users.set(seed.username, userFromSeed(seed))
    },
    reset() {
      sessions.clear()
      grants.clear()
      inboxes.clear()
      requests.length = 0
      state.policy = config.policy
      seedUsers()
    },
  }
  return state
}
