/**
 * `loginid-mfa-flow`: {@link peekPendingMfa}, which reads a flow suspended by `ctx.redirect`
 * without taking it.
 *
 * @module
 */
import { PENDING_KEY, parseSnapshot, pendingStorage, stored } from './internal/pending-flow.js'
import { invalid } from './internal/drive-mfa.js'
import type { PeekPendingMfaOptions, PendingMfa } from './types.js'

/**
 * Read the suspended flow without consuming it, so a return page can find its own `state`
 * (for example `state.returnTo`) before it calls {@link resumeMfa}, or show "this sign-in
 * expired". Resolves with `null` when there is none (or it is unreadable). It never returns the
 * nonce or the LoginID session, and it checks nothing: the nonce is checked by `resumeMfa`.
 * Rejects with `ERR_STORAGE` when the storage throws or there is none.
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
  const { storage, storageKey = PENDING_KEY } = options
  const target = pendingStorage(storage)
  const saved = parseSnapshot(await stored(() => target.getItem(storageKey)))
  if (!saved) return null
  const { username, flow, state, expiresAt, steps } = saved
  return { username, flow, state: state as S | undefined, expiresAt, steps }
}
