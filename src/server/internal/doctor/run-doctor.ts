// Internal (doctor): validates the options, runs the seven checks in order, and scrubs the
// report of every secret seen. Loaded lazily by runDoctor (src/server/doctor.ts) and the CLI.
import { isRecord, isTimerDuration } from '../../../internal/guards.js'
import { isMfaError, MfaError } from '../../../shared/errors.js'
import { MAX_USERNAME_LENGTH } from '../../create-management-client.js'
import type {
  DoctorCheck,
  DoctorCheckId,
  DoctorCheckStatus,
  DoctorOptions,
  DoctorReport,
} from '../../doctor.js'
import { checkBaseUrl } from './check-base-url.js'
import { checkBegin } from './check-begin.js'
import { checkComplete } from './check-complete.js'
import { checkCors } from './check-cors.js'
import { checkGrant } from './check-grant.js'
import { checkJwks } from './check-jwks.js'
import { checkResponseSchemas } from './check-response-schemas.js'
import type { CheckOutcome, DoctorContext, ResolvedOptions } from './context.js'
import { keepSecret, messageOf, throwIfAborted } from './context.js'

/** The checks in order: one signature, one table. */
const CHECKS: {
  id: DoctorCheckId
  title: string
  run: (ctx: DoctorContext) => Promise<CheckOutcome>
}[] = [
  { id: 'base-url', title: 'base URL', run: checkBaseUrl },
  { id: 'jwks', title: 'JWKS', run: checkJwks },
  { id: 'mfa-begin', title: 'mfa/begin', run: checkBegin },
  { id: 'cors', title: 'CORS', run: checkCors },
  { id: 'grant', title: 'grant token', run: checkGrant },
  { id: 'complete', title: 'complete flow', run: checkComplete },
  { id: 'response-schemas', title: 'response shapes', run: checkResponseSchemas },
]

// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/

function invalid(message: string): MfaError {
  return new MfaError('ERR_INVALID_ARGUMENT', message)
}

/** Validate the options before any request. */
export function resolveOptions(options: DoctorOptions): ResolvedOptions {
  if (!isRecord(options)) throw invalid('runDoctor needs an options object')
  const {
    baseUrl,
    appId,
    apiKey,
    origin,
    username,
    complete = false,
    allowInsecureLocal = false,
    timeoutMs = 10_000,
    signal,
  } = options
  if (typeof baseUrl !== 'string' || !URL.canParse(baseUrl.trim())) {
    throw invalid('baseUrl must be an absolute URL, e.g. https://<app-id>.api.loginid.io')
  }
  if (appId !== undefined && (typeof appId !== 'string' || appId.trim() === '')) {
    throw invalid('appId must be a non-empty string')
  }
  if (apiKey !== undefined && (typeof apiKey !== 'string' || apiKey.trim() === '')) {
    throw invalid('apiKey must be a non-empty string')
  }
  if (origin !== undefined && (typeof origin !== 'string' || !isOrigin(origin))) {
    throw invalid('origin must be an origin such as https://app.example (no path)')
  }
  if (
    username !== undefined &&
    (typeof username !== 'string' ||
      username.trim() === '' ||
      username.trim().length > MAX_USERNAME_LENGTH ||
      CONTROL_CHARS.test(username))
  ) {
    throw invalid(
      `username must be a non-empty string of at most ${MAX_USERNAME_LENGTH} characters, without control characters`,
    )
  }
  if (typeof complete !== 'boolean') throw invalid('complete must be a boolean')
  if (typeof allowInsecureLocal !== 'boolean') throw invalid('allowInsecureLocal must be a boolean')
  if (complete && apiKey === undefined) {
    throw invalid('complete needs an apiKey (the flow completes with a grant token)')
  }
  if (!isTimerDuration(timeoutMs)) throw invalid('timeoutMs must be a positive number of ms')
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw invalid('signal must be an AbortSignal')
  }
  const user = username?.trim() ?? `loginid-mfa-flow-doctor-${randomHex(6)}`
  return {
    baseUrl: baseUrl.trim().replace(/\/+$/, ''),
    appId: appId?.trim(),
    apiKey,
    origin,
    username: user,
    usernameType: EMAIL.test(user) ? 'email' : 'other',
    complete,
    allowInsecureLocal,
    timeoutMs,
    signal,
  }
}

function isOrigin(value: string): boolean {
  try {
    const url = new URL(value)
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === value
  } catch {
    return false
  }
}

function randomHex(bytes: number): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) =>
    b.toString(16).padStart(2, '0'),
  ).join('')
}

/** Run the checks; see `runDoctor`. */
export async function runDoctorChecks(options: DoctorOptions): Promise<DoctorReport> {
  const resolved = resolveOptions(options)
  const ctx: DoctorContext = { options: resolved, secrets: [], exchanges: [], reachable: false }
  if (resolved.apiKey !== undefined) {
    keepSecret(ctx, resolved.apiKey)
    // Its Basic form too, in case an answer echoes the header (ASCII keys; btoa takes Latin-1).
    if (/^[\x20-\x7e]+$/.test(resolved.apiKey)) keepSecret(ctx, btoa(`${resolved.apiKey}:`))
  }
  const checks: DoctorCheck[] = []
  for (const [index, { id, title, run }] of CHECKS.entries()) {
    throwIfAborted(resolved.signal)
    let outcome: CheckOutcome
    try {
      outcome = await run(ctx)
    } catch (error) {
      if (isMfaError(error, 'ERR_ABORTED') && resolved.signal?.aborted) throw error
      outcome = {
        status: 'fail',
        evidence: `the check itself failed: ${messageOf(error)}`,
        fix: 'report the evidence to loginid-mfa-flow',
      }
    }
    checks.push({ id, number: index + 1, title, ...outcome })
  }
  const summary: Record<DoctorCheckStatus, number> = { pass: 0, fail: 0, warn: 0, skip: 0 }
  for (const check of checks) summary[check.status] += 1
  const url = new URL(resolved.baseUrl)
  const shownBaseUrl =
    url.username || url.password ? `${url.protocol}//${url.host}${url.pathname}` : resolved.baseUrl
  const appId = resolved.appId ?? url.hostname.split('.')[0]
  const report: DoctorReport = {
    version: 1,
    ok: summary.fail === 0,
    baseUrl: shownBaseUrl.replace(/\/+$/, ''),
    ...(appId ? { appId } : {}),
    username: resolved.username,
    checks,
    summary,
  }
  return scrub(report, ctx.secrets)
}

/** Replace every secret in every string of `value` by `[REDACTED]` (longest secrets first). */
export function scrub<T>(value: T, secrets: readonly string[]): T {
  const ordered = [...secrets].sort((a, b) => b.length - a.length)
  const clean = (item: unknown): unknown => {
    if (typeof item === 'string') {
      let out = item
      for (const secret of ordered) out = out.split(secret).join('[REDACTED]')
      return out
    }
    if (Array.isArray(item)) return item.map(clean)
    if (isRecord(item))
      return Object.fromEntries(Object.entries(item).map(([k, v]) => [k, clean(v)]))
    return item
  }
  return clean(value) as T
}
