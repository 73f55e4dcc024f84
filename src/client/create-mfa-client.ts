/**
 * `loginid-mfa-flow`: {@link createMfaClient}, the built-in LoginID MFA client (the protocol of
 * `LoginIDMfa` over `ofetch`, with an explicit session, no cookies and no analytics).
 *
 * @module
 */
import { createFetch, ofetch } from 'ofetch'
import { MfaError } from '../shared/errors.js'
import type {
  DeviceInfo,
  MfaActionBody,
  MfaBody,
  MfaFactorName,
  MfaFlow,
  MfaPerformActionOptions,
  MfaSessionResult,
  PasskeyCreationOptions,
  PasskeyRequestOptions,
  RemainingFactor,
} from '../shared/protocol.js'
import { MFA_FACTOR_NAMES } from '../shared/protocol.js'
import { toMfaError } from '../internal/http.js'
import { appIdFromBaseUrl, normalizeBaseUrl } from '../internal/base-url.js'
import { abortError, postJson } from './internal/post-json.js'
import { toPasskeyError } from './webauthn-errors.js'
import type { BuiltInMfaClient, CreateMfaClientOptions } from './types.js'

/** What the client knows about one MFA session (the shape `LoginIDMfa` stores as `MfaInfo`). */
interface MfaInfo {
  username?: string
  flow?: MfaFlow
  session?: string
  next?: MfaActionBody[]
}

/** `nextAction` priority, as `LoginIDMfa` derives it (PROTOCOL.md b.4). */
const PRIORITY = MFA_FACTOR_NAMES.slice(0, 6)
const MAX_SESSIONS = 32

const invalid = (message: string): MfaError => new MfaError('ERR_INVALID_ARGUMENT', message)
const bad = (message: string, path?: string): MfaError =>
  new MfaError('ERR_BAD_RESPONSE', message, path ? { method: 'POST', path } : {})
const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

/**
 * `MfaSessionResult` from stored info and, when the flow completed, LoginID's `Mfa` body:
 * exactly `toMfaSessionDetails` of `@loginid/websdk3` (PROTOCOL.md b.4), without trust ids.
 */
function toSessionResult(info: MfaInfo, data: MfaBody = {}): MfaSessionResult {
  // Tolerant: skip entries without an action name, and options that are not objects.
  const next = (Array.isArray(info.next) ? info.next : []).filter(
    (a) => isObject(a) && isObject(a.action) && typeof a.action.name === 'string',
  )
  const isComplete = !!(data.accessToken || data.payloadSignature)
  const remainingFactors = next.map(({ action, options: raw }): RemainingFactor => {
    const options = Array.isArray(raw) ? raw.filter(isObject) : []
    const factor: RemainingFactor = {
      type: action.name as MfaFactorName,
      label: typeof action.label === 'string' ? action.label : action.name,
    }
    if (typeof action.desc === 'string' && action.desc) factor.description = action.desc
    if (action.name === 'otp:email' || action.name === 'otp:sms') {
      const labels = options.flatMap((o) =>
        typeof o.label === 'string' && o.label ? [o.label] : [],
      )
      if (labels.length > 0) factor.options = labels
    }
    if (action.name.startsWith('passkey:')) {
      // Skip trust-id options (merchantTrustID, walletTrustID): PROTOCOL.md f.9.
      const value = options.find(
        (o) => typeof o.value === 'string' && o.value && !String(o.name).endsWith('TrustID'),
      )?.value
      if (value) factor.value = value
    }
    return factor
  })
  const nextAction = PRIORITY.find((name) => next.some((a) => a.action.name === name))
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
function toFlow(flow: unknown): MfaFlow | undefined {
  const lower = typeof flow === 'string' ? flow.toLowerCase() : ''
  return lower === 'signup' ? 'signUp' : lower === 'signin' ? 'signIn' : undefined
}

/** Passkey options from an action value: base64url JSON, a bare segment or a JWT (PROTOCOL.md c.1). */
function decodePasskeyOptions(value: string): Record<string, unknown> | undefined {
  try {
    const segment = value.includes('.') ? (value.split('.')[1] ?? '') : value
    const binary = atob(segment.replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, ''))
    const json: unknown = JSON.parse(
      new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0))),
    )
    return isObject(json) ? json : undefined
  } catch {
    return undefined
  }
}

/** Best-effort device information (PROTOCOL.md a.0 `DeviceInfo`); never throws. */
function deviceInfo(deviceId: string | undefined): DeviceInfo {
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

/**
 * Create the built-in LoginID MFA client. It speaks LoginID's `/fido2/v2/mfa/*` protocol as
 * `LoginIDMfa` from `@loginid/websdk3` does (same results, same `nextAction` rule, a 401 with a
 * session is "more factors needed"), with these differences: the session is explicit (kept per
 * session in memory, or in `storage`), every call takes an `AbortSignal`, no cookies are read or
 * set, no analytics or client events are sent, and it works in Node, workers and browsers.
 *
 * Every failure is an {@link MfaError}; invalid arguments fail before any request.
 *
 * @see https://docs.loginid.io/user-scenario/authentication/mfa/startup/
 *
 * @example Run a flow with runMfa
 * ```ts
 * import { createMfaClient, fetchGrantToken, runMfa } from 'loginid-mfa-flow'
 *
 * // Partial: your app's login dialog.
 * declare function showPasswordDialog(): Promise<{ password: string } | null>
 *
 * const client = createMfaClient({ baseUrl: 'https://myapp.api.loginid.io' })
 * const result = await runMfa({
 *   client,
 *   username: 'ada@example.com',
 *   externalAuthenticator: () => showPasswordDialog(),
 *   tokenProvider: fetchGrantToken('/api/loginid/external-auth'),
 * })
 * if (result.status === 'complete') console.log(result.accessToken !== undefined)
 * ```
 */
export function createMfaClient(options: CreateMfaClientOptions): BuiltInMfaClient {
  if (!isObject(options)) throw invalid('createMfaClient needs an options object')
  const { fetch: customFetch, timeoutMs = 15_000, storage, webauthn } = options
  const baseUrl = normalizeBaseUrl(options.baseUrl)
  const appId = options.appId ?? appIdFromBaseUrl(baseUrl)
  if (typeof appId !== 'string' || !appId) throw invalid('appId must be a non-empty string')
  if (!(timeoutMs > 0 && timeoutMs <= 2_147_483_647)) {
    throw invalid('timeoutMs must be a positive number of milliseconds')
  }
  if (customFetch !== undefined && typeof customFetch !== 'function') {
    throw invalid('fetch must be a function')
  }
  if (
    storage !== undefined &&
    !(['getItem', 'setItem', 'removeItem'] as const).every((m) => typeof storage[m] === 'function')
  ) {
    throw invalid('storage must have getItem, setItem and removeItem')
  }
  if (
    webauthn !== undefined &&
    !(typeof webauthn.create === 'function' && typeof webauthn.get === 'function')
  ) {
    throw invalid('webauthn must have create and get')
  }
  const $fetch = customFetch ? createFetch({ fetch: customFetch }) : ofetch
  const sessionKey = `LoginID_${appId}_mfa-session`
  const deviceKey = `LoginID_${appId}_device-id`

  const sessions = new Map<string, MfaInfo>()
  let current: MfaInfo | undefined
  let completion: MfaBody = {}
  let deviceId: string | undefined

  async function store<T>(
    fn: (s: NonNullable<typeof storage>) => T | Promise<T>,
  ): Promise<T | undefined> {
    if (!storage) return undefined
    try {
      return await fn(storage)
    } catch (cause) {
      throw new MfaError('ERR_STORAGE', 'the MFA client storage failed', { cause })
    }
  }

  async function loadCurrent(): Promise<MfaInfo | undefined> {
    if (!current) {
      const raw = await store((s) => s.getItem(sessionKey))
      if (raw) {
        try {
          const parsed: unknown = JSON.parse(raw)
          if (isObject(parsed)) current = parsed as MfaInfo
        } catch {
          // a corrupt entry is the same as none
        }
      }
    }
    return current
  }

  async function save(info: MfaInfo, replaces?: string): Promise<void> {
    if (replaces) sessions.delete(replaces)
    if (info.session) {
      sessions.set(info.session, info)
      if (sessions.size > MAX_SESSIONS) sessions.delete(sessions.keys().next().value as string)
    }
    current = info
    await store((s) => s.setItem(sessionKey, JSON.stringify(info)))
  }

  /** The info of a session (explicit, or the current one). */
  async function infoFor(session: string | undefined): Promise<MfaInfo> {
    const latest = await loadCurrent()
    if (!session) return latest ?? {}
    return sessions.get(session) ?? (latest?.session === session ? latest : { session })
  }

  async function post(
    path: string,
    body: unknown,
    session: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<{ status: number; data: unknown }> {
    const full = `/fido2/v2/mfa/${path}`
    const res = await postJson($fetch, baseUrl + full, body, {
      path: full,
      headers: session ? { Authorization: session } : undefined,
      credentials: 'omit',
      signal,
      timeoutMs,
    })
    if (res.status >= 200 && res.status < 300) return res
    // 401 with a session = more factors needed (PROTOCOL.md a.10).
    if (
      res.status === 401 &&
      isObject(res.data) &&
      typeof res.data.session === 'string' &&
      res.data.session
    ) {
      return res
    }
    throw toMfaError({ status: res.status, data: res.data }, { method: 'POST', path: full })
  }

  /** Accept an MfaNext or Mfa body (200, or 401 with a session) for `info`'s flow. */
  async function accept(data: unknown, info: MfaInfo, path: string): Promise<MfaSessionResult> {
    const full = `/fido2/v2/mfa/${path}`
    if (!isObject(data)) throw bad('LoginID sent a body that is not a JSON object', full)
    const body = data as MfaBody & { session?: unknown; next?: unknown }
    const next = body.next ?? []
    // Entries without an action name are skipped (toSessionResult); a non-list is an error.
    if (!Array.isArray(next)) throw bad('LoginID sent an invalid list of next actions', full)
    const flow = toFlow(body.flow) ?? info.flow
    const base = { ...(info.username && { username: info.username }), ...(flow && { flow }) }
    if (body.accessToken || body.payloadSignature) {
      const done: MfaInfo = { ...base, next: [] }
      await save(done, info.session)
      completion = body
      if (typeof body.deviceId === 'string' && body.deviceId) {
        deviceId = body.deviceId
        await store((s) => s.setItem(deviceKey, body.deviceId as string))
      }
      return toSessionResult(done, body)
    }
    if (typeof body.session !== 'string' || !body.session) {
      throw bad('LoginID sent neither tokens nor a session', full)
    }
    const updated: MfaInfo = { ...base, session: body.session, next: next as MfaActionBody[] }
    await save(updated, info.session)
    completion = {}
    return toSessionResult(updated)
  }

  async function passkey(
    factor: MfaFactorName,
    info: MfaInfo,
    payload: string | undefined,
    opts: MfaPerformActionOptions,
  ): Promise<MfaSessionResult> {
    const value =
      payload ?? toSessionResult(info).remainingFactors.find((f) => f.type === factor)?.value
    if (!value) throw invalid(`no passkey options for ${factor}: pass options.payload`)
    const decoded = decodePasskeyOptions(value)
    const creation =
      isObject(decoded?.rp) && isObject(decoded.user) && Array.isArray(decoded.pubKeyCredParams)
    if (!decoded || typeof decoded.challenge !== 'string') {
      throw payload
        ? invalid('options.payload holds no passkey options')
        : bad('LoginID sent invalid passkey options')
    }
    if (!webauthn) {
      throw new MfaError(
        'ERR_WEBAUTHN_UNAVAILABLE',
        'no WebAuthn adapter: pass createMfaClient({ webauthn })',
      )
    }
    const { signal } = opts
    let body: unknown
    try {
      if (creation) {
        const creationOptions = decoded as unknown as PasskeyCreationOptions
        if (opts.displayName) creationOptions.user.displayName = opts.displayName
        body = { creationResult: await webauthn.create(creationOptions, signal) }
      } else {
        const extra = opts.autoFill ? { autoFill: true } : {}
        body = {
          assertionResult: await webauthn.get(
            decoded as unknown as PasskeyRequestOptions,
            signal,
            extra,
          ),
        }
      }
    } catch (error) {
      if (signal?.aborted) throw abortError(signal)
      throw toPasskeyError(error, creation ? 'create' : 'get')
    }
    const path = creation ? 'passkey/reg' : factor === 'passkey:tx' ? 'passkey/tx' : 'passkey/auth'
    const res = await post(path, body, info.session, signal)
    return accept(res.data, info, path)
  }

  const client: BuiltInMfaClient = {
    async beginFlow(username, beginOptions = {}) {
      if (typeof username !== 'string' || !username.trim()) {
        throw invalid('username must be a non-empty string')
      }
      if (typeof beginOptions !== 'object' || !beginOptions)
        throw invalid('beginFlow options must be an object')
      const { displayName, usernameType, txPayload, traceId, name, phone, signal } = beginOptions
      const merchant = beginOptions.merchantTrustId || beginOptions.checkoutId
      if (deviceId === undefined) deviceId = (await store((s) => s.getItem(deviceKey))) ?? ''
      const body = {
        user: {
          username,
          usernameType: usernameType || 'other',
          displayName: displayName || username,
          ...(name && { name }),
          ...(phone && { phone }),
        },
        deviceInfo: deviceInfo(beginOptions.deviceId || deviceId),
        trustItems: merchant ? { merchant } : {},
        ...(txPayload && { payload: txPayload }),
        ...(traceId && { traceId }),
      }
      const res = await post('begin', body, undefined, signal)
      return accept(res.data, { username }, 'begin')
    },

    async performAction(factor, actionOptions = {}) {
      if (!MFA_FACTOR_NAMES.includes(factor))
        throw invalid(`unknown MFA factor "${String(factor)}"`)
      if (typeof actionOptions !== 'object' || !actionOptions)
        throw invalid('performAction options must be an object')
      const { signal, txPayload } = actionOptions
      const payload = actionOptions.payload || undefined
      let info = await infoFor(actionOptions.session)
      if (!info.session)
        throw invalid('no MFA session: call beginFlow first or pass options.session')
      if ((factor === 'external' || factor === 'otp:verify') && !payload) {
        throw invalid(`${factor} needs options.payload`)
      }

      if (factor === 'passkey:tx' && txPayload) {
        // Update the transaction payload first; LoginID answers with a new session and options.
        const res = await post('payload', { payload: txPayload }, info.session, signal)
        const updated = await accept(res.data, info, 'payload')
        // This flow's new info (not `current`: another flow may have replaced it meanwhile).
        info = (updated.session && sessions.get(updated.session)) || info
        return passkey(factor, info, undefined, actionOptions)
      }
      if (factor.startsWith('passkey:')) return passkey(factor, info, payload, actionOptions)

      if (factor === 'otp:email' || factor === 'otp:sms') {
        const contact =
          payload ??
          toSessionResult(info).remainingFactors.find((f) => f.type === factor)?.options?.[0]
        if (!contact) throw new MfaError('ERR_OTP_NO_CONTACT', `no contact for ${factor}`)
        const path = 'otp/request'
        const method = factor === 'otp:email' ? 'email' : 'sms'
        const res = await post(path, { method, option: contact }, info.session, signal)
        if (res.status === 401) return accept(res.data, info, path)
        const session = isObject(res.data) ? res.data.session : undefined
        if (typeof session !== 'string' || !session) {
          throw bad('LoginID sent no session for the OTP', `/fido2/v2/mfa/${path}`)
        }
        const updated = { ...info, session }
        await save(updated, info.session)
        return toSessionResult(updated)
      }

      const path = factor === 'external' ? 'third-party/verify' : 'otp/verify'
      const res = await post(
        path,
        factor === 'external' ? { token: payload } : { otp: payload },
        info.session,
        signal,
      )
      return accept(res.data, info, path)
    },

    async getMfaSessionDetails() {
      return toSessionResult((await loadCurrent()) ?? {}, completion)
    },
  }
  return client
}
