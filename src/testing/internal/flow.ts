// Internal (loginid-mfa-flow/testing): what the policy decides, the `next` actions a session
// offers, and how a factor's success or failure continues (401 MfaNext) or completes (200 Mfa).
import { encodeBase64Url, encodeBase64UrlText } from '../../internal/base64url.js'
import { isRecord } from '../../internal/guards.js'
import { MFA_FACTOR_NAMES } from '../../shared/protocol.js'
import type {
  MfaActionBody,
  MfaBody,
  MfaFactorName,
  MfaNextBody,
  PasskeyInfo,
} from '../../shared/protocol.js'
import type { PasskeyVerificationFailure } from '../passkey-verifier.js'
import type { PolicyContext, PolicyDecision, SimulatedUser } from '../simulator-types.js'
import {
  creationOptions,
  encodeOptions,
  newChallenge,
  payloadHashOf,
  requestOptions,
} from './passkeys.js'
import { appError, badRequest, json } from './responses.js'
import { signToken } from './simulator-keys.js'
import type { Session, SessionDraft, SimulatorState } from './state.js'

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

function isFactorName(value: unknown): value is MfaFactorName {
  return typeof value === 'string' && (MFA_FACTOR_NAMES as readonly string[]).includes(value)
}

function validDecision(decision: unknown): decision is PolicyDecision {
  if (!isRecord(decision)) return false
  if (decision.complete === true) return true
  return Array.isArray(decision.next) && decision.next.every(isFactorName)
}

/** The 401 `msg` detail of a failed passkey verification. */
export function failureText(failure: PasskeyVerificationFailure): string {
  return `${failure.reason} (${failure.message})`
}

/** The flow operations of one simulator, over its state. */
export interface SimulatorFlow {
  /** Ask the policy; a throw or an invalid answer is the simulator's 500. */
  decide(ctx: PolicyContext): PolicyDecision | Response
  contextFor(
    session: Pick<Session, 'username' | 'flow' | 'deviceKnown' | 'done' | 'payload'>,
    event: PolicyContext['event'],
    factor?: MfaFactorName,
  ): PolicyContext
  /** The MfaNext body of a session (with fresh challenges). */
  nextBody(session: Session, msg?: string): MfaNextBody
  /** A factor succeeded: complete (200 Mfa) or continue (401 MfaNext with a new session). */
  succeed(session: Session, factor: MfaFactorName, passkeyInfo?: PasskeyInfo): Promise<Response>
  /** A passkey factor failed: 401 MfaNext with what the policy offers (default `[external]`). */
  fail(session: Session, factor: MfaFactorName, reason: string): Response
  /** The 400 to answer when `factor` is not offered in `session`. */
  requireOffered(session: Session, factor: MfaFactorName): Response | undefined
  /** A new session continuing `session` (its OTP state dropped). */
  continueWith(session: Session, changes: Partial<SessionDraft>): Session
}

/** The flow operations over `state`. */
export function createSimulatorFlow(state: SimulatorState): SimulatorFlow {
  const { config, users } = state

  function offerable(factor: MfaFactorName, session: Session): boolean {
    const user = users.get(session.username)
    const hasPasskeys = (user?.passkeys.length ?? 0) > 0
    switch (factor) {
      case 'passkey:auth':
        return session.flow === 'signIn' && hasPasskeys
      case 'passkey:tx':
        return session.flow === 'signIn' && hasPasskeys && session.payload !== undefined
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
          requestOptions({ rpId: config.rpId, challenge, credentials: user?.passkeys ?? [] }),
        )
        return { action, options: [{ name: 'assertionOptions', value }] }
      }
      if (factor === 'passkey:reg') {
        const challenge = newChallenge()
        session.challenges.reg = challenge
        const value = encodeOptions(
          creationOptions({
            rpId: config.rpId,
            rpName: config.appId,
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

  const flow: SimulatorFlow = {
    contextFor(session, event, factor) {
      return {
        event,
        username: session.username,
        user: users.get(session.username),
        flow: session.flow,
        deviceKnown: session.deviceKnown,
        done: [...session.done],
        requirePasskeyRegistration: config.requirePasskeyRegistration,
        ...(factor !== undefined && { factor }),
        ...(session.payload !== undefined && { payload: session.payload }),
      }
    },
    decide(ctx) {
      let decision: unknown
      try {
        decision = state.policy(ctx)
      } catch {
        return appError(500, 'internal_error', 'the simulator policy threw')
      }
      if (!validDecision(decision)) {
        return appError(500, 'internal_error', 'the simulator policy returned an invalid decision')
      }
      return decision
    },
    nextBody,
    continueWith(session, changes) {
      const { otp: _otp, id: _id, expiresAt: _expiresAt, ...rest } = session
      return state.newSession({ ...rest, ...changes })
    },
    async succeed(session, factor, passkeyInfo) {
      state.useUp(session)
      const done = [...session.done, factor]
      const decision = flow.decide(flow.contextFor({ ...session, done }, 'success', factor))
      if (decision instanceof Response) return decision
      if ('complete' in decision) {
        return complete({ ...session, done }, passkeyInfo, factor === 'passkey:tx')
      }
      const next = flow.continueWith(session, { done, next: [...decision.next] })
      return json(401, nextBody(next))
    },
    fail(session, factor, reason) {
      state.useUp(session)
      const decision = flow.decide(flow.contextFor(session, 'failure', factor))
      if (decision instanceof Response) return decision
      if ('complete' in decision) {
        return appError(401, 'unauthorized', `passkey verification failed: ${reason}`)
      }
      const next = flow.continueWith(session, { next: [...decision.next] })
      return json(401, nextBody(next, `Passkey verification failed: ${reason}.`))
    },
    requireOffered(session, factor) {
      if (session.next.includes(factor)) return undefined
      return badRequest(`${factor} is not offered in this session`)
    },
  }

  /** The user a completed flow belongs to: the known one, or the one a sign-up creates. */
  function userFor(session: Session): SimulatedUser {
    const known = users.get(session.username)
    if (known) return known
    const user: SimulatedUser = {
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
    return user
  }

  async function complete(
    session: Session,
    passkeyInfo: PasskeyInfo | undefined,
    txDone: boolean,
  ): Promise<Response> {
    const keys = await state.keys
    const user = userFor(session)
    user.passkeys.push(...session.pendingPasskeys)
    let deviceId = session.deviceId
    if (deviceId === undefined || !user.devices.includes(deviceId)) {
      deviceId = crypto.randomUUID()
      user.devices.push(deviceId)
    }
    if (session.trustKey !== undefined && !user.trustItems.includes(session.trustKey)) {
      user.trustItems.push(session.trustKey)
    }
    const ttl = config.tokenTtlSec
    const common = { iss: config.baseUrl, aud: config.appId, sub: user.id, username: user.username }
    const [accessToken, idToken, refreshToken] = await Promise.all([
      signToken(
        keys,
        {
          ...common,
          jti: crypto.randomUUID(),
          tokenType: 'jwtAccess',
          scopes: [],
          rpId: config.rpId,
          verify: '/fido2/v2/mgmt/token/verify',
          ...(passkeyInfo && { credID: passkeyInfo.passkeyId }),
        },
        ttl,
      ),
      signToken(keys, { ...common, jti: crypto.randomUUID(), tokenType: 'idToken' }, ttl),
      signToken(keys, { ...common, jti: crypto.randomUUID(), tokenType: 'refreshToken' }, ttl),
    ])
    const body: MfaBody = { flow: session.flow, idToken, accessToken, refreshToken, deviceId }
    if (txDone && session.payload !== undefined) {
      const digest = session.payloadHash ?? (await payloadHashOf(session.payload))
      body.payload = encodeBase64UrlText(session.payload)
      body.payloadSignature = await signToken(
        keys,
        {
          ...common,
          jti: crypto.randomUUID(),
          tokenType: 'payloadSignature',
          txHash: encodeBase64Url(digest),
        },
        ttl,
      )
    }
    if (passkeyInfo) body.passkeyInfo = passkeyInfo
    return json(200, body)
  }

  return flow
}
