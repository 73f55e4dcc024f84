// Internal: abort and deadline helpers for `runMfa`. Not exported from any entry.
// A scope is an AbortSignal that aborts when its parent aborts or when its deadline passes; the
// abort reason is always an MfaError (ERR_ABORTED or ERR_TIMEOUT), so whatever awaits a guarded
// promise rejects with the typed error at once, and no later call starts.
import { MfaError } from '../../shared/errors.js'

const ENDED: Record<string, MfaError> = {}

let never: AbortSignal | undefined
/**
 * The signal of a run that can never abort (no caller signal, no deadline): guards skip their
 * listeners and clients get no signal, so such a run pays for no AbortController at all. Made on
 * first use, one per process: workerd refuses an AbortController made in global scope.
 */
export function neverSignal(): AbortSignal {
  return (never ??= new AbortController().signal)
}

/** A scope for a run: {@link neverSignal}'s when nothing can abort it. */
export function runScope(parent: AbortSignal | undefined, ms: number | undefined): RunScope {
  return parent === undefined && ms === undefined
    ? { signal: neverSignal(), end: () => undefined }
    : openScope(parent, ms, 'run')
}

/** An abort scope: `signal` aborts on the parent's abort or at the deadline; `end` disposes it. */
export interface RunScope {
  readonly signal: AbortSignal
  /** Abort the scope (if still live) and release its timer and parent listener. */
  end(): void
}

/**
 * A child scope of `parent` (the caller's signal or another scope) with an optional deadline of
 * `ms` milliseconds. A parent's non-MfaError reason becomes `ERR_ABORTED` with it as `cause`.
 */
export function openScope(
  parent: AbortSignal | undefined,
  ms: number | undefined,
  what: string,
): RunScope {
  const controller = new AbortController()
  const abort = (reason: unknown): void => {
    if (!controller.signal.aborted) controller.abort(reason)
  }
  const onParent = (): void =>
    abort(
      // Stryker disable next-line OptionalChaining: onParent runs only when there is a parent
      parent?.reason instanceof MfaError
        ? parent.reason
        : // Stryker disable next-line OptionalChaining: onParent runs only when there is a parent
          new MfaError('ERR_ABORTED', 'the run was aborted', { cause: parent?.reason }),
    )
  if (parent === never) parent = undefined
  if (parent?.aborted) onParent()
  else parent?.addEventListener('abort', onParent)
  const timer =
    ms === undefined
      ? undefined
      : setTimeout(
          () => abort(new MfaError('ERR_TIMEOUT', `the ${what} did not finish in ${ms} ms`)),
          ms,
        )
  return {
    signal: controller.signal,
    end() {
      clearTimeout(timer)
      parent?.removeEventListener('abort', onParent)
      // Nothing awaits an ended scope: one shared reason, not a new error (and stack) per scope.
      if (!controller.signal.aborted)
        abort((ENDED[what] ??= new MfaError('ERR_ABORTED', `the ${what} has ended`)))
    },
  }
}

/**
 * Call `fn` only if `signal` is live, and settle with its result or with the signal's reason,
 * whichever comes first. Synchronous throws from `fn` become rejections.
 */
export function guard<T>(signal: AbortSignal, fn: () => T | PromiseLike<T>): Promise<T> {
  if (signal === never) return new Promise<T>((resolve) => resolve(fn()))
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason)
    const stop = (): void => reject(signal.reason)
    signal.addEventListener('abort', stop)
    new Promise<T>((r) => r(fn()))
      .then(resolve, reject)
      .finally(() => signal.removeEventListener('abort', stop))
  })
}
