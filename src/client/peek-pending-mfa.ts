/**
 * `loginid-mfa-flow`: {@link peekPendingMfa}, which reads a flow suspended by `ctx.redirect`
 * without taking it.
 *
 * @module
 */
import {
  PENDING_KEY,
  expiryOf,
  parseSnapshot,
  pendingStorage,
  stored,
} from './internal/pending-flow.js'
import { invalid } from './internal/drive-mfa.js'
import { guard, openScope } from './internal/run-scope.js'
import { isTimerDuration } from '../internal/guards.js'
import type { PeekPendingMfaOptions, PendingMfa } from './types.js'

/**
 * Read the suspended flow without consuming it, so a return page can find its own `state`
 * (for example `state.returnTo`) before it calls {@link resumeMfa}, or show "this sign-in
 * expired". Resolves with `null` when there is none (or it is unreadable). It never returns the
 * nonce or the LoginID session, and it checks nothing: the nonce is checked by `resumeMfa`.
 * `expiresAt` is when `resumeMfa` will call the flow expired (the saved value, capped at 15
 * minutes after the flow was saved). Rejects with `ERR_STORAGE` when the storage throws or there
 * is none, `ERR_ABORTED` when `signal` aborts and `ERR_TIMEOUT` when the storage has not answered
 * within `timeoutMs`.
 *
 * @example
 * ```ts
 * import { peekPendingMfa } from 'loginid-mfa-flow'
 *
 * // Partial: your app's message display.
 * declare function showMessage(text: string): void
 *
 * const pending = await peekPendingMfa<{ returnTo: string }>()
 * if (!pending || pending.expiresAt <= Date.now()) showMessage('Please sign in again')
 * ```
 */
export async function peekPendingMfa<S = unknown>(
  options: PeekPendingMfaOptions = {},
): Promise<PendingMfa<S> | null> {
  if (typeof options !== 'object' || options === null)
    throw invalid('peekPendingMfa options must be an object')
  const {
    pendingFlowStorage: storage = options.storage,
    storageKey = PENDING_KEY,
    signal,
    timeoutMs = 10_000,
  } = options
  if (signal !== undefined && typeof signal?.addEventListener !== 'function') {
    throw invalid('signal must be an AbortSignal')
  }
  if (!isTimerDuration(timeoutMs)) {
    throw invalid('timeoutMs must be a positive number of milliseconds up to 2147483647')
  }
  const target = pendingStorage(storage)
  const scope = openScope(signal, timeoutMs, 'pending-flow read')
  let raw: string | null | undefined
  try {
    raw = await guard(scope.signal, () => stored(() => target.getItem(storageKey)))
  } finally {
    scope.end()
  }
  const saved = parseSnapshot(raw)
  if (!saved) return null
  const { username, flow, state, steps } = saved
  return { username, flow, state: state as S | undefined, expiresAt: expiryOf(saved), steps }
}
