// Internal (loginid-mfa-flow/testing): the `/mfa/*` and `/client-events/submit` endpoints.
import { decodeBase64UrlText } from '../../../internal/base64url.js'
import { isNonEmptyString, isRecord } from '../../../internal/guards.js'
import type { MfaFactorName, PasskeyInfo } from '../../../shared/protocol.js'
import type { SimulatedPasskey } from '../../simulator-types.js'
import { failureText } from '../flow.js'
import type { SimulatorFlow } from '../flow.js'
import { payloadHashOf } from '../passkeys.js'
import { appError, badRequest, json } from '../responses.js'
import type { Handler } from '../responses.js'
import { newUserHandle } from '../state.js'
import type { SessionDraft, SimulatorState } from '../state.js'

/** Wrong guesses one OTP code allows before its session is used up. */
const MAX_OTP_ATTEMPTS = 3

function sixDigits(): string {
  const [value = 0] = crypto.getRandomValues(new Uint32Array(1))
  return String(value % 1_000_000).padStart(6, '0')
}

/** The device key of a `trustItems.auth` value: the embedded JWK of a JWS, else the raw value. */
function trustKeyOf(value: string): string {
  const parts = value.split('.')
  if (parts.length === 3) {
    try {
      const parsed: unknown = JSON.parse(decodeBase64UrlText(parts[0] as string))
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

/** What a device calls itself in `deviceInfo` (`GET /passkeys` reports it as `device`). */
function deviceNameOf(deviceInfo: Record<string, unknown> | undefined): string {
  const client = typeof deviceInfo?.clientName === 'string' ? deviceInfo.clientName : ''
  const os = typeof deviceInfo?.osName === 'string' ? deviceInfo.osName : ''
  return [client, os].filter(Boolean).join(' on ') || 'Unknown device'
}

/** Check the body of `POST /mfa/begin`; a 400 for the first bad field. */
function checkBegin(body: unknown): Response | Record<string, unknown> {
  if (!isRecord(body)) return badRequest('the body must be a JSON object')
  const { user, deviceInfo, trustItems, payload, traceId } = body
  if (!isRecord(user) || !isNonEmptyString(user.username)) {
    return badRequest('user.username is required')
  }
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
  return body
}

/** The `/mfa/*` handlers by route suffix (after `/fido2/v2`), each given the state and flow. */
export function mfaRoutes(state: SimulatorState, flow: SimulatorFlow): Record<string, Handler> {
  const { users, config } = state

  const begin: Handler = async (_request, raw) => {
    const body = checkBegin(raw)
    if (body instanceof Response) return body
    const user = body.user as Record<string, unknown> & { username: string }
    const deviceInfo = body.deviceInfo as Record<string, unknown> | undefined
    const trustItems = body.trustItems as Record<string, string> | undefined
    const payload = body.payload as string | undefined
    const username = user.username
    const usernameType = user.usernameType ?? 'other'
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
      : isNonEmptyString(user.phone)
        ? user.phone
        : usernameType === 'phone'
          ? username
          : undefined
    const draft: SessionDraft = {
      username,
      flow: known ? 'signIn' : 'signUp',
      next: [],
      done: [],
      deviceKnown,
      deviceName: deviceNameOf(deviceInfo),
      displayName: isNonEmptyString(user.displayName) ? user.displayName : username,
      userHandle: known?.userHandle ?? newUserHandle(),
      challenges: {},
      pendingPasskeys: [],
      otpRequests: 0,
      ...(deviceId !== undefined && { deviceId }),
      ...(trustKey !== undefined && { trustKey }),
      ...(email !== undefined && { email }),
      ...(phone !== undefined && { phone }),
      ...(payload !== undefined && { payload, payloadHash: await payloadHashOf(payload) }),
    }
    const decision = flow.decide(flow.contextFor(draft, 'begin'))
    if (decision instanceof Response) return decision
    if ('complete' in decision) {
      return appError(500, 'internal_error', 'the simulator policy cannot complete a flow at begin')
    }
    const session = state.newSession({ ...draft, next: [...decision.next] })
    return json(200, flow.nextBody(session))
  }

  const otpRequest: Handler = async (request, body) => {
    const session = state.sessionOf(request)
    if (session instanceof Response) return session
    if (!isRecord(body)) return badRequest('the body must be a JSON object')
    const { method, option } = body
    if (method !== 'email' && method !== 'sms') return badRequest("method must be 'email' or 'sms'")
    if (option !== undefined && typeof option !== 'string') {
      return badRequest('option must be a string')
    }
    const factor: MfaFactorName = method === 'email' ? 'otp:email' : 'otp:sms'
    const notOffered = flow.requireOffered(session, factor)
    if (notOffered) return notOffered
    const to = method === 'email' ? session.email : session.phone
    if (to === undefined) return badRequest(`the user has no ${method} contact`)
    if (option !== undefined && option !== to) {
      return badRequest('option must be the label of an offered contact')
    }
    // The resend cap: the session stays usable for the other factors it offers.
    if (session.otpRequests > config.maxOtpResends) {
      return badRequest('too many one-time codes requested in this flow; start a new one')
    }
    state.useUp(session)
    const code = sixDigits()
    const otpSession = state.newSession({
      ...session,
      otpRequests: session.otpRequests + 1,
      otp: { code, attempts: 0, channel: method, to },
    })
    state.deliver(session.username, { channel: method, to, code, at: Date.now() })
    return json(200, { session: otpSession.id })
  }

  const otpVerify: Handler = async (request, body) => {
    const session = state.sessionOf(request)
    if (session instanceof Response) return session
    if (!isRecord(body) || typeof body.otp !== 'string') return badRequest('otp is required')
    const otp = session.otp
    if (!otp) return badRequest('no OTP was requested in this session')
    if (body.otp !== otp.code) {
      otp.attempts += 1
      if (otp.attempts >= MAX_OTP_ATTEMPTS) state.useUp(session)
      return appError(401, 'invalid_otp', 'invalid one-time code')
    }
    return flow.succeed(session, otp.channel === 'email' ? 'otp:email' : 'otp:sms')
  }

  const thirdPartyVerify: Handler = async (request, body) => {
    const session = state.sessionOf(request)
    if (session instanceof Response) return session
    if (!isRecord(body) || !isNonEmptyString(body.token)) return badRequest('token is required')
    const notOffered = flow.requireOffered(session, 'external')
    if (notOffered) return notOffered
    const grant = state.grants.get(body.token)
    if (!grant || grant.username !== session.username) {
      return appError(401, 'invalid_token', 'invalid authorization token')
    }
    if (grant.used) return appError(401, 'token_used', 'authorization token already used')
    if (Date.now() >= grant.expiresAt) {
      return appError(401, 'token_expired', 'authorization token expired')
    }
    grant.used = true
    return flow.succeed(session, 'external')
  }

  const passkeyReg: Handler = async (request, body) => {
    const session = state.sessionOf(request)
    if (session instanceof Response) return session
    if (!isRecord(body) || !isRecord(body.creationResult)) {
      return badRequest('creationResult is required')
    }
    const notOffered = flow.requireOffered(session, 'passkey:reg')
    if (notOffered) return notOffered
    const creationResult = body.creationResult
    const expectedChallenge = session.challenges.reg ?? ''
    state.useUp(session)
    const verdict = await config.verifier.verifyRegistration({ creationResult, expectedChallenge })
    if (!verdict.verified) return flow.fail(session, 'passkey:reg', failureText(verdict))
    const { credential } = verdict
    const taken =
      [...users.values()].some((u) => u.passkeys.some((p) => p.credentialId === credential.id)) ||
      session.pendingPasskeys.some((p) => p.credentialId === credential.id)
    if (taken) return flow.fail(session, 'passkey:reg', 'the credential is already registered')
    const passkey: SimulatedPasskey = {
      id: crypto.randomUUID(),
      credentialId: credential.id,
      publicKey: credential.publicKey,
      signCount: credential.signCount,
      transports: credential.transports,
      aaguid: verdict.aaguid,
      createdAt: Date.now(),
      device: session.deviceName,
    }
    const registered = { ...session, pendingPasskeys: [...session.pendingPasskeys, passkey] }
    return flow.succeed(registered, 'passkey:reg', {
      passkeyId: passkey.id,
      aaguid: passkey.aaguid,
      publicKey: credential.publicKey,
      creationResult: creationResult as unknown as NonNullable<PasskeyInfo['creationResult']>,
    })
  }

  function passkeyGet(factor: 'passkey:auth' | 'passkey:tx'): Handler {
    return async (request, body) => {
      const session = state.sessionOf(request)
      if (session instanceof Response) return session
      if (!isRecord(body) || !isRecord(body.assertionResult)) {
        return badRequest('assertionResult is required')
      }
      const notOffered = flow.requireOffered(session, factor)
      if (notOffered) return notOffered
      const assertionResult = body.assertionResult
      const expectedChallenge =
        (factor === 'passkey:auth' ? session.challenges.auth : session.challenges.tx) ?? ''
      state.useUp(session)
      const user = users.get(session.username)
      const credential = user?.passkeys.find((p) => p.credentialId === assertionResult.credentialId)
      if (!user || !credential) return flow.fail(session, factor, 'unknown_credential')
      const { publicKey } = credential
      if (publicKey === undefined) {
        return flow.fail(session, factor, 'marker_passkey (a seeded passkey: true never verifies)')
      }
      const verdict = await config.verifier.verifyAssertion({
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
      if (!verdict.verified) return flow.fail(session, factor, failureText(verdict))
      credential.signCount = verdict.newSignCount
      credential.lastUsedAt = Date.now()
      return flow.succeed(session, factor, {
        passkeyId: credential.id,
        aaguid: credential.aaguid,
        publicKey,
        assertionResult: assertionResult as unknown as NonNullable<PasskeyInfo['assertionResult']>,
      })
    }
  }

  const payloadUpdate: Handler = async (request, body) => {
    const session = state.sessionOf(request)
    if (session instanceof Response) return session
    if (!isRecord(body) || !isNonEmptyString(body.payload)) return badRequest('payload is required')
    const notOffered = flow.requireOffered(session, 'passkey:tx')
    if (notOffered) return notOffered
    state.useUp(session)
    const payloadHash = await payloadHashOf(body.payload)
    const next = flow.continueWith(session, { payload: body.payload, payloadHash })
    return json(200, flow.nextBody(next))
  }

  const clientEvents: Handler = async (request, body) => {
    const session = state.sessionOf(request)
    if (session instanceof Response) return session
    if (!isRecord(body) || !isNonEmptyString(body.event)) return badRequest('event is required')
    if (body.isError !== undefined && typeof body.isError !== 'boolean') {
      return badRequest('isError must be a boolean')
    }
    return json(200, {})
  }

  return {
    '/mfa/begin': begin,
    '/mfa/otp/request': otpRequest,
    '/mfa/otp/verify': otpVerify,
    '/mfa/third-party/verify': thirdPartyVerify,
    '/mfa/passkey/auth': passkeyGet('passkey:auth'),
    '/mfa/passkey/reg': passkeyReg,
    '/mfa/passkey/tx': passkeyGet('passkey:tx'),
    '/mfa/payload': payloadUpdate,
    '/client-events/submit': clientEvents,
  }
}
