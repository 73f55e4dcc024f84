// Internal: the built-in client's view of LoginID's answers, exactly as `LoginIDMfa` derives it
// (PROTOCOL.md b.4): the stored `MfaInfo`, `toMfaSessionDetails`, the flow, the passkey options
// and the device information sent with `begin`.
import type {
  DeviceInfo,
  MfaActionBody,
  MfaBody,
  MfaFactorName,
  MfaFlow,
  MfaSessionResult,
  RemainingFactor,
} from '../../shared/protocol.js'
import { NEXT_ACTION_PRIORITY, factorOf } from '../../shared/factors.js'
import { decodeBase64UrlText } from '../../internal/base64url.js'
import { isRecord as isObject } from '../../internal/guards.js'

/** What the client knows about one MFA session (the shape `LoginIDMfa` stores as `MfaInfo`). */
export interface MfaInfo {
  username?: string
  flow?: MfaFlow
  session?: string
  next?: MfaActionBody[]
}

/**
 * `MfaSessionResult` from stored info and, when the flow completed, LoginID's `Mfa` body:
 * exactly `toMfaSessionDetails` of `@loginid/websdk3` (PROTOCOL.md b.4), without trust ids.
 */
export function toSessionResult(info: MfaInfo, data: MfaBody = {}): MfaSessionResult {
  // Tolerant: skip entries without an action name, and options that are not objects.
  // Stryker disable next-line ArrayDeclaration: the fallback list goes through the same object filter
  const next = (Array.isArray(info.next) ? info.next : []).filter(
    (a) => isObject(a) && isObject(a.action) && typeof a.action.name === 'string',
  )
  const isComplete = !!(data.accessToken || data.payloadSignature)
  const remainingFactors = next.map(({ action, options: raw }): RemainingFactor => {
    // Stryker disable next-line ArrayDeclaration: a non-object entry is skipped by every use below
    const options = Array.isArray(raw) ? raw.filter(isObject) : []
    const factor: RemainingFactor = {
      type: action.name as MfaFactorName,
      label: typeof action.label === 'string' ? action.label : action.name,
    }
    if (typeof action.desc === 'string' && action.desc) factor.description = action.desc
    const kind = factorOf(action.name)?.kind
    if (kind === 'otp') {
      const labels = options.flatMap((o) =>
        typeof o.label === 'string' && o.label ? [o.label] : [],
      )
      if (labels.length > 0) factor.options = labels
    }
    if (kind === 'passkey') {
      // Skip trust-id options (merchantTrustID, walletTrustID): PROTOCOL.md f.9.
      const value = options.find(
        (o) => typeof o.value === 'string' && o.value && !String(o.name).endsWith('TrustID'),
      )?.value
      if (value) factor.value = value
    }
    return factor
  })
  const nextAction = NEXT_ACTION_PRIORITY.find((name) => next.some((a) => a.action.name === name))
  return {
    remainingFactors,
    isComplete,
    ...(info.flow && { flow: info.flow }),
    ...(info.username && { username: info.username }),
    ...(info.session && { session: info.session }),
    ...(nextAction && { nextAction }),
    ...(data.idToken && { idToken: data.idToken }),
    ...(data.accessToken && { accessToken: data.accessToken }),
    ...(data.refreshToken && { refreshToken: data.refreshToken }),
    ...(data.payloadSignature && { payloadSignature: data.payloadSignature }),
    ...(isComplete && data.deviceId && { deviceId: data.deviceId }),
    ...(data.passkeyInfo && { passkeyCredential: data.passkeyInfo }),
  }
}

/** LoginID's flow, tolerating other casings (`"signup"` in LoginID's docs: PROTOCOL.md f.10). */
export function toFlow(flow: unknown): MfaFlow | undefined {
  const lower = typeof flow === 'string' ? flow.toLowerCase() : ''
  return lower === 'signup' ? 'signUp' : lower === 'signin' ? 'signIn' : undefined
}

/** Passkey options from an action value: base64url JSON, a bare segment or a JWT (PROTOCOL.md c.1). */
export function decodePasskeyOptions(value: string): Record<string, unknown> | undefined {
  try {
    const segment = value.includes('.') ? (value.split('.')[1] ?? '') : value
    const json: unknown = JSON.parse(decodeBase64UrlText(segment))
    return isObject(json) ? json : undefined
  } catch {
    return undefined
  }
}

/** Best-effort device information (PROTOCOL.md a.0 `DeviceInfo`); never throws. */
export function deviceInfo(deviceId: string | undefined): DeviceInfo {
  const info: DeviceInfo = { clientType: 'other' }
  try {
    if (typeof window !== 'undefined' && typeof navigator !== 'undefined') {
      info.clientType = 'browser'
      if (window.screen) {
        info.screenWidth = window.screen.width
        info.screenHeight = window.screen.height
      }
    }
  } catch {
    // best effort only
  }
  if (deviceId) info.deviceId = deviceId
  return info
}
