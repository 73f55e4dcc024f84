/**
 * `loginid-mfa-flow`: {@link createMfaClient}, the built-in LoginID MFA client (the protocol of
 * `LoginIDMfa` over plain `fetch`, with an explicit session, no cookies and no analytics).
 *
 * @module
 */
import { MfaError, invalidArgument } from '../shared/errors.js'
import type {
  MfaActionBody,
  MfaBody,
  MfaFactorName,
  MfaPerformActionOptions,
  MfaSessionResult,
  PasskeyCreationOptions,
  PasskeyRequestOptions,
} from '../shared/protocol.js'
import { FACTORS, factorOf } from '../shared/factors.js'
import { statusError } from '../internal/http.js'
import { appIdFromBaseUrl, normalizeBaseUrl } from '../internal/base-url.js'
import { isNonEmptyString, isRecord as isObject, isTimerDuration } from '../internal/guards.js'
import { abortError, postJson } from './internal/request.js'
import { defaultDeviceStorage, isStorage } from './internal/storage.js'
import { trustId } from './internal/trust-id.js'
import {
  decodePasskeyOptions,
  deviceInfo,
  toFlow,
  toSessionResult,
} from './internal/session-result.js'
import type { MfaInfo } from './internal/session-result.js'
import { toPasskeyError } from './webauthn-errors.js'
import type { BuiltInMfaClient, CreateMfaClientOptions } from './types.js'

const MAX_SESSIONS = 32
const invalid = invalidArgument
const bad = (message: string, path?: string): MfaError =>
  new MfaError('ERR_BAD_RESPONSE', message, { method: path && 'POST', path })

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
  const { fetch: customFetch, timeoutMs = 15_000, webauthn, trustId: useTrustId = true } = options
  // `storage` is the deprecated name of `stateStorage`.
  const storage = options.stateStorage ?? options.storage
  const baseUrl = normalizeBaseUrl(options.baseUrl)
  const appId = options.appId ?? appIdFromBaseUrl(baseUrl)
  if (!isNonEmptyString(appId)) throw invalid('appId must be a non-empty string')
  if (!isTimerDuration(timeoutMs)) {
    throw invalid('timeoutMs must be a positive number of milliseconds')
  }
  if (customFetch !== undefined && typeof customFetch !== 'function') {
    throw invalid('fetch must be a function')
  }
  if (storage !== undefined && !isStorage(storage)) {
    throw invalid('stateStorage must have getItem, setItem and removeItem')
  }
  if (typeof useTrustId !== 'boolean') throw invalid('trustId must be a boolean')
  if (
    webauthn !== undefined &&
    !(typeof webauthn.create === 'function' && typeof webauthn.get === 'function')
  ) {
    throw invalid('webauthn must have create and get')
  }
  // The device id outlives a page load, as LoginIDMfa keeps it: in `localStorage` by default.
  const deviceStorage = storage ?? defaultDeviceStorage()
  const sessionKey = `LoginID_${appId}_mfa-session`
  const deviceKey = `LoginID_${appId}_device-id`

  const sessions = new Map<string, MfaInfo>()
  let current: MfaInfo | undefined
  let completion: MfaBody = {}
  let deviceId: string | undefined

  async function store<T>(
    fn: (s: NonNullable<typeof storage>) => T | Promise<T>,
    target = storage,
  ): Promise<T | undefined> {
    if (!target) return undefined
    try {
      return await fn(target)
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
    const res = await postJson(baseUrl + full, body, {
      path: full,
      headers: session ? { Authorization: session } : undefined,
      credentials: 'omit',
      signal,
      timeoutMs,
      fetch: customFetch,
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
    // What was sent (the session, a grant token, a code) is never echoed into an error.
    const secrets = [session ?? '', ...Object.values(body as object).filter(isNonEmptyString)]
    throw statusError(res.status, res.data, secrets, { method: 'POST', path: full })
  }

  /** Accept an MfaNext or Mfa body (200, or 401 with a session) for `info`'s flow. */
  async function accept(data: unknown, info: MfaInfo, path: string): Promise<MfaSessionResult> {
    const full = `/fido2/v2/mfa/${path}`
    if (!isObject(data)) throw bad('LoginID sent a non-object body', full)
    const body = data as MfaBody & { session?: unknown; next?: unknown }
    const next = body.next ?? []
    // Entries without an action name are skipped (toSessionResult); a non-list is an error.
    if (!Array.isArray(next)) throw bad('LoginID sent an invalid next', full)
    const flow = toFlow(body.flow) ?? info.flow
    const base = { ...(info.username && { username: info.username }), ...(flow && { flow }) }
    for (const field of ['accessToken', 'idToken', 'refreshToken', 'payloadSignature'] as const) {
      if (body[field] !== undefined && body[field] !== null && !isNonEmptyString(body[field])) {
        throw bad(`LoginID sent an invalid ${field}`, full)
      }
    }
    if (body.accessToken || body.payloadSignature) {
      const done: MfaInfo = Object.assign({ next: [] }, base)
      await save(done, info.session)
      completion = body
      if (typeof body.deviceId === 'string' && body.deviceId) {
        deviceId = body.deviceId
        await store((s) => s.setItem(deviceKey, body.deviceId as string), deviceStorage)
      }
      return toSessionResult(done, body)
    }
    if (typeof body.session !== 'string' || !body.session) {
      throw bad('LoginID sent neither tokens nor a session', full)
    }
    const updated: MfaInfo = Object.assign(
      { session: body.session, next: next as MfaActionBody[] },
      base,
    )
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
    if (!value) throw invalid(`no passkey options for ${factor}`)
    const decoded = decodePasskeyOptions(value)
    const creation =
      isObject(decoded?.rp) && isObject(decoded.user) && Array.isArray(decoded.pubKeyCredParams)
    if (!decoded || typeof decoded.challenge !== 'string') {
      throw payload
        ? invalid('options.payload holds no passkey options')
        : bad('LoginID sent invalid passkey options')
    }
    if (!webauthn) {
      throw new MfaError('ERR_WEBAUTHN_UNAVAILABLE', 'no WebAuthn adapter: pass { webauthn }')
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
    // Registration options go to passkey/reg whatever the factor; a passkey:reg with request options to auth.
    const path = creation
      ? FACTORS['passkey:reg'].path
      : factor === 'passkey:reg'
        ? FACTORS['passkey:auth'].path
        : FACTORS[factor].path
    const res = await post(path, body, info.session, signal)
    const result = await accept(res.data, info, path)
    // Best effort (the adapter's `afterSignIn` must not throw; if it does, the sign-in stands).
    if (!creation) {
      try {
        webauthn.afterSignIn?.({
          baseUrl,
          result,
          options: decoded,
          body,
          fetch: customFetch,
        })
      } catch {
        // the sign-in stands
      }
    }
    return result
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
      if (deviceId === undefined)
        deviceId = (await store((s) => s.getItem(deviceKey), deviceStorage)) ?? ''
      // The Trust ID LoginIDMfa sends, unless a checkout or transaction flow (PROTOCOL.md b.2).
      const auth =
        useTrustId && !merchant && !txPayload ? await trustId(appId, username) : undefined
      const body = {
        user: {
          username,
          usernameType: usernameType || 'other',
          displayName: displayName || username,
          ...(name && { name }),
          ...(phone && { phone }),
        },
        deviceInfo: deviceInfo(beginOptions.deviceId || deviceId),
        trustItems: merchant ? { merchant } : auth ? { auth } : {},
        ...(txPayload && { payload: txPayload }),
        ...(traceId && { traceId }),
      }
      const res = await post('begin', body, undefined, signal)
      return accept(res.data, { username }, 'begin')
    },

    async performAction(factor, actionOptions = {}) {
      const spec = factorOf(factor)
      if (!spec) throw invalid(`unknown MFA factor "${String(factor)}"`)
      if (typeof actionOptions !== 'object' || !actionOptions)
        throw invalid('performAction options must be an object')
      const { signal, txPayload } = actionOptions
      const payload = actionOptions.payload || undefined
      let info = await infoFor(actionOptions.session)
      if (!info.session) throw invalid('no MFA session: call beginFlow or pass options.session')
      if ((spec.kind === 'external' || spec.kind === 'verify') && !payload) {
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
      if (spec.kind === 'passkey') return passkey(factor, info, payload, actionOptions)

      if (spec.kind === 'otp') {
        const contact =
          payload ??
          toSessionResult(info).remainingFactors.find((f) => f.type === factor)?.options?.[0]
        if (!contact) throw new MfaError('ERR_OTP_NO_CONTACT', `no contact for ${factor}`)
        const { path, method } = spec
        const res = await post(path, { method, option: contact }, info.session, signal)
        if (res.status === 401) return accept(res.data, info, path)
        const session = isObject(res.data) ? res.data.session : undefined
        if (typeof session !== 'string' || !session) {
          throw bad('LoginID sent no OTP session', `/fido2/v2/mfa/${path}`)
        }
        const updated = Object.assign({}, info, { session })
        await save(updated, info.session)
        return toSessionResult(updated)
      }

      const { path } = spec
      const res = await post(
        path,
        spec.kind === 'external' ? { token: payload } : { otp: payload },
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
