// Internal: the JWKS cache of `verifyLoginIDToken`. One key set per base URL, fetched with a
// timer raced against the fetch, a body cap, and one cooldown for every fetch, failed or not: an
// unknown `kid` or a failing endpoint never turns a flood of tokens into a flood of requests.
// `jose` is loaded on first use, so importing the server entry does not load it.
import type * as Jose from 'jose'
import type { JSONWebKeySet, JWSHeaderParameters, FlattenedJWSInput, CryptoKey } from 'jose'
import { MfaError } from '../../shared/errors.js'
import { codeForStatus, toMfaError } from '../../internal/http.js'
import { readResponseText } from '../../internal/read-body.js'
import { globalRawFetch } from './ofetch-raw.js'

export const JWKS_PATH = '/fido2/v2/.well-known/jwks.json'
/** At most one JWKS fetch per base URL in this window, whatever its outcome. */
export const JWKS_COOLDOWN_MS = 30_000
/** A key set older than this is refetched (after the cooldown). */
const JWKS_MAX_AGE_MS = 10 * 60_000
const JWKS_TIMEOUT_MS = 5_000
/** The largest JWKS read: LoginID's holds a few keys of ~200 bytes each. */
export const MAX_JWKS_BYTES = 64 * 1024

type KeyLookup = (header: JWSHeaderParameters, token: FlattenedJWSInput) => Promise<CryptoKey>

interface JwksState {
  lookup?: KeyLookup
  fetchedAt: number
  /** When the last fetch started (successful or not). */
  attemptAt: number
  failure?: MfaError | undefined
  pending?: Promise<void> | undefined
}

const where = { method: 'GET', path: JWKS_PATH }
const states = new Map<string, JwksState>()

/** Load `jose` once. */
export const loadJose = (): Promise<typeof Jose> => import('jose')

/** The key resolver `jwtVerify` gets for `baseUrl`. */
export function keyResolver(baseUrl: string): KeyLookup {
  let state = states.get(baseUrl)
  if (state === undefined) {
    state = { fetchedAt: 0, attemptAt: -Infinity }
    states.set(baseUrl, state)
  }
  const s = state
  return async (header, token) => {
    const jose = await loadJose()
    // Stryker disable next-line ConditionalExpression: with no key set yet `fetchedAt` is 0, so the age test alone is true as well
    const stale = s.lookup === undefined || Date.now() - s.fetchedAt >= JWKS_MAX_AGE_MS
    if (s.pending !== undefined || (stale && cooledDown(s))) await refresh(baseUrl, s)
    if (s.lookup === undefined) throw s.failure ?? unavailable()
    try {
      return await s.lookup(header, token)
    } catch (error) {
      if (!(error instanceof jose.errors.JWKSNoMatchingKey)) throw error
      // An unknown kid: LoginID may have rotated its key. Refetch, but only after the cooldown.
      if (s.pending === undefined && !cooledDown(s)) throw error
      await refresh(baseUrl, s)
      return s.lookup(header, token)
    }
  }
}

const cooledDown = (s: JwksState): boolean => Date.now() - s.attemptAt >= JWKS_COOLDOWN_MS

const unavailable = (): MfaError =>
  // Stryker disable next-line StringLiteral: not reachable: a refresh always leaves a key set or a failure before this is asked
  new MfaError('ERR_LOGINID_UNAVAILABLE', 'could not fetch the JSON Web Key Set', where)

/**
 * Fetch the key set once for all concurrent callers. Never rejects: a failure is kept in
 * `s.failure` (and answered for the whole cooldown), a stale key set kept in use.
 */
function refresh(baseUrl: string, s: JwksState): Promise<void> {
  s.pending ??= (async () => {
    s.attemptAt = Date.now()
    try {
      const jose = await loadJose()
      const jwks = await fetchJwks(`${baseUrl}${JWKS_PATH}`)
      let lookup: KeyLookup
      try {
        lookup = jose.createLocalJWKSet(jwks)
      } catch {
        throw new MfaError('ERR_BAD_RESPONSE', 'the JSON Web Key Set is malformed', where)
      }
      s.lookup = lookup
      s.fetchedAt = Date.now()
      s.failure = undefined
    } catch (error) {
      s.failure = error instanceof MfaError ? error : toMfaError(error, where)
      // A stale key set is still better than none while LoginID is down.
    } finally {
      s.pending = undefined
    }
  })()
  return s.pending
}

/**
 * GET the key set through ofetch over the global fetch (looked up now): no redirects, a timer
 * raced, a body cap.
 */
async function fetchJwks(url: string): Promise<JSONWebKeySet> {
  const controller = new AbortController()
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort()
      reject(new MfaError('ERR_TIMEOUT', 'the JSON Web Key Set did not arrive in time', where))
    }, JWKS_TIMEOUT_MS)
  })
  const work = (async () => {
    let response: Response
    let fetchFailed: { error: unknown } | undefined
    try {
      const fetchRaw = await globalRawFetch()
      response = await fetchRaw(url, {
        headers: { Accept: 'application/json' },
        signal: controller.signal,
        // Stryker disable next-line BlockStatement: toMfaError keeps only the low-level cause of ofetch's FetchError, never the FetchError (with its request options) itself; this hook keeps the fetch's own error instead
        onRequestError: ({ error }) => {
          // Stryker disable next-line ObjectLiteral: as above
          fetchFailed = { error }
        },
      })
    } catch (error) {
      // What fetch threw, never ofetch's FetchError (it holds the request options).
      // Stryker disable next-line ConditionalExpression,EqualityOperator: as above: either error becomes the same ERR_NETWORK without request options
      throw toMfaError(fetchFailed === undefined ? error : fetchFailed.error, where)
    }
    if (response.status !== 200) {
      response.body?.cancel().catch(() => undefined)
      const code =
        response.status >= 500 || response.status === 404
          ? codeForStatus(response.status)
          : 'ERR_BAD_RESPONSE'
      throw new MfaError(code, 'could not fetch the JSON Web Key Set', {
        ...where,
        status: response.status,
      })
    }
    const text = await readCapped(response)
    let data: unknown
    try {
      data = JSON.parse(text)
      // Stryker disable next-line BlockStatement: `data` stays undefined without the assignment
    } catch {
      data = undefined
    }
    const keys = (data as { keys?: unknown } | undefined)?.keys
    // Stryker disable next-line ConditionalExpression,LogicalOperator,BlockStatement,StringLiteral: jose's createLocalJWKSet refuses the same shapes, with the same ERR_BAD_RESPONSE (refresh); this only spares it the call
    if (typeof data !== 'object' || data === null || !Array.isArray(keys)) {
      throw new MfaError('ERR_BAD_RESPONSE', 'the JSON Web Key Set is malformed', where)
    }
    return data as JSONWebKeySet
  })()
  try {
    return await Promise.race([work, timeout])
  } finally {
    clearTimeout(timer)
    work.catch(() => undefined)
  }
}

async function readCapped(response: Response): Promise<string> {
  let text: string | undefined
  try {
    text = await readResponseText(response, MAX_JWKS_BYTES)
  } catch (error) {
    throw toMfaError(error, where)
  }
  // Stryker disable next-line ConditionalExpression,BlockStatement: without it, JSON.parse(undefined) fails and the set is refused with the same ERR_BAD_RESPONSE; this branch only words the message
  if (text === undefined) {
    throw new MfaError(
      'ERR_BAD_RESPONSE',
      `the JSON Web Key Set exceeds ${MAX_JWKS_BYTES} bytes`,
      where,
    )
  }
  return text
}
