// Internal (doctor): the state the checks share, and the one HTTP helper every check uses. Every
// answer is recorded for check 7; no header value is ever recorded.
import { readBodyText } from '../../../internal/read-body.js'
import { MfaError } from '../../../shared/errors.js'
import type { DoctorCheckStatus } from '../../doctor.js'
import { globalRawFetch } from '../ofetch-raw.js'

/** What one check decides. */
export interface CheckOutcome {
  status: DoctorCheckStatus
  evidence: string
  fix?: string
  details?: string[]
}

/** An HTTP answer (any status). */
export interface HttpAnswer {
  kind: 'answer'
  status: number
  headers: Headers
  /** The parsed JSON body, when the body is JSON. */
  json?: unknown
  /** Whether the body parsed as JSON. */
  isJson: boolean
}

/** No HTTP answer: the connection failed or the time ran out. */
export interface HttpFailure {
  kind: 'failure'
  reason: 'network' | 'timeout'
  /** Short, e.g. `ECONNREFUSED`, `no answer within 10000 ms`. Never a header. */
  detail: string
}

/** One answer LoginID gave, for check 7. */
export interface Exchange {
  /** `POST /fido2/v2/mfa/begin`: the method and the LoginID path. */
  operation: string
  status: number
  isJson: boolean
  json?: unknown
}

/** Options after validation. */
export interface ResolvedOptions {
  baseUrl: string
  appId: string | undefined
  apiKey: string | undefined
  origin: string | undefined
  username: string
  usernameType: 'email' | 'other'
  complete: boolean
  allowInsecureLocal: boolean
  timeoutMs: number
  signal: AbortSignal | undefined
}

/** Shared by the checks of one run. */
export interface DoctorContext {
  options: ResolvedOptions
  /** Values never to show: the API key, its Basic form, sessions, grant and access tokens. */
  secrets: string[]
  exchanges: Exchange[]
  /** Check 1: the base URL can be used for requests (shape and reachability). */
  reachable: boolean
  /** Check 1: the JWKS request's outcome, judged by check 2. */
  jwks?: HttpAnswer
  /** Check 3: the MFA session and the actions offered. */
  session?: string
  offered?: string[]
  /** Check 5: minting a grant token failed (check 6 then skips instead of failing again). */
  grantFailed?: boolean
}

/** Remember a secret so the final report is scrubbed of it. */
export function keepSecret(ctx: DoctorContext, value: unknown): void {
  if (typeof value === 'string' && value !== '' && !ctx.secrets.includes(value)) {
    ctx.secrets.push(value)
  }
}

/** The largest answer body read; a larger one counts as not JSON. */
const MAX_ANSWER_BYTES = 1_048_576

/** Read a response into an answer (body capped at 1 MiB), recording it for check 7. */
export async function readAnswer(
  ctx: DoctorContext,
  operation: string,
  response: Response,
): Promise<HttpAnswer> {
  // readBodyText reads only `headers` and `body`, which a Response has as a Request does.
  const read = await readBodyText(response as unknown as Request, MAX_ANSWER_BYTES)
  const text = read.ok ? read.text : ''
  let json: unknown
  let isJson = false
  if (text.trim() !== '') {
    try {
      json = JSON.parse(text)
      isJson = true
    } catch {
      isJson = false
    }
  }
  ctx.exchanges.push({
    operation,
    status: response.status,
    isJson,
    ...(isJson && { json }),
  })
  return {
    kind: 'answer',
    status: response.status,
    headers: response.headers,
    isJson,
    ...(isJson && { json }),
  }
}

/**
 * Send one request to `baseUrl + path` with the run's time limit. A network failure or timeout is
 * a value; the caller's abort is thrown as `ERR_ABORTED`.
 */
export async function request(
  ctx: DoctorContext,
  method: string,
  path: string,
  init: { headers?: Record<string, string>; body?: unknown } = {},
): Promise<HttpAnswer | HttpFailure> {
  const { baseUrl, timeoutMs, signal } = ctx.options
  throwIfAborted(signal)
  const timer = new AbortController()
  const timeout = setTimeout(() => timer.abort(), timeoutMs)
  const combined = signal === undefined ? timer.signal : AbortSignal.any([signal, timer.signal])
  let fetchFailed: { error: unknown } | undefined
  try {
    const fetchRaw = await globalRawFetch()
    // ofetch over the global fetch, as the management client: no redirect followed, no status
    // thrown, the body left for readAnswer.
    const response = await fetchRaw(`${baseUrl}${path}`, {
      method,
      headers: {
        Accept: 'application/json',
        ...(init.body !== undefined && { 'Content-Type': 'application/json' }),
        ...init.headers,
      },
      ...(init.body !== undefined && { body: JSON.stringify(init.body) }),
      signal: combined,
      onRequestError: ({ error }) => {
        fetchFailed = { error }
      },
    })
    return await readAnswer(ctx, `${method} ${path}`, response)
  } catch (error) {
    throwIfAborted(signal)
    if (timer.signal.aborted) {
      return { kind: 'failure', reason: 'timeout', detail: `no answer within ${timeoutMs} ms` }
    }
    const cause = fetchFailed === undefined ? error : fetchFailed.error
    return { kind: 'failure', reason: 'network', detail: networkDetail(cause) }
  } finally {
    clearTimeout(timeout)
  }
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new MfaError('ERR_ABORTED', 'the doctor run was aborted')
}

/** A system error code (`ECONNREFUSED`, `ENOTFOUND`, ...) from a fetch failure, if any. */
function networkDetail(error: unknown): string {
  const seen = new Set<unknown>()
  const queue: unknown[] = [error]
  while (queue.length > 0) {
    const item = queue.shift()
    if (typeof item !== 'object' || item === null || seen.has(item)) continue
    seen.add(item)
    const code = (item as { code?: unknown }).code
    if (typeof code === 'string' && /^E[A-Z_]+$/.test(code)) return code
    queue.push((item as { cause?: unknown }).cause)
    const errors = (item as { errors?: unknown }).errors
    if (Array.isArray(errors)) queue.push(...errors)
  }
  return 'connection failed'
}

/** LoginID's `msgCode` and `msg` of an error answer, short, for evidence. */
export function appErrorText(answer: HttpAnswer): string {
  const body = answer.json as { msg?: unknown; msgCode?: unknown } | undefined
  const parts = [`HTTP ${answer.status}`]
  if (typeof body?.msgCode === 'string') parts.push(body.msgCode)
  let text = parts.join(' ')
  if (typeof body?.msg === 'string' && body.msg.trim() !== '') {
    const msg = body.msg.replace(/\s+/g, ' ').trim()
    text += ` (${msg.length > 120 ? `${msg.slice(0, 120)}…` : msg})`
  }
  return text
}

/** The fix for LoginID answering an unexpected status on a browser-facing route. */
export function fixForStatus(status: number): string {
  if (status === 404) {
    return 'check the app id in the base URL (https://<app-id>.api.loginid.io): LoginID does not know this route for this app'
  }
  if (status >= 500) {
    return 'LoginID is failing: retry later; if it persists, contact LoginID support with the evidence'
  }
  if (status === 401 || status === 403) {
    return "check the app's settings in the LoginID dashboard (MFA enabled, allowed origins)"
  }
  return 'report the evidence to loginid-mfa-flow (the request may no longer match what LoginID expects)'
}

/** An error's message for evidence, without the library's `[loginid-mfa-flow]` prefix. */
export function messageOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  return message.replace(/^\[loginid-mfa-flow\] /, '')
}

/** Fix for a request that got no answer. */
export const FIX_UNREACHABLE =
  "check the host name and your network (DNS, proxy, firewall): LoginID's base URL is https://<app-id>.api.loginid.io"
