// Tests with teeth for the management client's helpers (issue 16): whether a fetch error may
// carry the API key (only a clean one is kept as a cause for the logs), which failures are
// retried (only a connection never opened: a grant is not idempotent), the error for each
// LoginID status, and how an answer body is read. Driven directly, so each rule is exercised at
// its edge: the client's tests reach them only through a real fetch failure.
import { describe, expect, it } from 'vitest'
import {
  MAX_RESPONSE_BYTES,
  TOO_LARGE,
  base64Utf8,
  httpError,
  mentionsSecret,
  notConnected,
  readCapped,
  redact,
  sleep,
} from './management-http.js'

const KEY = 'key_helpers_s3cr3t'
const SECRETS = [KEY, base64Utf8(`${KEY}:`)]

/** An Error with extra own properties (defined as plain data unless a descriptor is given). */
function errorWith(props: Record<PropertyKey, unknown>, descriptors: PropertyDescriptorMap = {}) {
  const error = new Error('fetch failed')
  for (const key of Reflect.ownKeys(props)) {
    Object.defineProperty(error, key, {
      value: props[key as keyof typeof props],
      enumerable: true,
      configurable: true,
      writable: true,
    })
  }
  return Object.defineProperties(error, descriptors)
}

/** `levels` plain objects nested under `.next`, the innermost `{ end: true }`. */
function nested(levels: number): unknown {
  let value: unknown = { end: true }
  for (let i = 1; i < levels; i++) value = { next: value }
  return value
}

describe('mentionsSecret: what may be kept as a cause', () => {
  it('a clean Error may be kept; anything that is not an Error may not', () => {
    expect(mentionsSecret(new Error('fetch failed'), SECRETS)).toBe(false)
    expect(mentionsSecret('fetch failed', SECRETS)).toBe(true)
    expect(mentionsSecret({ message: 'fetch failed' }, SECRETS)).toBe(true)
    expect(mentionsSecret(undefined, SECRETS)).toBe(true)
  })

  it('finds the key or its Basic credentials in a message, a property, a nested cause', () => {
    expect(mentionsSecret(new Error(`bad key ${KEY}`), SECRETS)).toBe(true)
    expect(mentionsSecret(errorWith({ header: `Basic ${SECRETS[1]}` }), SECRETS)).toBe(true)
    const cause = new Error('socket', { cause: errorWith({ info: { key: KEY } }) })
    expect(mentionsSecret(new Error('fetch failed', { cause }), SECRETS)).toBe(true)
  })

  it('reads symbol keys by their description; a symbol without one is clean', () => {
    expect(mentionsSecret(errorWith({ [Symbol(KEY)]: 1 }), SECRETS)).toBe(true)
    expect(mentionsSecret(errorWith({ [Symbol()]: 1 }), SECRETS)).toBe(false)
    expect(mentionsSecret(errorWith({ [Symbol('kind')]: 'socket' }), SECRETS)).toBe(false)
    expect(mentionsSecret(errorWith({ tag: Symbol(`k ${KEY}`) }), SECRETS)).toBe(true)
  })

  it('numbers, booleans, null and undefined are clean data', () => {
    const error = errorWith({
      errno: -111,
      syscall: 'connect',
      fatal: false,
      info: null,
      x: undefined,
    })
    expect(mentionsSecret(error, SECRETS)).toBe(false)
  })

  it('a function, a getter or a class instance cannot be inspected: counted as a mention', () => {
    expect(mentionsSecret(errorWith({ retry: () => undefined }), SECRETS)).toBe(true)
    expect(
      mentionsSecret(errorWith({}, { lazy: { get: () => 'clean', enumerable: true } }), SECRETS),
    ).toBe(true)
    expect(mentionsSecret(errorWith({ headers: new Headers() }), SECRETS)).toBe(true)
    expect(mentionsSecret(errorWith({ at: new Date(0) }), SECRETS)).toBe(true)
  })

  it('plain objects, null-prototype objects, arrays and Error subclasses are read', () => {
    const bare = Object.assign(Object.create(null) as object, { code: 'ECONNREFUSED' })
    const clean = errorWith({ bare, list: ['a', { b: 1 }], sub: new TypeError('inner') })
    expect(mentionsSecret(clean, SECRETS)).toBe(false)
    const hidden = Object.assign(Object.create(null) as object, { key: KEY })
    expect(mentionsSecret(errorWith({ hidden }), SECRETS)).toBe(true)
    expect(mentionsSecret(errorWith({ list: ['a', KEY] }), SECRETS)).toBe(true)
    expect(mentionsSecret(errorWith({ sub: new TypeError(KEY) }), SECRETS)).toBe(true)
  })

  it('finds a key that is only in a stack; a stack that cannot be read counts as a mention', () => {
    const inStack = new Error('fetch failed')
    inStack.stack = `Error: fetch failed\n    at Basic ${SECRETS[1]}`
    expect(mentionsSecret(inStack, SECRETS)).toBe(true)
    const accessor = errorWith(
      {},
      { stack: { get: () => `Error\n    at ${KEY}`, configurable: true } },
    )
    expect(mentionsSecret(accessor, SECRETS)).toBe(true)
    const cleanAccessor = errorWith(
      {},
      { stack: { get: () => 'Error\n    at x', configurable: true } },
    )
    expect(mentionsSecret(cleanAccessor, SECRETS)).toBe(false)
    const throwing = errorWith(
      {},
      {
        stack: {
          get: () => {
            throw new Error('no stack')
          },
          configurable: true,
        },
      },
    )
    expect(mentionsSecret(throwing, SECRETS)).toBe(true)
  })

  it('a cycle is read once, not taken for a deep structure', () => {
    const error = new Error('fetch failed')
    Object.assign(error, { self: error, pair: {} })
    ;(error as unknown as { pair: { back: unknown } }).pair.back = error
    expect(mentionsSecret(error, SECRETS)).toBe(false)
  })

  it('reads 8 levels below the error; deeper counts as a mention', () => {
    expect(mentionsSecret(errorWith({ data: nested(8) }), SECRETS)).toBe(false)
    expect(mentionsSecret(errorWith({ data: nested(9) }), SECRETS)).toBe(true)
  })

  it('reads at most 2,000 objects; more counts as a mention', () => {
    // The error, the array and 1,998 objects: 2,000.
    const fits = Array.from({ length: 1_998 }, () => ({}))
    expect(mentionsSecret(errorWith({ fits }), SECRETS)).toBe(false)
    const over = Array.from({ length: 1_999 }, () => ({}))
    expect(mentionsSecret(errorWith({ over }), SECRETS)).toBe(true)
  })
})

describe('notConnected: which failures are retried', () => {
  const code = (value: string, cause?: unknown) =>
    Object.assign(new Error('fetch failed'), { code: value, ...(cause !== undefined && { cause }) })

  it('each code of a connection never opened; not a reset or an unknown code', () => {
    for (const value of [
      'ECONNREFUSED',
      'ENOTFOUND',
      'EAI_AGAIN',
      'EHOSTUNREACH',
      'ENETUNREACH',
      'UND_ERR_CONNECT_TIMEOUT',
    ]) {
      expect(notConnected(code(value)), value).toBe(true)
    }
    for (const value of ['ECONNRESET', 'UND_ERR_SOCKET', 'ETIMEDOUT', '']) {
      expect(notConnected(code(value)), value).toBe(false)
    }
  })

  it('no code at all is not retried', () => {
    expect(notConnected(new Error('fetch failed'))).toBe(false)
    expect(notConnected(undefined)).toBe(false)
    expect(notConnected('ECONNREFUSED')).toBe(false)
  })

  it('reads the cause chain four levels deep, and every code in it must say so', () => {
    const deep = new Error('l0', {
      cause: new Error('l1', { cause: new Error('l2', { cause: code('ECONNREFUSED') }) }),
    })
    expect(notConnected(deep)).toBe(true)
    const tooDeep = new Error('l0', { cause: deep })
    expect(notConnected(tooDeep)).toBe(false)
    expect(notConnected(code('ECONNREFUSED', code('ECONNRESET')))).toBe(false)
    expect(notConnected(code('ECONNREFUSED', 'a text cause'))).toBe(true)
  })

  it('an AggregateError (every address tried) is retried only when every member is', () => {
    const all = new AggregateError([code('ECONNREFUSED'), code('EHOSTUNREACH')], 'fetch failed')
    expect(notConnected(all)).toBe(true)
    const mixed = new AggregateError([code('ECONNREFUSED'), code('ECONNRESET')], 'fetch failed')
    expect(notConnected(mixed)).toBe(false)
    expect(notConnected(new Error('fetch failed', { cause: all }))).toBe(true)
    // An empty group says nothing: its own code decides.
    expect(notConnected(Object.assign(new AggregateError([], 'x'), { code: 'ECONNRESET' }))).toBe(
      false,
    )
    expect(notConnected(Object.assign(new AggregateError([], 'x'), { code: 'ENOTFOUND' }))).toBe(
      true,
    )
  })
})

describe('httpError: the error for a LoginID status', () => {
  const PATH = '/fido2/v2/mgmt/grant'
  const error = (status: number, data?: unknown) =>
    httpError({ status, data }, PATH, 'the API key lacks a scope', SECRETS)

  /** The error's own text, after the `[loginid-mfa-flow] POST /path: status:` prefix. */
  const text = (mapped: Error) => mapped.message.replace(/^.*?: (?:\d+[^:]*: )?/, '')

  it('names the kind of failure for each class of status', () => {
    expect(error(500).code).toBe('ERR_LOGINID_UNAVAILABLE')
    expect(text(error(500))).toBe('LoginID is unavailable')
    expect(text(error(503))).toBe('LoginID is unavailable')
    expect(error(400).code).toBe('ERR_BAD_REQUEST')
    expect(text(error(400))).toBe('LoginID rejected the request as malformed')
    expect(text(error(404))).toBe('LoginID answered HTTP 404')
    expect(text(error(409))).toBe('LoginID answered HTTP 409')
    expect(text(error(499))).toBe('LoginID answered HTTP 499')
    expect(error(403).code).toBe('ERR_API_KEY_SCOPE')
    expect(text(error(403))).toBe('the API key lacks a scope')
    expect(error(401).code).toBe('ERR_API_KEY_INVALID')
  })

  it("keeps LoginID's message and msgCode, with the key redacted, and the request's place", () => {
    const mapped = error(400, { msg: `bad key ${KEY}`, msgCode: `code_${SECRETS[1]}` })
    expect(mapped.message).toContain('(LoginID: bad key [REDACTED])')
    expect(mapped.message).not.toContain(KEY)
    expect(mapped).toMatchObject({
      method: 'POST',
      path: PATH,
      status: 400,
      msgCode: 'code_[REDACTED]',
    })
    expect(text(error(400))).toBe('LoginID rejected the request as malformed')
    expect(error(400).msgCode).toBeUndefined()
  })
})

describe('readCapped, redact, sleep', () => {
  const body = (text: string) => new Response(text)

  it('JSON when it parses, the text when not, undefined when empty', async () => {
    expect(await readCapped(body('{"token":"t"}'), true)).toEqual({ token: 't' })
    expect(await readCapped(body('not json'), true)).toBe('not json')
    expect(await readCapped(body(''), true)).toBeUndefined()
  })

  it('more than 1 MiB is TOO_LARGE; exactly 1 MiB is read', async () => {
    expect(await readCapped(body('x'.repeat(MAX_RESPONSE_BYTES + 1)), false)).toBe(TOO_LARGE)
    expect(await readCapped(body('x'.repeat(MAX_RESPONSE_BYTES)), false)).toHaveLength(
      MAX_RESPONSE_BYTES,
    )
  })

  it('redacts every occurrence of every secret', () => {
    expect(redact(`${KEY}/${KEY} ${SECRETS[1]}`, SECRETS)).toBe('[REDACTED]/[REDACTED] [REDACTED]')
  })

  it('sleep ends at once when the signal aborts, and removes its listener', async () => {
    const controller = new AbortController()
    const started = Date.now()
    const waiting = sleep(60_000, controller.signal)
    controller.abort()
    await waiting
    expect(Date.now() - started).toBeLessThan(1_000)
    await sleep(1, undefined)
  })
})
