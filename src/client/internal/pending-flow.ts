// Internal: the suspended flow that `ctx.redirect` saves and `resumeMfa` takes back. Not exported
// from any entry. The snapshot is JSON in the app's storage under one key; it holds the LoginID
// session (the only secret), never a grant or access token.
import { MfaError } from '../../shared/errors.js'
import type { MfaFactorName, MfaFlow } from '../../shared/protocol.js'
import { MFA_FACTOR_NAMES } from '../../shared/protocol.js'
import { isNonEmptyString, isRecord } from '../../internal/guards.js'
import { isStorage } from './storage.js'
import type { ExternalAuthReason, MfaStep, MfaStorage } from '../types.js'

/** The default storage key of the suspended flow. */
export const PENDING_KEY = 'loginid-mfa-flow:pending'

/** What is saved (version 1). */
export interface PendingFlowSnapshot {
  v: 1
  nonce: string
  /** Milliseconds since the epoch. */
  expiresAt: number
  session: string
  username: string
  flow?: MfaFlow
  reason: ExternalAuthReason
  /** The factors LoginID offered with the session (type and label only). */
  factors: { type: MfaFactorName; label: string }[]
  steps: MfaStep[]
  state?: unknown
}

const REASONS: readonly string[] = ['signUp', 'newDevice', 'passkeyFailed', 'recommended']

const storageError = (cause: unknown, what = 'the pending-flow storage failed'): MfaError =>
  new MfaError('ERR_STORAGE', what, { cause })

/** The given storage (checked: ERR_INVALID_ARGUMENT), else `sessionStorage` when it exists. */
export function pendingStorage(storage: MfaStorage | undefined): MfaStorage {
  if (storage !== undefined) {
    if (isStorage(storage)) return storage
    throw new MfaError('ERR_INVALID_ARGUMENT', 'storage must have getItem, setItem and removeItem')
  }
  try {
    const session = globalThis.sessionStorage as MfaStorage | undefined
    if (session) return session
  } catch {
    // a sandboxed frame throws SecurityError on access
  }
  throw storageError(undefined, 'no storage for the pending flow: pass the storage option')
}

/** Run a storage call; any failure is ERR_STORAGE (with the storage's error as cause). */
export async function stored<T>(fn: () => T | PromiseLike<T>): Promise<T> {
  try {
    return await fn()
  } catch (cause) {
    throw storageError(cause)
  }
}

/**
 * The longest a suspended flow lives, whatever its saved `expiresAt` says: the longest
 * `resumeTtlMs` (15 minutes) from the nonce's creation.
 */
export const MAX_PENDING_AGE_MS = 15 * 60_000

/**
 * A fresh nonce: the creation time (milliseconds since the epoch, 12 lowercase hex characters)
 * then 16 random bytes (32 lowercase hex characters). The time travels with the nonce through the
 * return URL and must match there, so editing it in the storage is noticed; see {@link expiryOf}.
 */
export function randomNonce(): string {
  const crypto = globalThis.crypto as Crypto | undefined
  if (typeof crypto?.getRandomValues !== 'function') {
    throw storageError(undefined, 'no crypto.getRandomValues for a redirect nonce')
  }
  const random = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) =>
    b.toString(16).padStart(2, '0'),
  ).join('')
  // Stryker disable next-line MethodExpression: Date.now() has 11 hex digits until the year 10889, so slice(-12) of the 12-digit padding changes nothing before then
  return `${Date.now().toString(16).padStart(12, '0').slice(-12)}${random}`
}

const NONCE = /^[0-9a-f]{44}$/

/**
 * When a saved flow really expires: its `expiresAt`, capped at the nonce's creation plus
 * {@link MAX_PENDING_AGE_MS} (an `expiresAt` edited to a year ahead changes nothing). A nonce
 * without a creation time (not made by {@link randomNonce}) counts as expired.
 */
export function expiryOf(saved: PendingFlowSnapshot): number {
  if (!NONCE.test(saved.nonce)) return 0
  const created = parseInt(saved.nonce.slice(0, 12), 16)
  return Math.min(saved.expiresAt, created + MAX_PENDING_AGE_MS)
}

/** The (storage, key) pairs a `resumeMfa` call of this page is taking. */
const claimed = new WeakMap<object, Set<string>>()

/**
 * Claim the flow saved under `key` in `storage` for one `resumeMfa` call of this page (storage
 * calls interleave across awaits, even with a synchronous storage). Returns the release, or
 * `undefined` when another call holds the claim.
 */
export function claimPending(storage: MfaStorage, key: string): (() => void) | undefined {
  let keys = claimed.get(storage)
  if (keys === undefined) claimed.set(storage, (keys = new Set()))
  if (keys.has(key)) return undefined
  keys.add(key)
  const held = keys
  return () => held.delete(key)
}

/** Compare the saved nonce with the returned one in time that depends only on the saved one. */
export function sameNonce(saved: string, returned: unknown): boolean {
  // Stryker disable next-line StringLiteral: any stand-in for a non-string fails the comparison the same way against a nonce made by randomNonce (44 hex digits)
  const other = typeof returned === 'string' ? returned : ''
  let diff = saved.length ^ other.length
  // charCodeAt past the end is NaN, which `^` treats as 0.
  // Stryker disable next-line EqualityOperator: one more index compares NaN (as 0) or a character of a longer `other`, whose length already differs
  for (let i = 0; i < saved.length; i++) diff |= saved.charCodeAt(i) ^ other.charCodeAt(i)
  // Stryker disable next-line ConditionalExpression,EqualityOperator: parseSnapshot only lets a non-empty nonce through, and sameNonce is only given one
  return diff === 0 && saved.length > 0
}

const isName = (v: unknown): v is MfaFactorName => MFA_FACTOR_NAMES.includes(v as MfaFactorName)

/** A stored string as a snapshot, or undefined when it is not one (corrupt, other version). */
export function parseSnapshot(raw: string | null | undefined): PendingFlowSnapshot | undefined {
  let s: unknown
  try {
    // Stryker disable next-line StringLiteral: whatever stands in for a missing entry must not parse as a snapshot, and neither '' nor the mutant's text does
    s = JSON.parse(raw ?? '')
    // Stryker disable next-line BlockStatement: without the return, `s` stays undefined, which is not a snapshot either
  } catch {
    return undefined
  }
  // Enough to drive on safely; a corrupt or foreign entry is treated as none.
  const ok =
    isRecord(s) &&
    s.v === 1 &&
    isNonEmptyString(s.nonce) &&
    Number.isFinite(s.expiresAt) &&
    isNonEmptyString(s.session) &&
    isNonEmptyString(s.username) &&
    REASONS.includes(s.reason as string) &&
    Array.isArray(s.factors) &&
    s.factors.every((f) => isRecord(f) && isName(f.type)) &&
    Array.isArray(s.steps) &&
    s.steps.every((step) => isRecord(step) && isName(step.action) && (step.attempt as number) > 0)
  return ok ? (s as unknown as PendingFlowSnapshot) : undefined
}
