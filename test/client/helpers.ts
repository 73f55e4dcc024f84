// Shared test helpers for test/client: a test double shaped like `LoginIDMfa` from
// @loginid/websdk3 3.5.0 (one stored flow, the passkey ceremony inside performAction, an OTP
// request that keeps the same nextAction, no AbortSignal support) that throws exactly what 3.5.0
// throws (PROTOCOL.md b.5), as plain classes setting only what the SDK sets: `ApiError`,
// `PasskeyError` (its `name` left "Error"), `AbortError`, `LoginIDError`; an in-memory storage,
// and a narrowing helper for runMfa's result.
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

/** websdk3's `ApiError`: every non-2xx answer (but a 401 with a session inside invokeMfaApi). */
export class ApiError extends Error {
  override name = 'ApiError'
  constructor(
    readonly url: string,
    readonly status: number,
    readonly statusText: string,
    readonly body: unknown,
    /** The request options, headers included: `Authorization` holds the session. */
    readonly request: { method: string; url: string; headers: Record<string, string> },
  ) {
    super(
      `Generic Error: status: ${status}; status text: ${statusText}; body: ${JSON.stringify(body)}`,
    )
  }
}

/**
 * websdk3 3.5.0's `PasskeyError`: it sets `code` and `cause` and never `name`, so `name` is
 * "Error" (and the class name is minified in the published bundle).
 */
export class PasskeyError extends Error {
  constructor(
    message: string,
    readonly code: string,
    override readonly cause: unknown,
  ) {
    super(message)
  }
}

/** websdk3's `AbortError`: the reason a pending `get()` is cancelled by a newer WebAuthn call. */
export class AbortError extends Error {
  override name = 'AbortError'
}

/** websdk3's `LoginIDError` (validation failures). */
export class LoginIDError extends Error {
  override name = 'LoginIDError'
}

/**
 * What 3.5.0 throws for a failed ceremony (PROTOCOL.md b.5): a `PasskeyError` with the code of the
 * DOMException's name, or the original error when the name is not mapped.
 */
export function toWebsdkError(
  error: unknown,
  ceremony: 'create' | 'get',
  options: Record<string, unknown>,
): unknown {
  const name = (error as { name?: unknown } | null)?.name
  const selection = (options.authenticatorSelection ?? {}) as Record<string, unknown>
  const create: Record<string, [string, string] | undefined> = {
    ConstraintError: selection.requireResidentKey
      ? [
          'ERROR_DISCOVERABLE_CREDENTIALS_UNSUPPORTED',
          'Discoverable credentials are not supported.',
        ]
      : selection.userVerification === 'required'
        ? ['ERROR_USER_VERIFICATION_UNSUPPORTED', 'User verification is not supported.']
        : undefined,
    InvalidStateError: ['ERROR_PASSKEY_EXISTS', 'A passkey already exists on this device.'],
    NotAllowedError: ['ERROR_GENERAL_ERROR', 'Passkey registration has failed'],
    NotSupportedError: ['ERROR_ALGORITHMS_UNSUPPORTED', 'No supported algorithms.'],
    SecurityError: ['ERROR_DOMAIN_MISMATCH', 'The rpId does not match the domain.'],
    UnknownError: ['ERROR_AUTHENTICATOR_UNKNOWN_ERROR', 'Unknown authenticator error.'],
  }
  const get: Record<string, [string, string] | undefined> = {
    AbortError: ['ERROR_PASSKEY_ABORTED', 'The passkey request was aborted.'],
    NotAllowedError: ['ERROR_GENERAL_ERROR', 'Passkey authentication has failed'],
    SecurityError: ['ERROR_DOMAIN_MISMATCH', 'The rpId does not match the domain.'],
    UnknownError: ['ERROR_AUTHENTICATOR_UNKNOWN_ERROR', 'Unknown authenticator error.'],
  }
  const mapped = typeof name === 'string' ? (ceremony === 'create' ? create : get)[name] : undefined
  return mapped ? new PasskeyError(mapped[1], mapped[0], error) : error
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
    const url = `${this.baseUrl}/fido2/v2/mfa/${path}`
    const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body) })
    const data: unknown = res.headers.get('content-type')?.includes('json')
      ? await res.json()
      : await res.text()
    if (!res.ok)
      throw new ApiError(url, res.status, res.statusText, data, { method: 'POST', url, headers })
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
    if (!session) throw new LoginIDError('A session is required to perform MFA factor.')
    const entry = this.info.next.find((a) => a.action.name === factor)
    const payload =
      options.payload ||
      (factor === 'otp:email'
        ? entry?.options?.find((o) => o.name === 'email:primary')?.label
        : entry?.options?.[0]?.value)
    if (!payload) throw new LoginIDError('Payload is required to perform MFA factor.')
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
      } catch (error) {
        throw toWebsdkError(error, opts.rp ? 'create' : 'get', opts)
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

/** The storage key under which `ctx.redirect` saves a pending flow by default. */
export const PENDING_KEY = 'loginid-mfa-flow:pending'

/** A nonce as randomNonce makes it: the creation time (12 hex digits), then 16 bytes (fixed). */
export const pendingNonce = (): string =>
  `${Date.now().toString(16).padStart(12, '0')}0123456789abcdef0123456789abcdef`

/** A well-formed pending-flow snapshot for ada@example.com, as `ctx.redirect` saves it (v1). */
export function pendingSnapshot(
  nonce: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    v: 1,
    nonce,
    expiresAt: Date.now() + 60_000,
    session: 'session-1',
    username: 'ada@example.com',
    flow: 'signIn',
    reason: 'newDevice',
    factors: [{ type: 'external', label: 'External' }],
    steps: [{ action: 'external', attempt: 1, outcome: 'continue' }],
    state: { returnTo: '/account' },
    ...extra,
  }
}

/** WebAuthn options as LoginID sends them for `rpId`, and an assertion the double accepts. */
export function passkeyFixtures(rpId: string) {
  const user = 'ada@example.com'
  return {
    requestOptions: {
      challenge: 'Y2hhbGxlbmdl',
      rpId,
      allowCredentials: [],
      userVerification: 'required',
    },
    creationOptions: {
      challenge: 'Y2hhbGxlbmdl',
      rp: { id: rpId, name: 'app' },
      user: { id: 'dXNlcg', name: user, displayName: user },
      pubKeyCredParams: [{ type: 'public-key', alg: -7 }],
    },
    assertion: {
      credentialId: 'c',
      clientDataJSON: 'e30',
      authenticatorData: 'AA',
      signature: 'AA',
    },
  }
}
