/**
 * `createLoginIDSimulator`, exported from `loginid-mfa-flow/testing`: a stateful stand-in for
 * LoginID's MFA, passkey and management HTTP API behind one Fetch-standard `handle(request)`.
 *
 * This module never imports `msw` (an optional peer dependency): `loginid-mfa-flow/testing`
 * registers the MSW handler factory that `handlers` uses.
 *
 * @module loginid-mfa-flow/testing
 */
import { base64url } from 'jose'
import { appIdFromBaseUrl, normalizeBaseUrl } from '../internal/base-url.js'
import { MfaError, isMfaError } from '../shared/errors.js'
import { MFA_FACTOR_NAMES } from '../shared/protocol.js'
import type {
  MfaActionBody,
  MfaBody,
  MfaFactorName,
  MfaFlow,
  MfaNextBody,
  PasskeyInfo,
} from '../shared/protocol.js'
import { defaultSimulatorPolicy } from './default-simulator-policy.js'
import {
  isNonEmptyString,
  isRecord,
  isStringArray,
  parseJson,
  readBodyText,
} from './internal/body.js'
import {
  addCorsHeaders,
  allowOriginFor,
  isBrowserRoute,
  preflightHeaders,
} from './internal/cors.js'
import { handlersFactory } from './internal/handlers-registry.js'
import {
  ZERO_AAGUID,
  creationOptions,
  encodeOptions,
  newChallenge,
  payloadHashOf,
  requestOptions,
} from './internal/passkeys.js'
import { checkToken, createSimulatorKeys, signToken } from './internal/simulator-keys.js'
import type { SimulatorKeys } from './internal/simulator-keys.js'
import { createPasskeyVerifier } from './passkey-verifier.js'
import type { PasskeyVerificationFailure } from './passkey-verifier.js'
import type { RequestHandler } from 'msw'
import type {
  FaultRule,
  LoginIDSimulator,
  LoginIDSimulatorOptions,
  PolicyContext,
  PolicyDecision,
  SimulatedMessage,
  SimulatedPasskey,
  SimulatedRequest,
  SimulatedUser,
  SimulatedUserSeed,
  SimulatorApiKey,
  SimulatorPolicy,
} from './simulator-types.js'

/**
 * The default management API key of every simulator; it holds every scope.
 *
 * @example A management client for the simulator
 * ```ts
 * import { createManagementClient } from 'loginid-mfa-flow/server'
 * import { createLoginIDSimulator, SIMULATOR_API_KEY } from 'loginid-mfa-flow/testing'
 *
 * const sim = createLoginIDSimulator()
 * const management = createManagementClient({ baseUrl: sim.baseUrl, apiKey: SIMULATOR_API_KEY })
 * ```
 */
export const SIMULATOR_API_KEY = 'sim_demo_api_key'

const DEFAULT_BASE_URL = 'https://sim-app.api.loginid.test'
/** Every scope the simulator knows; the default API key holds them all. */
export const ALL_SCOPES: readonly string[] = [
  'external:verify',
  'passkey:read',
  'passkey:write',
  'reg:write',
  'auth:write',
]
const GRANT_NAMES = new Set([
  'passkey:read',
  'passkey:write',
  'profile:read',
  'profile:write',
  'reg:write',
  'auth:write',
])
const PREFIX = '/fido2/v2'
const MAX_OTP_ATTEMPTS = 3

const ACTION_LABELS: Record<MfaFactorName, { label: string; desc: string }> = {
  'passkey:reg': { label: 'Register a passkey', desc: 'Create a passkey on this device' },
  'passkey:auth': {
    label: 'Authenticate with passkey',
    desc: 'Authenticate with existing passkey',
  },
  'passkey:tx': { label: 'Confirm with passkey', desc: 'Confirm the transaction with a passkey' },
  'otp:email': { label: 'Email OTP', desc: 'Receive a one-time code by email' },
  'otp:sms': { label: 'SMS OTP', desc: 'Receive a one-time code by SMS' },
  'otp:verify': { label: 'Verify OTP', desc: 'Enter the one-time code' },
  external: { label: 'External authentication', desc: 'Authenticate through an external provider' },
}

/** One MFA session (opaque id → state). Factor calls use it up and hand out a new one. */
interface Session {
  id: string
  username: string
  flow: MfaFlow
  expiresAt: number
  next: MfaFactorName[]
  done: MfaFactorName[]
  deviceKnown: boolean
  deviceId?: string
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
  otp?: { code: string; attempts: number; channel: 'email' | 'sms'; to: string }
}

interface Grant {
  username: string
  expiresAt: number
  used: boolean
}

type Handler = (request: Request, body: unknown) => Promise<Response>

function randomToken(prefix: string, bytes = 24): string {
  return `${prefix}${base64url.encode(crypto.getRandomValues(new Uint8Array(bytes)))}`
}

function sixDigits(): string {
  const [value = 0] = crypto.getRandomValues(new Uint32Array(1))
  return String(value % 1_000_000).padStart(6, '0')
}

function json(status: number, body: unknown, headers?: HeadersInit): Response {
  const h = new Headers(headers)
  h.set('content-type', 'application/json')
  return new Response(JSON.stringify(body), { status, headers: h })
}

function appError(status: number, msgCode: string, msg: string): Response {
  return json(status, { msg, msgCode })
}

const badRequest = (msg: string): Response => appError(400, 'bad_request', msg)

function checkPositive(value: number, name: string): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new MfaError('ERR_INVALID_ARGUMENT', `${name} must be a positive number`)
  }
  return value
}

function checkSeed(seed: SimulatedUserSeed): void {
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

/** The 401 `msg` detail of a failed passkey verification. */
function failureText(failure: PasskeyVerificationFailure): string {
  return `${failure.reason} (${failure.message})`
}

/** The device key of a `trustItems.auth` value: the embedded JWK of a JWS, else the raw value. */
function trustKeyOf(value: string): string {
  const [header] = value.split('.')
  if (header !== undefined && value.split('.').length === 3) {
    try {
      const parsed: unknown = JSON.parse(new TextDecoder().decode(base64url.decode(header)))
      if (isRecord(parsed) && isRecord(parsed.jwk)) {
        const { kty, crv, x, y } = parsed.jwk
        if (typeof x === 'string') return `jwk:${String(kty)}:${String(crv)}:${x}:${String(y)}`
      }
    } catch {
      // not a JWS: fall through to the raw value
    }
  }
  return `raw:${value}`
}

function isFactorName(value: unknown): value is MfaFactorName {
  return typeof value === 'string' && (MFA_FACTOR_NAMES as readonly string[]).includes(value)
}

function validDecision(decision: unknown): decision is PolicyDecision {
  if (!isRecord(decision)) return false
  if (decision.complete === true) return true
  return Array.isArray(decision.next) && decision.next.every(isFactorName)
}

/** Request headers that carry credentials: sessions, access tokens, Basic API keys, cookies. */
const REDACTED_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie'])

function redactHeaders(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {}
  headers.forEach((value, name) => {
    out[name] = REDACTED_HEADERS.has(name) ? '[REDACTED]' : value
  })
  return out
}

const FAULT_TYPES = new Set(['status', 'malformed', 'html', 'delay', 'drop'])
/** Statuses a `Response` cannot carry a body with. */
const NULL_BODY_STATUSES = new Set([204, 205, 304])

/** The `msgCode` LoginID's OpenAPI gives a status (its closed enum), for injected faults. */
function faultMsgCode(status: number): string {
  if (status >= 500) return 'internal_error'
  if (status === 401) return 'unauthorized'
  if (status === 403) return 'forbidden'
  if (status === 404) return 'not_found'
  return 'bad_request'
}

function isHttpStatus(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 200 && (value as number) <= 599
}

/** Validate and copy a fault rule, so a bad rule fails at `faults.add`, never inside `handle`. */
function checkFaultRule(rule: FaultRule): FaultRule {
  if (!isRecord(rule) || typeof rule.path !== 'string' || !isRecord(rule.fault)) {
    throw new MfaError('ERR_INVALID_ARGUMENT', 'a fault rule needs a path and a fault')
  }
  if (rule.method !== undefined && !isNonEmptyString(rule.method)) {
    throw new MfaError('ERR_INVALID_ARGUMENT', 'a fault rule method must be a non-empty string')
  }
  const times = rule.times ?? 1
  if (!Number.isInteger(times) || times <= 0) {
    throw new MfaError('ERR_INVALID_ARGUMENT', 'times must be a positive integer')
  }
  const fault: Record<string, unknown> = { ...rule.fault }
  if (typeof fault.type !== 'string' || !FAULT_TYPES.has(fault.type)) {
    throw new MfaError(
      'ERR_INVALID_ARGUMENT',
      "fault.type must be 'status', 'malformed', 'html', 'delay' or 'drop'",
    )
  }
  const needsStatus = fault.type === 'status'
  if ((needsStatus || fault.status !== undefined) && !isHttpStatus(fault.status)) {
    throw new MfaError('ERR_INVALID_ARGUMENT', 'fault.status must be an integer from 200 to 599')
  }
  if (
    (fault.type === 'malformed' || fault.type === 'html') &&
    NULL_BODY_STATUSES.has(fault.status as number)
  ) {
    throw new MfaError('ERR_INVALID_ARGUMENT', `a ${fault.type} fault needs a status with a body`)
  }
  if (fault.type === 'status' && fault.body !== undefined) {
    let text: string | undefined
    try {
      text = JSON.stringify(fault.body)
    } catch {
      text = undefined
    }
    if (text === undefined) {
      throw new MfaError('ERR_INVALID_ARGUMENT', 'fault.body must be JSON-serialisable')
    }
  }
  if (
    fault.type === 'delay' &&
    (typeof fault.ms !== 'number' || !Number.isFinite(fault.ms) || fault.ms < 0)
  ) {
    throw new MfaError('ERR_INVALID_ARGUMENT', 'fault.ms must be a non-negative number')
  }
  return { ...rule, times, fault: fault as FaultRule['fault'] }
}

function normalizeFaultPath(path: string): string {
  const withSlash = path.startsWith('/') ? path : `/${path}`
  return withSlash.startsWith('/fido2/') ? withSlash : `${PREFIX}${withSlash}`
}

/**
 * Create a LoginID simulator: one Fetch-standard `handle(request)` with sessions, grant tokens,
 * OTP inbox, a replaceable policy, ES256 tokens with a JWKS, fault injection and a request log.
 * Serve it with MSW (`sim.handlers`) or over real HTTP (`startLoginIDSimulator`).
 *
 * Passkey factors are verified for real with {@link createPasskeyVerifier} (`rpId`, `origin`),
 * which needs the optional peer dependency `@simplewebauthn/server`; without it a passkey answer
 * gets a 500 naming the package, and every other factor works.
 *
 * @throws MfaError `ERR_INVALID_ARGUMENT` for a bad option
 * @see https://docs.loginid.io/user-scenario/authentication/mfa/startup/
 * @example Run a test against the simulator with MSW
 * ```ts
 * import { setupServer } from 'msw/node'
 * import { createLoginIDSimulator } from 'loginid-mfa-flow/testing'
 *
 * const sim = createLoginIDSimulator({ users: [{ username: 'alice@example.com' }] })
 * const server = setupServer(...sim.handlers)
 * server.listen({ onUnhandledRequest: 'error' })
 * const res = await fetch(`${sim.baseUrl}/fido2/v2/mfa/begin`, {
 *   method: 'POST',
 *   headers: { 'content-type': 'application/json' },
 *   body: JSON.stringify({ user: { username: 'alice@example.com', usernameType: 'email' } }),
 * })
 * ```
 *
 * @example Seed a user with a real passkey held by a software authenticator
 * ```ts
 * import { createMfaClient } from 'loginid-mfa-flow'
 * import { createLoginIDSimulator, createSoftwareAuthenticator } from 'loginid-mfa-flow/testing'
 *
 * const phone = createSoftwareAuthenticator() // origin http://localhost, rpId localhost
 * const key = await phone.createCredential({ userName: 'bob' })
 * const sim = createLoginIDSimulator({ users: [{ username: 'bob', passkeys: [key], devices: ['d1'] }] })
 * const client = createMfaClient({ baseUrl: sim.baseUrl, webauthn: phone })
 * await client.beginFlow('bob', { deviceId: 'd1' }) // nextAction 'passkey:auth'
 * ```
 */
export function createLoginIDSimulator(options: LoginIDSimulatorOptions = {}): LoginIDSimulator {
  const {
    baseUrl: rawBaseUrl = DEFAULT_BASE_URL,
    apiKeys = [{ key: SIMULATOR_API_KEY, scopes: [...ALL_SCOPES] }],
    users: seeds = [],
    policy: configuredPolicy = defaultSimulatorPolicy,
    requirePasskeyRegistration = false,
    sessionTtlMs = 300_000,
    grantTtlMs = 30_000,
    tokenTtlSec = 3600,
    allowedOrigins = '*',
    rpId = 'localhost',
    origin = 'http://localhost',
    maxBodyBytes = 65_536,
  } = options
  const baseUrl = normalizeBaseUrl(rawBaseUrl)
  const appId = options.appId ?? appIdFromBaseUrl(baseUrl)
  if (!isNonEmptyString(appId)) throw new MfaError('ERR_INVALID_ARGUMENT', 'appId must be a string')
  checkPositive(sessionTtlMs, 'sessionTtlMs')
  checkPositive(grantTtlMs, 'grantTtlMs')
  checkPositive(tokenTtlSec, 'tokenTtlSec')
  checkPositive(maxBodyBytes, 'maxBodyBytes')
  if (typeof configuredPolicy !== 'function') {
    throw new MfaError('ERR_INVALID_ARGUMENT', 'policy must be a function')
  }
  const origins = typeof origin === 'string' ? [origin] : origin
  if (!isStringArray(origins) || origins.length === 0 || !origins.every(isNonEmptyString)) {
    throw new MfaError('ERR_INVALID_ARGUMENT', 'origin must be an origin or a list of origins')
  }
  // Throws ERR_INVALID_ARGUMENT for a bad rpId; loads @simplewebauthn/server on first use only.
  const verifier = createPasskeyVerifier({ rpId, origin: origins })
  if (allowedOrigins !== '*' && !isStringArray(allowedOrigins)) {
    throw new MfaError('ERR_INVALID_ARGUMENT', "allowedOrigins must be '*' or an array of origins")
  }
  const keyList: SimulatorApiKey[] = apiKeys.map((k) => {
    if (!isRecord(k) || !isNonEmptyString(k.key) || !isStringArray(k.scopes)) {
      throw new MfaError('ERR_INVALID_ARGUMENT', 'apiKeys entries need a key and scopes')
    }
    return { key: k.key, scopes: [...k.scopes] }
  })
  seeds.forEach(checkSeed)
  const basePath = new URL(baseUrl).pathname.replace(/\/+$/, '')

  const keysPromise: Promise<SimulatorKeys> = createSimulatorKeys()
  const users = new Map<string, SimulatedUser>()
  const sessions = new Map<string, Session>()
  const grants = new Map<string, Grant>()
  const inboxes = new Map<string, SimulatedMessage[]>()
  const requests: SimulatedRequest[] = []
  let faultRules: { rule: FaultRule; left: number }[] = []
  let policy: SimulatorPolicy = configuredPolicy
  let handlers: RequestHandler[] | undefined

  // ---------------------------------------------------------------------------------------------
  // users
  // ---------------------------------------------------------------------------------------------

  function userFromSeed(seed: SimulatedUserSeed): SimulatedUser {
    const now = Date.now()
    const user: SimulatedUser = {
      id: crypto.randomUUID(),
      username: seed.username,
      userHandle:
        seed.passkeys?.[0]?.userHandle ??
        base64url.encode(crypto.getRandomValues(new Uint8Array(32))),
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
        credentialId: base64url.encode(crypto.getRandomValues(new Uint8Array(16))),
        signCount: 0,
        aaguid: ZERO_AAGUID,
        createdAt: now,
        transports: ['internal'],
      })
    }
    return user
  }

  function seedUsers(): void {
    users.clear()
    for (const seed of seeds) users.set(seed.username, userFromSeed(seed))
  }
  seedUsers()

  // ---------------------------------------------------------------------------------------------
  // sessions and offers
  // ---------------------------------------------------------------------------------------------

  function newSession(from: Omit<Session, 'id' | 'expiresAt'>): Session {
    const session: Session = {
      ...from,
      id: randomToken('sim_s_'),
      expiresAt: Date.now() + sessionTtlMs,
    }
    sessions.set(session.id, session)
    return session
  }

  /** The session of the raw `Authorization` header, or the 401 to answer. */
  function sessionOf(request: Request): Session | Response {
    const raw = request.headers.get('authorization')
    if (!raw) return appError(401, 'unauthorized', 'missing session')
    const session = sessions.get(raw)
    if (!session) return appError(401, 'unauthorized', 'invalid session')
    if (Date.now() >= session.expiresAt) return appError(401, 'session_expired', 'session expired')
    return session
  }

  function useUp(session: Session): void {
    sessions.delete(session.id)
  }

  function offerable(factor: MfaFactorName, session: Session): boolean {
    const user = users.get(session.username)
    switch (factor) {
      case 'passkey:auth':
        return session.flow === 'signIn' && (user?.passkeys.length ?? 0) > 0
      case 'passkey:tx':
        return (
          session.flow === 'signIn' &&
          (user?.passkeys.length ?? 0) > 0 &&
          session.payload !== undefined
        )
      case 'otp:email':
        return session.email !== undefined
      case 'otp:sms':
        return session.phone !== undefined
      default:
        return true
    }
  }

  /** Build the `next` actions of a session (fresh challenges), dropping unofferable factors. */
  function actionsFor(session: Session): MfaActionBody[] {
    const user = users.get(session.username)
    session.next = session.next.filter((factor) => offerable(factor, session))
    session.challenges = {}
    return session.next.map((factor) => {
      const action = { name: factor, ...ACTION_LABELS[factor] }
      if (factor === 'passkey:auth' || factor === 'passkey:tx') {
        const tx = factor === 'passkey:tx'
        const challenge = newChallenge(tx ? session.payloadHash : undefined)
        session.challenges[tx ? 'tx' : 'auth'] = challenge
        const value = encodeOptions(
          requestOptions({ rpId, challenge, credentials: user?.passkeys ?? [] }),
        )
        return { action, options: [{ name: 'assertionOptions', value }] }
      }
      if (factor === 'passkey:reg') {
        const challenge = newChallenge()
        session.challenges.reg = challenge
        const value = encodeOptions(
          creationOptions({
            rpId,
            rpName: appId,
            userHandle: session.userHandle,
            username: session.username,
            displayName: session.displayName,
            challenge,
            existing: [...(user?.passkeys ?? []), ...session.pendingPasskeys],
          }),
        )
        return { action, options: [{ name: 'creationOptions', value }] }
      }
      if (factor === 'otp:email' && session.email !== undefined) {
        return {
          action,
          options: [{ name: 'email:primary', label: session.email, value: crypto.randomUUID() }],
        }
      }
      if (factor === 'otp:sms' && session.phone !== undefined) {
        return { action, options: [{ label: session.phone, value: crypto.randomUUID() }] }
      }
      return { action }
    })
  }

  function nextBody(session: Session, msg = 'Additional authentication is required.'): MfaNextBody {
    const next = actionsFor(session)
    return {
      flow: session.flow,
      msg,
      msgCode: 'additional_auth_required',
      next,
      session: session.id,
    }
  }

  function contextFor(
    session: Pick<Session, 'username' | 'flow' | 'deviceKnown' | 'done' | 'payload'>,
    event: PolicyContext['event'],
    factor?: MfaFactorName,
  ): PolicyContext {
    return {
      event,
      username: session.username,
      user: users.get(session.username),
      flow: session.flow,
      deviceKnown: session.deviceKnown,
      done: [...session.done],
      requirePasskeyRegistration,
      ...(factor !== undefined && { factor }),
      ...(session.payload !== undefined && { payload: session.payload }),
    }
  }

  /** Ask the policy; a throw or an invalid answer is the simulator's 500. */
  function decide(ctx: PolicyContext): PolicyDecision | Response {
    let decision: unknown
    try {
      decision = policy(ctx)
    } catch {
      return appError(500, 'internal_error', 'the simulator policy threw')
    }
    if (!validDecision(decision)) {
      return appError(500, 'internal_error', 'the simulator policy returned an invalid decision')
    }
    return decision
  }

  // ---------------------------------------------------------------------------------------------
  // completion
  // ---------------------------------------------------------------------------------------------

  async function complete(
    session: Session,
    passkeyInfo: PasskeyInfo | undefined,
    txDone: boolean,
  ): Promise<Response> {
    const keys = await keysPromise
    let user = users.get(session.username)
    if (!user) {
      user = {
        id: crypto.randomUUID(),
        username: session.username,
        userHandle: session.userHandle,
        passkeys: [],
        devices: [],
        trustItems: [],
        ...(session.email !== undefined && { email: session.email }),
        ...(session.phone !== undefined && { phone: session.phone }),
      }
      users.set(user.username, user)
    }
    user.passkeys.push(...session.pendingPasskeys)
    let deviceId = session.deviceId
    if (deviceId === undefined || !user.devices.includes(deviceId)) {
      deviceId = crypto.randomUUID()
      user.devices.push(deviceId)
    }
    if (session.trustKey !== undefined && !user.trustItems.includes(session.trustKey)) {
      user.trustItems.push(session.trustKey)
    }
    const common = { iss: baseUrl, aud: appId, sub: user.id, username: user.username }
    const [accessToken, idToken, refreshToken] = await Promise.all([
      signToken(
        keys,
        {
          ...common,
          jti: crypto.randomUUID(),
          tokenType: 'jwtAccess',
          scopes: [],
          verify: '/fido2/v2/mgmt/token/verify',
          ...(passkeyInfo && { credID: passkeyInfo.passkeyId }),
        },
        tokenTtlSec,
      ),
      signToken(keys, { ...common, jti: crypto.randomUUID(), tokenType: 'idToken' }, tokenTtlSec),
      signToken(
        keys,
        { ...common, jti: crypto.randomUUID(), tokenType: 'refreshToken' },
        tokenTtlSec,
      ),
    ])
    const body: MfaBody = { flow: session.flow, idToken, accessToken, refreshToken, deviceId }
    if (txDone && session.payload !== undefined) {
      const digest = session.payloadHash ?? (await payloadHashOf(session.payload))
      body.payload = base64url.encode(session.payload)
      body.payloadSignature = await signToken(
        keys,
        {
          ...common,
          jti: crypto.randomUUID(),
          tokenType: 'payloadSignature',
          txHash: base64url.encode(digest),
        },
        tokenTtlSec,
      )
    }
    if (passkeyInfo) body.passkeyInfo = passkeyInfo
    return json(200, body)
  }

  /** A factor succeeded: complete (200 Mfa) or continue (401 MfaNext with a new session). */
  async function succeed(
    session: Session,
    factor: MfaFactorName,
    passkeyInfo?: PasskeyInfo,
  ): Promise<Response> {
    useUp(session)
    const done = [...session.done, factor]
    const decision = decide(contextFor({ ...session, done }, 'success', factor))
    if (decision instanceof Response) return decision
    if ('complete' in decision)
      return complete({ ...session, done }, passkeyInfo, factor === 'passkey:tx')
    const { otp: _otp, ...rest } = session
    const next = newSession({ ...rest, done, next: [...decision.next] })
    return json(401, nextBody(next))
  }

  /** A passkey factor failed: 401 MfaNext with what the policy offers (default `[external]`). */
  function fail(session: Session, factor: MfaFactorName, reason: string): Response {
    useUp(session)
    const decision = decide(contextFor(session, 'failure', factor))
    if (decision instanceof Response) return decision
    if ('complete' in decision) {
      return appError(401, 'unauthorized', `passkey verification failed: ${reason}`)
    }
    const { otp: _otp, ...rest } = session
    const next = newSession({ ...rest, next: [...decision.next] })
    return json(401, nextBody(next, `Passkey verification failed: ${reason}.`))
  }

  function requireOffered(session: Session, factor: MfaFactorName): Response | undefined {
    if (session.next.includes(factor)) return undefined
    return badRequest(`${factor} is not offered in this session`)
  }

  // ---------------------------------------------------------------------------------------------
  // /mfa/* endpoints
  // ---------------------------------------------------------------------------------------------

  const begin: Handler = async (_request, body) => {
    if (!isRecord(body)) return badRequest('the body must be a JSON object')
    const { user, deviceInfo, trustItems, payload, traceId } = body
    if (!isRecord(user) || !isNonEmptyString(user.username)) {
      return badRequest('user.username is required')
    }
    const username = user.username
    const usernameType = user.usernameType ?? 'other'
    if (usernameType !== 'email' && usernameType !== 'phone' && usernameType !== 'other') {
      return badRequest('user.usernameType must be email, phone or other')
    }
    for (const field of ['displayName', 'name', 'phone'] as const) {
      if (user[field] !== undefined && typeof user[field] !== 'string') {
        return badRequest(`user.${field} must be a string`)
      }
    }
    if (deviceInfo !== undefined && !isRecord(deviceInfo)) {
      return badRequest('deviceInfo must be an object')
    }
    if (deviceInfo?.deviceId !== undefined && typeof deviceInfo.deviceId !== 'string') {
      return badRequest('deviceInfo.deviceId must be a string')
    }
    if (
      trustItems !== undefined &&
      (!isRecord(trustItems) || !Object.values(trustItems).every((v) => typeof v === 'string'))
    ) {
      return badRequest('trustItems must be an object of strings')
    }
    if (payload !== undefined && !isNonEmptyString(payload)) {
      return badRequest('payload must be a non-empty string')
    }
    if (traceId !== undefined && typeof traceId !== 'string') {
      return badRequest('traceId must be a string')
    }
    const known = users.get(username)
    const deviceId = isNonEmptyString(deviceInfo?.deviceId) ? deviceInfo.deviceId : undefined
    const auth = trustItems?.auth
    const trustKey = isNonEmptyString(auth) ? trustKeyOf(auth) : undefined
    const deviceKnown =
      known !== undefined &&
      ((deviceId !== undefined && known.devices.includes(deviceId)) ||
        (trustKey !== undefined && known.trustItems.includes(trustKey)))
    const email = known ? known.email : usernameType === 'email' ? username : undefined
    const phone = known
      ? known.phone
      : typeof user.phone === 'string' && user.phone
        ? user.phone
        : usernameType === 'phone'
          ? username
          : undefined
    const draft: Omit<Session, 'id' | 'expiresAt'> = {
      username,
      flow: known ? 'signIn' : 'signUp',
      next: [],
      done: [],
      deviceKnown,
      displayName:
        typeof user.displayName === 'string' && user.displayName ? user.displayName : username,
      userHandle: known?.userHandle ?? base64url.encode(crypto.getRandomValues(new Uint8Array(32))),
      challenges: {},
      pendingPasskeys: [],
      ...(deviceId !== undefined && { deviceId }),
      ...(trustKey !== undefined && { trustKey }),
      ...(email !== undefined && { email }),
      ...(phone !== undefined && { phone }),
      ...(payload !== undefined && { payload, payloadHash: await payloadHashOf(payload) }),
    }
    const decision = decide(contextFor(draft, 'begin'))
    if (decision instanceof Response) return decision
    if ('complete' in decision) {
      return appError(500, 'internal_error', 'the simulator policy cannot complete a flow at begin')
    }
    const session = newSession({ ...draft, next: [...decision.next] })
    return json(200, nextBody(session))
  }

  const otpRequest: Handler = async (request, body) => {
    const session = sessionOf(request)
    if (session instanceof Response) return session
    if (!isRecord(body)) return badRequest('the body must be a JSON object')
    const { method, option } = body
    if (method !== 'email' && method !== 'sms') return badRequest("method must be 'email' or 'sms'")
    if (option !== undefined && typeof option !== 'string') {
      return badRequest('option must be a string')
    }
    const factor: MfaFactorName = method === 'email' ? 'otp:email' : 'otp:sms'
    const notOffered = requireOffered(session, factor)
    if (notOffered) return notOffered
    const to = method === 'email' ? session.email : session.phone
    if (to === undefined) return badRequest(`the user has no ${method} contact`)
    if (option !== undefined && option !== to) {
      return badRequest('option must be the label of an offered contact')
    }
    useUp(session)
    const code = sixDigits()
    const otpSession = newSession({
      ...session,
      otp: { code, attempts: 0, channel: method, to },
    })
    const inbox = inboxes.get(session.username) ?? []
    inbox.push({ channel: method, to, code, at: Date.now() })
    inboxes.set(session.username, inbox)
    return json(200, { session: otpSession.id })
  }

  const otpVerify: Handler = async (request, body) => {
    const session = sessionOf(request)
    if (session instanceof Response) return session
    if (!isRecord(body) || typeof body.otp !== 'string') return badRequest('otp is required')
    const otp = session.otp
    if (!otp) return badRequest('no OTP was requested in this session')
    if (body.otp !== otp.code) {
      otp.attempts += 1
      if (otp.attempts >= MAX_OTP_ATTEMPTS) useUp(session)
      return appError(401, 'invalid_otp', 'invalid one-time code')
    }
    return succeed(session, otp.channel === 'email' ? 'otp:email' : 'otp:sms')
  }

  const thirdPartyVerify: Handler = async (request, body) => {
    const session = sessionOf(request)
    if (session instanceof Response) return session
    if (!isRecord(body) || !isNonEmptyString(body.token)) return badRequest('token is required')
    const notOffered = requireOffered(session, 'external')
    if (notOffered) return notOffered
    const grant = grants.get(body.token)
    if (!grant || grant.username !== session.username) {
      return appError(401, 'invalid_token', 'invalid authorization token')
    }
    if (grant.used) return appError(401, 'token_used', 'authorization token already used')
    if (Date.now() >= grant.expiresAt) {
      return appError(401, 'token_expired', 'authorization token expired')
    }
    grant.used = true
    return succeed(session, 'external')
  }

  const passkeyReg: Handler = async (request, body) => {
    const session = sessionOf(request)
    if (session instanceof Response) return session
    if (!isRecord(body) || !isRecord(body.creationResult)) {
      return badRequest('creationResult is required')
    }
    const notOffered = requireOffered(session, 'passkey:reg')
    if (notOffered) return notOffered
    const creationResult = body.creationResult
    const expectedChallenge = session.challenges.reg ?? ''
    useUp(session)
    const verdict = await verifier.verifyRegistration({ creationResult, expectedChallenge })
    if (!verdict.verified) return fail(session, 'passkey:reg', failureText(verdict))
    const { credential } = verdict
    const taken =
      [...users.values()].some((u) => u.passkeys.some((p) => p.credentialId === credential.id)) ||
      session.pendingPasskeys.some((p) => p.credentialId === credential.id)
    if (taken) return fail(session, 'passkey:reg', 'the credential is already registered')
    const passkey: SimulatedPasskey = {
      id: crypto.randomUUID(),
      credentialId: credential.id,
      publicKey: credential.publicKey,
      signCount: credential.signCount,
      transports: credential.transports,
      aaguid: verdict.aaguid,
      createdAt: Date.now(),
    }
    const registered = { ...session, pendingPasskeys: [...session.pendingPasskeys, passkey] }
    return succeed(registered, 'passkey:reg', {
      passkeyId: passkey.id,
      aaguid: passkey.aaguid,
      publicKey: credential.publicKey,
      creationResult: creationResult as unknown as NonNullable<PasskeyInfo['creationResult']>,
    })
  }

  function passkeyGet(factor: 'passkey:auth' | 'passkey:tx'): Handler {
    return async (request, body) => {
      const session = sessionOf(request)
      if (session instanceof Response) return session
      if (!isRecord(body) || !isRecord(body.assertionResult)) {
        return badRequest('assertionResult is required')
      }
      const notOffered = requireOffered(session, factor)
      if (notOffered) return notOffered
      const assertionResult = body.assertionResult
      const expectedChallenge =
        (factor === 'passkey:auth' ? session.challenges.auth : session.challenges.tx) ?? ''
      useUp(session)
      const user = users.get(session.username)
      const credential = user?.passkeys.find((p) => p.credentialId === assertionResult.credentialId)
      if (!user || !credential) return fail(session, factor, 'unknown_credential')
      const { publicKey } = credential
      if (publicKey === undefined) {
        return fail(session, factor, 'marker_passkey (a seeded passkey: true never verifies)')
      }
      const verdict = await verifier.verifyAssertion({
        assertionResult,
        expectedChallenge,
        credential: {
          id: credential.credentialId,
          publicKey,
          signCount: credential.signCount,
          ...(credential.transports !== undefined && { transports: credential.transports }),
        },
        expectedUserHandle: user.userHandle,
      })
      if (!verdict.verified) return fail(session, factor, failureText(verdict))
      credential.signCount = verdict.newSignCount
      credential.lastUsedAt = Date.now()
      return succeed(session, factor, {
        passkeyId: credential.id,
        aaguid: credential.aaguid,
        publicKey,
        assertionResult: assertionResult as unknown as NonNullable<PasskeyInfo['assertionResult']>,
      })
    }
  }

  const payloadUpdate: Handler = async (request, body) => {
    const session = sessionOf(request)
    if (session instanceof Response) return session
    if (!isRecord(body) || !isNonEmptyString(body.payload)) return badRequest('payload is required')
    const notOffered = requireOffered(session, 'passkey:tx')
    if (notOffered) return notOffered
    useUp(session)
    const payloadHash = await payloadHashOf(body.payload)
    const { otp: _otp, ...rest } = session
    const next = newSession({ ...rest, payload: body.payload, payloadHash })
    return json(200, nextBody(next))
  }

  const clientEvents: Handler = async (request, body) => {
    const session = sessionOf(request)
    if (session instanceof Response) return session
    if (!isRecord(body) || !isNonEmptyString(body.event)) return badRequest('event is required')
    if (body.isError !== undefined && typeof body.isError !== 'boolean') {
      return badRequest('isError must be a boolean')
    }
    return json(200, {})
  }

  // ---------------------------------------------------------------------------------------------
  // token-authenticated and public endpoints
  // ---------------------------------------------------------------------------------------------

  const listPasskeys: Handler = async (request) => {
    const raw = request.headers.get('authorization')
    if (!raw) return appError(401, 'unauthorized', 'missing access token')
    const keys = await keysPromise
    const checked = await checkToken(keys, raw, {
      issuer: baseUrl,
      audience: appId,
      tokenType: 'jwtAccess',
    })
    if (!checked.ok) return appError(401, 'unauthorized', 'invalid access token')
    const user =
      typeof checked.claims.username === 'string' ? users.get(checked.claims.username) : undefined
    if (!user || user.id !== checked.claims.sub)
      return appError(401, 'unauthorized', 'unknown user')
    return json(
      200,
      user.passkeys.map((p, index) => ({
        id: p.id,
        credentialId: p.credentialId,
        aaguid: p.aaguid,
        name: `Passkey ${index + 1}`,
        credentialSynced: false,
        createdAt: new Date(p.createdAt).toISOString(),
        ...(p.lastUsedAt !== undefined && { lastUsedAt: new Date(p.lastUsedAt).toISOString() }),
      })),
    )
  }

  const jwks: Handler = async () => {
    const keys = await keysPromise
    return json(200, { keys: [keys.jwk] }, { 'cache-control': 'public, max-age=300' })
  }

  // ---------------------------------------------------------------------------------------------
  // /mgmt/* endpoints
  // ---------------------------------------------------------------------------------------------

  function apiKeyOf(request: Request, scope?: string): SimulatorApiKey | Response {
    const header = request.headers.get('authorization') ?? ''
    const match = /^Basic ([A-Za-z0-9+/]+={0,2})$/.exec(header)
    let decoded: string | undefined
    if (match?.[1]) {
      try {
        decoded = atob(match[1])
      } catch {
        decoded = undefined
      }
    }
    const key =
      decoded !== undefined && decoded.endsWith(':')
        ? keyList.find((k) => `${k.key}:` === decoded)
        : undefined
    if (!key) return appError(401, 'unauthorized', 'missing or invalid API key')
    if (scope !== undefined && !key.scopes.includes(scope)) {
      return appError(403, 'forbidden', `the API key lacks the ${scope} scope`)
    }
    return key
  }

  function mintGrant(username: string): string {
    const token = randomToken('sim_g_', 32)
    grants.set(token, { username, expiresAt: Date.now() + grantTtlMs, used: false })
    return token
  }

  const grantExternalAuthRoute: Handler = async (request, body) => {
    const key = apiKeyOf(request, 'external:verify')
    if (key instanceof Response) return key
    if (!isRecord(body) || !isNonEmptyString(body.username)) {
      return badRequest('username is required')
    }
    return json(200, { token: mintGrant(body.username) })
  }

  const grantRoute: Handler = async (request, body) => {
    const key = apiKeyOf(request)
    if (key instanceof Response) return key
    if (!isRecord(body) || !isStringArray(body.grants) || body.grants.length === 0) {
      return badRequest('grants must be a non-empty array of strings')
    }
    if (body.username !== undefined && !isNonEmptyString(body.username)) {
      return badRequest('username must be a non-empty string')
    }
    const unknown = body.grants.find((g) => !GRANT_NAMES.has(g))
    if (unknown !== undefined) return badRequest(`unknown grant ${unknown}`)
    const missing = body.grants.find((g) => !key.scopes.includes(g))
    if (missing !== undefined)
      return appError(403, 'forbidden', `the API key lacks the ${missing} scope`)
    const keys = await keysPromise
    const username = body.username
    const token = await signToken(
      keys,
      {
        iss: baseUrl,
        aud: appId,
        jti: crypto.randomUUID(),
        tokenType: 'grant',
        scopes: [...body.grants],
        ...(username !== undefined && { sub: users.get(username)?.id ?? username, username }),
      },
      Math.max(1, Math.ceil(grantTtlMs / 1000)),
    )
    return json(200, { token })
  }

  const tokenVerify: Handler = async (request, body) => {
    const key = apiKeyOf(request)
    if (key instanceof Response) return key
    if (!isRecord(body) || !isNonEmptyString(body.jwtAccess)) {
      return badRequest('jwtAccess is required')
    }
    const keys = await keysPromise
    const checked = await checkToken(keys, body.jwtAccess, {
      issuer: baseUrl,
      audience: appId,
      tokenType: 'jwtAccess',
    })
    if (!checked.ok) {
      return checked.expired
        ? appError(401, 'token_expired', 'the access token has expired')
        : appError(401, 'invalid_token', 'invalid access token')
    }
    return new Response(null, { status: 204 })
  }

  // ---------------------------------------------------------------------------------------------
  // router
  // ---------------------------------------------------------------------------------------------

  const routes = new Map<string, Map<string, Handler>>([
    [`${PREFIX}/mfa/begin`, new Map([['POST', begin]])],
    [`${PREFIX}/mfa/otp/request`, new Map([['POST', otpRequest]])],
    [`${PREFIX}/mfa/otp/verify`, new Map([['POST', otpVerify]])],
    [`${PREFIX}/mfa/third-party/verify`, new Map([['POST', thirdPartyVerify]])],
    [`${PREFIX}/mfa/passkey/auth`, new Map([['POST', passkeyGet('passkey:auth')]])],
    [`${PREFIX}/mfa/passkey/reg`, new Map([['POST', passkeyReg]])],
    [`${PREFIX}/mfa/passkey/tx`, new Map([['POST', passkeyGet('passkey:tx')]])],
    [`${PREFIX}/mfa/payload`, new Map([['POST', payloadUpdate]])],
    [`${PREFIX}/client-events/submit`, new Map([['POST', clientEvents]])],
    [`${PREFIX}/passkeys`, new Map([['GET', listPasskeys]])],
    [`${PREFIX}/mgmt/grant/external-auth`, new Map([['POST', grantExternalAuthRoute]])],
    [`${PREFIX}/mgmt/grant`, new Map([['POST', grantRoute]])],
    [`${PREFIX}/mgmt/token/verify`, new Map([['POST', tokenVerify]])],
    [`${PREFIX}/.well-known/jwks.json`, new Map([['GET', jwks]])],
  ])

  function takeFault(route: string, method: string): FaultRule | undefined {
    const index = faultRules.findIndex(({ rule }) => {
      if (normalizeFaultPath(rule.path) !== route) return false
      return rule.method === undefined ? method !== 'OPTIONS' : rule.method.toUpperCase() === method
    })
    const entry = faultRules[index]
    if (!entry) return undefined
    entry.left -= 1
    if (entry.left <= 0) faultRules.splice(index, 1)
    return entry.rule
  }

  async function faultResponse(rule: FaultRule): Promise<Response | undefined> {
    const fault = rule.fault
    switch (fault.type) {
      case 'status':
        if (NULL_BODY_STATUSES.has(fault.status))
          return new Response(null, { status: fault.status })
        return json(
          fault.status,
          fault.body !== undefined
            ? fault.body
            : { msg: 'injected fault', msgCode: faultMsgCode(fault.status) },
        )
      case 'malformed':
        return new Response('{"msg": "truncated', {
          status: fault.status ?? 200,
          headers: { 'content-type': 'application/json' },
        })
      case 'html':
        return new Response(
          '<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>',
          { status: fault.status ?? 502, headers: { 'content-type': 'text/html; charset=utf-8' } },
        )
      case 'delay':
        await new Promise((resolve) => setTimeout(resolve, fault.ms))
        return undefined
      case 'drop':
        return Response.error()
    }
  }

  async function handle(request: Request): Promise<Response> {
    const method = request.method.toUpperCase()
    let route: string
    try {
      route = new URL(request.url).pathname
    } catch {
      return appError(400, 'bad_request', 'invalid URL')
    }
    if (basePath && route.startsWith(basePath)) route = route.slice(basePath.length) || '/'

    let body: unknown
    let bodyError: Response | undefined
    if (method !== 'GET' && method !== 'HEAD' && method !== 'OPTIONS') {
      const read = await readBodyText(request, maxBodyBytes)
      if (!read.ok) {
        bodyError =
          read.reason === 'too_large'
            ? appError(413, 'bad_request', `the request body exceeds ${maxBodyBytes} bytes`)
            : badRequest('the request body is not readable UTF-8')
      } else if (read.text.trim() !== '') {
        const parsed = parseJson(read.text)
        body = parsed.ok ? parsed.value : read.text
        if (!parsed.ok) bodyError = badRequest('the request body is not valid JSON')
      }
    }
    requests.push({
      method,
      path: route,
      headers: redactHeaders(request.headers),
      body,
      at: Date.now(),
    })

    const browser = isBrowserRoute(route)
    const allowOrigin = browser
      ? allowOriginFor(request.headers.get('origin'), allowedOrigins)
      : undefined
    const withCors = (response: Response): Response => {
      if (allowOrigin === undefined || response.type === 'error') return response
      const headers = new Headers(response.headers)
      addCorsHeaders(headers, allowOrigin)
      return new Response(response.body, { status: response.status, headers })
    }

    // Injected answers carry CORS headers too: a browser must see the status or the bad body,
    // as it would from LoginID's gateway, not a CORS failure.
    const fault = takeFault(route, method)
    if (fault) {
      const response = await faultResponse(fault)
      if (response) return withCors(response)
    }

    const methods = routes.get(route)
    if (!methods) return withCors(appError(404, 'not_found', 'not found'))
    if (method === 'OPTIONS' && browser) {
      if (allowOrigin === undefined) return appError(403, 'forbidden', 'origin not allowed')
      return new Response(null, {
        status: 204,
        headers: preflightHeaders(
          allowOrigin,
          request.headers.get('access-control-request-headers'),
        ),
      })
    }
    const handler = methods.get(method)
    if (!handler) {
      const response = appError(405, 'method_not_allowed', 'method not allowed')
      response.headers.set('allow', [...methods.keys()].join(', '))
      return withCors(response)
    }
    if (bodyError) return withCors(bodyError)
    const contentType = request.headers.get('content-type') ?? ''
    if (body !== undefined && !/^application\/json\b/i.test(contentType)) {
      return withCors(appError(415, 'bad_request', 'Content-Type must be application/json'))
    }
    try {
      return withCors(await handler(request, body))
    } catch (error) {
      // A missing @simplewebauthn/server says so; anything else stays generic.
      const msg = isMfaError(error, 'ERR_WEBAUTHN_UNAVAILABLE')
        ? error.message
        : 'internal simulator error'
      return withCors(appError(500, 'internal_error', msg))
    }
  }

  const simulator: LoginIDSimulator = {
    baseUrl,
    appId,
    handle,
    get handlers(): RequestHandler[] {
      if (!handlers) {
        const factory = handlersFactory()
        if (!factory) {
          throw new MfaError(
            'ERR_INVALID_ARGUMENT',
            "sim.handlers needs msw: import the simulator from 'loginid-mfa-flow/testing'",
          )
        }
        handlers = factory(simulator)
      }
      return handlers
    },
    inbox(username: string): SimulatedMessage[] {
      return (inboxes.get(username) ?? []).map((message) => ({ ...message }))
    },
    faults: {
      add(rule: FaultRule): void {
        const checked = checkFaultRule(rule)
        faultRules.push({ rule: checked, left: checked.times ?? 1 })
      },
      clear(): void {
        faultRules = []
      },
    },
    requests,
    users,
    addUser(seed: SimulatedUserSeed): void {
      checkSeed(seed)
      users.set(seed.username, userFromSeed(seed))
    },
    setPolicy(next: SimulatorPolicy | undefined): void {
      if (next !== undefined && typeof next !== 'function') {
        throw new MfaError('ERR_INVALID_ARGUMENT', 'policy must be a function')
      }
      policy = next ?? configuredPolicy
    },
    grantExternalAuth(username: string): string {
      if (!isNonEmptyString(username)) {
        throw new MfaError('ERR_INVALID_ARGUMENT', 'username must be a non-empty string')
      }
      return mintGrant(username)
    },
    reset(): void {
      sessions.clear()
      grants.clear()
      inboxes.clear()
      requests.length = 0
      faultRules = []
      policy = configuredPolicy
      seedUsers()
    },
  }
  return simulator
}
