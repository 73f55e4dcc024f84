/**
 * Public types of the LoginID simulator, exported from `loginid-mfa-flow/testing`.
 *
 * @module loginid-mfa-flow/testing
 */
import type { JWK } from 'jose'
import type { RequestHandler } from 'msw'
import type { MfaFactorName, MfaFlow } from '../shared/protocol.js'

/** A user the simulator knows from the start (and again after `reset()`). */
export interface SimulatedUserSeed {
  /** The LoginID username. */
  username: string
  /** Email contact, offered by `otp:email`. */
  email?: string
  /** Phone contact, offered by `otp:sms`. */
  phone?: string
  /**
   * Give the user one **marker** passkey: a random credential id without a public key. The
   * default policy then offers `passkey:auth` on a known device, but every assertion for it fails
   * verification (401 offering `external`), since nothing can sign for it. Use it to test the
   * fallback; use {@link SimulatedUserSeed.passkeys} for a passkey that signs in.
   * @defaultValue false
   */
  passkey?: boolean
  /**
   * Real passkeys the user starts with, each verified for real on `passkey:auth` /
   * `passkey:tx`. A `SoftwareCredential` (from `createSoftwareAuthenticator().credentials`
   * or `createCredential`) fits as is. All of them must share one `userHandle`, which becomes
   * the user's WebAuthn user handle.
   */
  passkeys?: SimulatedPasskeySeed[]
  /** Device ids (as `deviceInfo.deviceId` sends them) that count as known devices of the user. */
  devices?: string[]
}

/**
 * A passkey a user starts with (see {@link SimulatedUserSeed.passkeys}): the public part of a
 * credential. A `SoftwareCredential` of the software authenticator is one.
 */
export interface SimulatedPasskeySeed {
  /** The WebAuthn credential id, base64url. */
  id: string
  /** The credential's COSE_Key, base64url. */
  cosePublicKey: string
  /** The WebAuthn user handle the authenticator stored with it (`user.id`), base64url. */
  userHandle: string
  /**
   * The last signature counter the authenticator reported.
   * @defaultValue 0
   */
  signCount?: number
  /**
   * Transports to put into `allowCredentials`.
   * @defaultValue ['internal']
   */
  transports?: string[]
  /**
   * The authenticator's AAGUID.
   * @defaultValue all zeros
   */
  aaguid?: string
}

/** A passkey the simulator holds for a user. */
export interface SimulatedPasskey {
  /** LoginID's internal passkey id (a UUID). */
  id: string
  /** The WebAuthn credential id, base64url. */
  credentialId: string
  /**
   * The credential's COSE_Key, base64url, from the verified attestation (or the seed).
   * `undefined` for a marker passkey (`passkey: true` seed), which never verifies.
   */
  publicKey?: string
  /** The signature counter of the last verified ceremony (0 after registration). */
  signCount: number
  /** Transports from `creationResult.transports`. */
  transports?: string[]
  /** The authenticator's AAGUID (all zeros for `none` attestation). */
  aaguid: string
  /** Creation time, epoch ms. */
  createdAt: number
  /** Last successful use, epoch ms. */
  lastUsedAt?: number
  /**
   * What the registering device called itself (`deviceInfo.clientName` / `osName` of `begin`);
   * `GET /passkeys` reports it as `device` ('Unknown device' when absent, as for seeded passkeys).
   */
  device?: string
}

/** A user as the simulator keeps it. */
export interface SimulatedUser {
  /** Stable user id, the `sub` of every token (a UUID). */
  id: string
  username: string
  email?: string
  phone?: string
  /** The WebAuthn user handle (`user.id` of creation options), base64url. */
  userHandle: string
  /** The user's passkeys. */
  passkeys: SimulatedPasskey[]
  /** Device ids the simulator issued to this user (or that were seeded). */
  devices: string[]
  /** Device keys of `trustItems.auth` values seen in flows this user completed. */
  trustItems: string[]
}

/** One OTP "delivered" by the simulator. */
export interface SimulatedMessage {
  channel: 'email' | 'sms'
  /** The contact the code went to. */
  to: string
  /** The 6-digit code. */
  code: string
  /** Delivery time, epoch ms. */
  at: number
}

/** What a fault does to a matching request. The request is then not processed. */
export type FaultAction =
  | {
      type: 'status'
      /** HTTP status to answer. */
      status: number
      /**
       * JSON body to answer.
       * @defaultValue `{ msg: 'injected fault', msgCode }`: `internal_error` for 5xx,
       * `unauthorized` for 401, `forbidden` for 403, `not_found` for 404, else `bad_request`
       */
      body?: unknown
    }
  | {
      type: 'malformed'
      /** @defaultValue 200 */
      status?: number
    }
  | {
      type: 'html'
      /** @defaultValue 502 */
      status?: number
    }
  | {
      type: 'delay'
      /** Delay before the request is processed normally, in milliseconds. */
      ms: number
    }
  | { type: 'drop' }

/** A fault injection rule: the next `times` requests to `path` get `fault`. */
export interface FaultRule {
  /** Path, with or without the `/fido2/v2` prefix (`/mfa/begin` = `/fido2/v2/mfa/begin`). */
  path: string
  /** HTTP method; without it any method but `OPTIONS` matches. */
  method?: string
  /**
   * How many requests the rule affects (a positive integer).
   * @defaultValue 1
   */
  times?: number
  /** What happens. */
  fault: FaultAction
}

/** One request the simulator saw. */
export interface SimulatedRequest {
  method: string
  /** Path without host or query. */
  path: string
  /**
   * Lower-case header names; the credential headers `authorization` (sessions, access tokens,
   * Basic API keys), `proxy-authorization` and `cookie` are `'[REDACTED]'`.
   */
  headers: Record<string, string>
  /**
   * The parsed JSON body, the raw text when it is not JSON, or `undefined`. Kept as sent, so a
   * test can check what a client posted: it may hold simulator-issued secrets (a grant token in
   * `third-party/verify`, an OTP code, an access token in `/mgmt/token/verify`), which are
   * meaningless outside this simulator. Do not copy it into logs of a real deployment.
   */
  body: unknown
  /** Arrival time, epoch ms. */
  at: number
}

/** What the policy is asked about. */
export interface PolicyContext {
  /** `begin`; a factor succeeded (`success`); a factor failed (`failure`, passkeys). */
  event: 'begin' | 'success' | 'failure'
  username: string
  /** `undefined` for an unknown user (a sign-up). */
  user: SimulatedUser | undefined
  flow: MfaFlow
  /** Whether the device is known for this user (issued `deviceId` or a seen trust item). */
  deviceKnown: boolean
  /** The factor that just succeeded or failed. */
  factor?: MfaFactorName
  /** Factors completed in this flow so far (including `factor` on `success`). */
  done: MfaFactorName[]
  requirePasskeyRegistration: boolean
  /** The transaction payload of the flow (`begin` `payload` or `/mfa/payload`), if any. */
  payload?: string
}

/** The policy's answer: the factors to offer next, or the flow is complete. */
export type PolicyDecision = { next: MfaFactorName[] } | { complete: true }

/** Decides which factors `begin` and each success or failure offer. */
export type SimulatorPolicy = (ctx: PolicyContext) => PolicyDecision

/** A management API key and its scopes. */
export interface SimulatorApiKey {
  key: string
  /** Scopes such as `external:verify`, `passkey:read`. */
  scopes: string[]
}

/** Options of {@link createLoginIDSimulator}. */
export interface LoginIDSimulatorOptions {
  /**
   * Base URL the simulator answers on (MSW). `startLoginIDSimulator` uses its own URL.
   * @defaultValue 'https://sim-app.api.loginid.test'
   */
  baseUrl?: string
  /**
   * App id, the `aud` of tokens.
   * @defaultValue the first DNS label of `baseUrl`
   */
  appId?: string
  /**
   * Management API keys.
   * @defaultValue one key {@link SIMULATOR_API_KEY} with every scope
   */
  apiKeys?: SimulatorApiKey[]
  /** Users known from the start. */
  users?: SimulatedUserSeed[]
  /**
   * Which factors to offer.
   * @defaultValue {@link defaultSimulatorPolicy}
   */
  policy?: SimulatorPolicy
  /**
   * Ask users without a passkey to register one after `external`.
   * @defaultValue false
   */
  requirePasskeyRegistration?: boolean
  /**
   * MFA session lifetime, in milliseconds.
   * @defaultValue 300000
   */
  sessionTtlMs?: number
  /**
   * Grant token lifetime, in milliseconds.
   * @defaultValue 30000
   */
  grantTtlMs?: number
  /**
   * Lifetime of issued JWTs, in seconds.
   * @defaultValue 3600
   */
  tokenTtlSec?: number
  /**
   * Origins allowed by CORS on the browser-facing routes.
   * @defaultValue '*'
   */
  allowedOrigins?: '*' | string[]
  /**
   * WebAuthn relying party id put into passkey options.
   * @defaultValue 'localhost'
   */
  rpId?: string
  /**
   * The origin, or the list of origins, `clientDataJSON.origin` of a passkey result must equal
   * (for a page on `http://localhost:5173`, pass exactly that).
   * @defaultValue 'http://localhost'
   */
  origin?: string | string[]
  /**
   * Largest accepted request body, in bytes; larger bodies get 413.
   * @defaultValue 65536
   */
  maxBodyBytes?: number
  /**
   * One-time codes a flow may request after its first (`POST /mfa/otp/request`). Each code
   * allows 3 wrong guesses, so a flow allows at most `3 × (maxOtpResends + 1)`. Past the cap,
   * `otp/request` answers 400 `bad_request` and the session stays usable for its other factors.
   * @defaultValue 5
   */
  maxOtpResends?: number
  /**
   * The ES256 key tokens are signed with: a private JWK (`kty: 'EC'`, `crv: 'P-256'`, `x`, `y`,
   * `d`, optional `kid`; without `kid`, its RFC 7638 thumbprint). Pass the same key after a
   * restart and tokens issued before it still verify against the JWKS. Without it every
   * simulator makes a new key. The CLI's `--key-file` keeps one in a file.
   */
  signingKey?: JWK
}

/** The simulator's fault injection controls. */
export interface SimulatorFaults {
  /** Add a rule; rules are tried in insertion order. */
  add(rule: FaultRule): void
  /** Remove every rule. */
  clear(): void
}

/** A stateful stand-in for LoginID. */
export interface LoginIDSimulator {
  /** The base URL without a trailing slash. */
  readonly baseUrl: string
  /** The app id (`aud` of tokens). */
  readonly appId: string
  /** The Fetch-standard core: answer one request. A dropped connection is `Response.error()`. */
  handle(request: Request): Promise<Response>
  /** MSW 2 handlers for `baseUrl`: `setupServer(...sim.handlers)`. */
  readonly handlers: RequestHandler[]
  /** OTPs delivered to a user, oldest first. */
  inbox(username: string): SimulatedMessage[]
  /** Fault injection. */
  readonly faults: SimulatorFaults
  /** Every request seen since the last `reset()`, oldest first. */
  readonly requests: SimulatedRequest[]
  /** Users by username. */
  readonly users: ReadonlyMap<string, SimulatedUser>
  /** Add (or replace) a user. */
  addUser(seed: SimulatedUserSeed): void
  /** Replace the policy; `undefined` restores the configured (or default) one. */
  setPolicy(policy: SimulatorPolicy | undefined): void
  /** Mint an external-auth grant token, as `POST /mgmt/grant/external-auth` does. */
  grantExternalAuth(username: string): string
  /** Forget sessions, grants, inbox, requests, faults and custom policy; re-seed the users. */
  reset(): void
}

/** Options of {@link startLoginIDSimulator}. */
export interface StartLoginIDSimulatorOptions extends LoginIDSimulatorOptions {
  /**
   * TCP port; 0 picks any free port.
   * @defaultValue 0
   */
  port?: number
  /**
   * Interface to listen on.
   * @defaultValue '127.0.0.1'
   */
  host?: string
}

/** A simulator served over real HTTP. */
export interface RunningLoginIDSimulator {
  /** `http://<host>:<port>`. */
  baseUrl: string
  /** The simulator behind the server. */
  simulator: LoginIDSimulator
  /** Stop listening and close every open connection. */
  close(): Promise<void>
}
