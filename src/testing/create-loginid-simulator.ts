/**
 * `createLoginIDSimulator`, exported from `loginid-mfa-flow/testing`: a stateful stand-in for
 * LoginID's MFA, passkey and management HTTP API behind one Fetch-standard `handle(request)`.
 * This module holds the options and the public object; the parts live in `./internal/`
 * (state, flow, routes, router, faults). `msw` loads only when `sim.handlers` is read.
 *
 * @module loginid-mfa-flow/testing
 */
import { appIdFromBaseUrl, normalizeBaseUrl } from '../internal/base-url.js'
import { isNonEmptyString, isRecord, isStringArray } from '../internal/guards.js'
import { MfaError } from '../shared/errors.js'
import { defaultSimulatorPolicy } from './default-simulator-policy.js'
import { createFaultEngine } from './internal/faults.js'
import { createRouter } from './internal/router.js'
import { checkSigningKey, createSimulatorKeys } from './internal/simulator-keys.js'
import { checkSeed, createSimulatorState } from './internal/state.js'
import type { SimulatorConfig } from './internal/state.js'
import { createMswHandlers } from './msw-handlers.js'
import { createPasskeyVerifier } from './passkey-verifier.js'
import type { RequestHandler } from 'msw'
import type {
  LoginIDSimulator,
  LoginIDSimulatorOptions,
  SimulatedMessage,
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

function invalid(message: string): MfaError {
  return new MfaError('ERR_INVALID_ARGUMENT', message)
}

function checkPositive(value: number, name: string): number {
  if (!Number.isFinite(value) || value <= 0) throw invalid(`${name} must be a positive number`)
  return value
}

/** A WebAuthn origin: `scheme://host[:port]` for http(s), any absolute URL otherwise. */
function isOrigin(value: unknown): value is string {
  if (!isNonEmptyString(value)) return false
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return false
  }
  return url.protocol === 'http:' || url.protocol === 'https:' ? url.origin === value : true
}

/** Check the options and fill in the defaults. */
function resolveConfig(options: LoginIDSimulatorOptions): SimulatorConfig {
  const {
    baseUrl: rawBaseUrl = DEFAULT_BASE_URL,
    apiKeys = [{ key: SIMULATOR_API_KEY, scopes: [...ALL_SCOPES] }],
    users: seeds = [],
    policy = defaultSimulatorPolicy,
    requirePasskeyRegistration = false,
    sessionTtlMs = 300_000,
    grantTtlMs = 30_000,
    tokenTtlSec = 3600,
    allowedOrigins = '*',
    rpId = 'localhost',
    origin = 'http://localhost',
    maxBodyBytes = 65_536,
    maxOtpResends = 5,
  } = options
  const baseUrl = normalizeBaseUrl(rawBaseUrl)
  const appId = options.appId ?? appIdFromBaseUrl(baseUrl)
  if (!isNonEmptyString(appId)) throw invalid('appId must be a string')
  checkPositive(sessionTtlMs, 'sessionTtlMs')
  checkPositive(grantTtlMs, 'grantTtlMs')
  checkPositive(tokenTtlSec, 'tokenTtlSec')
  checkPositive(maxBodyBytes, 'maxBodyBytes')
  if (!Number.isInteger(maxOtpResends) || maxOtpResends < 0) {
    throw invalid('maxOtpResends must be a non-negative integer')
  }
  if (typeof policy !== 'function') throw invalid('policy must be a function')
  const origins = typeof origin === 'string' ? [origin] : origin
  if (!isStringArray(origins) || origins.length === 0 || !origins.every(isOrigin)) {
    throw invalid('origin must be an origin (such as http://localhost:5173) or a list of them')
  }
  // Throws ERR_INVALID_ARGUMENT for a bad rpId; loads @simplewebauthn/server on first use only.
  const verifier = createPasskeyVerifier({ rpId, origin: origins })
  if (allowedOrigins !== '*' && !isStringArray(allowedOrigins)) {
    throw invalid("allowedOrigins must be '*' or an array of origins")
  }
  const keyList: SimulatorApiKey[] = apiKeys.map((k) => {
    if (!isRecord(k) || !isNonEmptyString(k.key) || !isStringArray(k.scopes)) {
      throw invalid('apiKeys entries need a key and scopes')
    }
    return { key: k.key, scopes: [...k.scopes] }
  })
  seeds.forEach(checkSeed)
  return {
    baseUrl,
    basePath: new URL(baseUrl).pathname.replace(/\/+$/, ''),
    appId,
    rpId,
    apiKeys: keyList,
    seeds,
    policy,
    requirePasskeyRegistration,
    sessionTtlMs,
    grantTtlMs,
    tokenTtlSec,
    allowedOrigins,
    maxBodyBytes,
    maxOtpResends,
    verifier,
  }
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
  const config = resolveConfig(options)
  const signingKey =
    options.signingKey === undefined ? undefined : checkSigningKey(options.signingKey)
  const keys = createSimulatorKeys(signingKey)
  // A bad key surfaces as a 500 of the first token route; never as an unhandled rejection.
  keys.catch(() => undefined)
  const state = createSimulatorState(config, keys)
  const faults = createFaultEngine()
  const handle = createRouter(state, faults)
  let handlers: RequestHandler[] | undefined

  const simulator: LoginIDSimulator = {
    baseUrl: config.baseUrl,
    appId: config.appId,
    handle,
    get handlers(): RequestHandler[] {
      handlers ??= createMswHandlers(simulator)
      return handlers
    },
    inbox(username: string): SimulatedMessage[] {
      return (state.inboxes.get(username) ?? []).map((message) => ({ ...message }))
    },
    faults: faults.controls,
    requests: state.requests,
    users: state.users,
    addUser(seed: SimulatedUserSeed): void {
      state.addUser(seed)
    },
    setPolicy(next: SimulatorPolicy | undefined): void {
      if (next !== undefined && typeof next !== 'function') {
        throw invalid('policy must be a function')
      }
      state.policy = next ?? config.policy
    },
    grantExternalAuth(username: string): string {
      if (!isNonEmptyString(username)) throw invalid('username must be a non-empty string')
      return state.mintGrant(username)
    },
    reset(): void {
      state.reset()
      faults.controls.clear()
    },
  }
  return simulator
}
