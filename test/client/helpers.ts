// Shared test helpers for test/client: a test double shaped like `LoginIDMfa` from
// @loginid/websdk3 >= 3 (one stored flow, the passkey ceremony inside performAction,
// `ApiError { status, body, request }` and `PasskeyError { code, cause }` throws, an OTP request
// that keeps the same nextAction, no AbortSignal support), an in-memory storage, and a narrowing
// helper for runMfa's result.
import type {
  MfaActionBody,
  MfaBeginOptions,
  MfaBody,
  MfaClient,
  MfaCompletion,
  MfaFactorName,
  MfaNextBody,
  MfaPerformActionOptions,
  MfaSessionResult,
  MfaStorage,
  PasskeyCreationOptions,
  PasskeyRequestOptions,
  WebAuthnAdapter,
} from '../../src/index.js'
import type { SimulatorPolicy } from '../../src/testing.js'

/** The seed's sign-up policy: external first, then passkey registration, then done. */
export const signUpThenRegister: SimulatorPolicy = (ctx) =>
  ctx.event === 'begin'
    ? { next: ['external'] }
    : ctx.done.includes('passkey:reg')
      ? { complete: true }
      : { next: ['passkey:reg'] }

/** The completion of a run that must complete (a redirect fails the test). */
export async function completed(run: Promise<{ status: string }>): Promise<MfaCompletion> {
  const result = await run
  if (result.status !== 'complete') throw new Error(`expected a completion, got ${result.status}`)
  return result as MfaCompletion
}

/** A synchronous in-memory storage (a `sessionStorage` stand-in) that exposes its map. */
export function memoryStorage(): MfaStorage & { map: Map<string, string> } {
  const map = new Map<string, string>()
  return {
    map,
    getItem: (key) => map.get(key) ?? null,
    setItem: (key, value) => void map.set(key, value),
    removeItem: (key) => void map.delete(key),
  }
}

export class ApiError extends Error {
  override name = 'ApiError'
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly request: { headers: Record<string, string> },
  ) {
    super(`Generic Error: status: ${status}`)
  }
}

export class PasskeyError extends Error {
  override name = 'PasskeyError'
  constructor(
    readonly code: string,
    override readonly cause: unknown,
  ) {
    super('passkey error')
  }
}

const PRIORITY: MfaFactorName[] = [
  'passkey:reg',
  'passkey:auth',
  'passkey:tx',
  'otp:sms',
  'otp:email',
  'external',
]

/** A LoginIDMfa look-alike: one stored MfaInfo per instance, like its localStorage entry. */
export class FakeLoginIDMfa implements MfaClient {
  private info: {
    username?: string
    flow?: 'signIn' | 'signUp'
    session?: string
    next: MfaActionBody[]
  } = { next: [] }
  constructor(
    private readonly baseUrl: string,
    private readonly webauthn: WebAuthnAdapter,
  ) {}

  private details(data: MfaBody = {}): MfaSessionResult {
    const { next } = this.info
    const nextAction = PRIORITY.find((n) => next.some((a) => a.action.name === n))
    return {
      isComplete: !!(data.accessToken || data.payloadSignature),
      remainingFactors: next.map((a) => ({
        type: a.action.name as MfaFactorName,
        label: a.action.label,
        ...(a.action.name.startsWith('otp:') && {
          options: (a.options ?? []).map((o) => o.label ?? ''),
        }),
        ...(a.action.name.startsWith('passkey:') && { value: a.options?.[0]?.value ?? '' }),
      })),
      ...(this.info.username && { username: this.info.username }),
      ...(this.info.flow && { flow: this.info.flow }),
      ...(this.info.session && { session: this.info.session }),
      ...(nextAction && { nextAction }),
      ...(data.accessToken && { accessToken: data.accessToken, deviceId: data.deviceId ?? '' }),
    }
  }

  private async call(path: string, body: unknown, session?: string): Promise<unknown> {
    const headers: Record<string, string> = { 'content-type': 'application/json' }
    if (session) headers.Authorization = session
    const res = await fetch(`${this.baseUrl}/fido2/v2/mfa/${path}`, {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
    })
    const data: unknown = res.headers.get('content-type')?.includes('json')
      ? await res.json()
      : await res.text()
    if (!res.ok) throw new ApiError(res.status, data, { headers })
    return data
  }

  /** invokeMfaApi: 200 → complete, 401 with a session → continue, else rethrow. */
  private async invoke(fn: () => Promise<unknown>): Promise<MfaSessionResult> {
    try {
      const mfa = (await fn()) as MfaBody
      this.info = { ...this.info, next: [] }
      delete this.info.session
      return this.details(mfa)
    } catch (err) {
      const body = (err as ApiError).body as MfaNextBody | undefined
      if (err instanceof ApiError && err.status === 401 && body?.session) {
        this.info = {
          ...(this.info.username && { username: this.info.username }),
          ...(body.flow && { flow: body.flow }),
          session: body.session,
          next: body.next ?? [],
        }
        return this.details()
      }
      throw err
    }
  }

  async beginFlow(username: string, options: MfaBeginOptions = {}): Promise<MfaSessionResult> {
    const body = (await this.call('begin', {
      user: { username, usernameType: 'other', displayName: username },
      deviceInfo: {
        clientType: 'browser',
        ...(options.deviceId && { deviceId: options.deviceId }),
      },
      trustItems: {},
    })) as MfaNextBody
    this.info = {
      username,
      ...(body.flow && { flow: body.flow }),
      ...(body.session && { session: body.session }),
      next: body.next ?? [],
    }
    return this.details()
  }

  async performAction(
    factor: MfaFactorName,
    options: MfaPerformActionOptions = {},
  ): Promise<MfaSessionResult> {
    const session = options.session ?? this.info.session
    if (!session) throw new Error('A session is required to perform MFA factor.')
    const entry = this.info.next.find((a) => a.action.name === factor)
    const payload =
      options.payload ||
      (factor === 'otp:email'
        ? entry?.options?.find((o) => o.name === 'email:primary')?.label
        : entry?.options?.[0]?.value)
    if (!payload) throw new Error('Payload is required to perform MFA factor.')
    if (factor.startsWith('passkey:')) {
      const opts = JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/'))) as Record<
        string,
        unknown
      >
      let body: unknown
      try {
        body = opts.rp
          ? {
              creationResult: await this.webauthn.create(opts as unknown as PasskeyCreationOptions),
            }
          : { assertionResult: await this.webauthn.get(opts as unknown as PasskeyRequestOptions) }
      } catch (cause) {
        throw new PasskeyError('ERROR_GENERAL_ERROR', cause)
      }
      const path = opts.rp ? 'passkey/reg' : factor === 'passkey:tx' ? 'passkey/tx' : 'passkey/auth'
      return this.invoke(() => this.call(path, body, session))
    }
    if (factor === 'otp:email' || factor === 'otp:sms') {
      const res = (await this.call(
        'otp/request',
        { method: factor.slice(4), option: payload },
        session,
      )) as { session: string }
      this.info.session = res.session
      return this.details() // same next, same nextAction
    }
    if (factor === 'otp:verify')
      return this.invoke(() => this.call('otp/verify', { otp: payload }, session))
    return this.invoke(() => this.call('third-party/verify', { token: payload }, session))
  }
}
