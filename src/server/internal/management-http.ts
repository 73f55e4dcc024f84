// Internal helpers of the management client: capped body reads, the connect-failure test for
// retries, secret scrubbing of fetch errors, and small utilities. Not exported from any entry.
import { MfaError } from '../../shared/errors.js'
import type { MfaErrorCode } from '../../shared/errors.js'
import { clip, codeForStatus, parseAppError } from '../../internal/http.js'
import { readResponseText } from '../../internal/read-body.js'

/** The largest LoginID answer read: its JSON answers are a few hundred bytes. */
export const MAX_RESPONSE_BYTES = 1024 * 1024
/**
 * System error codes of a connection that was never opened, so the request cannot have reached
 * LoginID: the only network failures that are retried.
 */
const NOT_CONNECTED = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
])
const TOKEN_VERIFY_PATH = '/fido2/v2/mgmt/token/verify'

/** An HTTP answer: its status and its body (JSON when it parses, else the text). */
export interface Answer {
  status: number
  data: unknown
}

/** A failed attempt: the error to throw, and whether the request cannot have reached LoginID. */
export interface Failure {
  error: MfaError
  retryable: boolean
}

/** The MfaError for a LoginID HTTP failure; LoginID's text is redacted and clipped. */
export function httpError(
  answer: Answer,
  path: string,
  scopeText: string,
  secrets: readonly string[],
): MfaError {
  const { status } = answer
  const { msg, msgCode } = parseAppError(answer.data)
  const detail = msg === undefined ? '' : ` (LoginID: ${clip(redact(msg, secrets))})`
  const context = {
    method: 'POST',
    path,
    status,
    ...(msgCode !== undefined && { msgCode: clip(redact(msgCode, secrets)) }),
  }
  let code: MfaErrorCode = codeForStatus(status)
  let text: string
  if (status === 401 && path === TOKEN_VERIFY_PATH && msgCode !== 'unauthorized') {
    // token/verify answers 401 for a bad token too; LoginID's `unauthorized` is the key.
    code = msgCode === 'token_expired' ? 'ERR_TOKEN_EXPIRED' : 'ERR_TOKEN_INVALID'
    text = 'LoginID rejected the token'
  } else if (status === 401) {
    code = 'ERR_API_KEY_INVALID'
    text = 'LoginID rejected the API key (unknown, revoked or for another app)'
  } else if (status === 403) {
    code = 'ERR_API_KEY_SCOPE'
    text = scopeText
  } else if (status >= 500) {
    text = 'LoginID is unavailable'
  } else if (status === 400) {
    text = 'LoginID rejected the request as malformed'
  } else {
    text = `LoginID answered HTTP ${status}`
  }
  return new MfaError(code, `${text}${detail}`, context)
}

export const TOO_LARGE: unique symbol = Symbol('too large')

/** The body, at most {@link MAX_RESPONSE_BYTES} (declared or counted), as JSON or text. */
export async function readCapped(response: Response, trustLength: boolean): Promise<unknown> {
  const text = await readResponseText(response, MAX_RESPONSE_BYTES, trustLength)
  if (text === undefined) return TOO_LARGE
  if (text === '') return undefined
  try {
    return JSON.parse(text) as unknown
  } catch {
    return text
  }
}

/** Whether a fetch failure says the connection was never opened (see {@link NOT_CONNECTED}). */
export function notConnected(error: unknown): boolean {
  const codes: unknown[] = []
  let current: unknown = error
  for (let depth = 0; depth < 4 && typeof current === 'object' && current !== null; depth++) {
    const { code, errors } = current as { code?: unknown; errors?: unknown }
    if (Array.isArray(errors) && errors.length > 0) {
      return errors.every((item) => notConnected(item))
    }
    if (code !== undefined) codes.push(code)
    current = (current as { cause?: unknown }).cause
  }
  return codes.length > 0 && codes.every((code) => NOT_CONNECTED.has(code as string))
}

/** Standard base64 of the UTF-8 bytes of `text` (btoa alone only takes Latin-1). */
export function base64Utf8(text: string): string {
  let binary = ''
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte)
  return btoa(binary)
}

/** Replace every occurrence of a secret by `[REDACTED]`. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text
  for (const secret of secrets) out = out.split(secret).join('[REDACTED]')
  return out
}

/**
 * Whether an error may mention a secret. Walks every own property of the error and of what it
 * holds (string and symbol keys, enumerable or not: what `util.inspect` with `showHidden` and a
 * debugger show), nested causes and `AggregateError` members included. Anything that cannot be
 * inspected as plain data (a getter, a function, a `Headers` or `Request` object, too deep a
 * structure) counts as a mention: it is not worth the risk.
 */
export function mentionsSecret(value: unknown, secrets: readonly string[]): boolean {
  const seen = new Set<object>()
  let budget = 2_000
  const hasSecret = (text: string): boolean => secrets.some((secret) => text.includes(secret))
  const visit = (item: unknown, depth: number): boolean => {
    if (typeof item === 'string') return hasSecret(item)
    if (typeof item === 'symbol') return hasSecret(item.description ?? '')
    if (typeof item === 'function') return true
    if (typeof item !== 'object' || item === null) return false
    if (seen.has(item)) return false
    if (depth > 8 || --budget < 0) return true
    seen.add(item)
    const proto = Object.getPrototypeOf(item) as unknown
    const plain = proto === Object.prototype || proto === null || Array.isArray(item)
    if (!plain && !(item instanceof Error)) return true
    for (const key of Reflect.ownKeys(item)) {
      if (visit(key, depth)) return true
      const descriptor = Object.getOwnPropertyDescriptor(item, key)
      if (descriptor === undefined) continue
      if ('value' in descriptor) {
        if (visit(descriptor.value, depth + 1)) return true
      } else if (key === 'stack' && item instanceof Error) {
        let stack: unknown
        try {
          stack = item.stack
        } catch {
          return true
        }
        if (visit(stack, depth + 1)) return true
      } else {
        return true
      }
    }
    return false
  }
  return !(value instanceof Error) || visit(value, 0)
}

/** Wait `ms`, or less when `signal` aborts (the caller then checks `signal.aborted`). */
export function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal?.addEventListener('abort', done, { once: true })
  })
}
