// Internal: how a run ends well: the completion (tokens for the caller, a token-free summary for
// events), or a saved suspension (`ctx.redirect`).
import type { MfaSessionResult } from '../../shared/protocol.js'
import type { MfaCompletion, MfaCompletionSummary, MfaStep, MfaStorage } from '../types.js'
import { guard } from './run-scope.js'
import { pendingStorage, stored } from './pending-flow.js'

/** The completion, and its summary: events feed progress UIs and telemetry, never a token. */
export function toCompletion(
  result: MfaSessionResult,
  username: string,
  steps: MfaStep[],
): { summary: MfaCompletionSummary; completion: MfaCompletion } {
  // Assignments, not spreads: in V8 a property added to (or after) a spread copy costs ~1 µs
  // each, more than the rest of the driver's work per step.
  const summary: MfaCompletionSummary = {
    status: 'complete',
    username: result.username ?? username,
    steps,
  }
  copyPresent(summary, result, ['deviceId', 'flow', 'passkeyCredential'])
  const completion: MfaCompletion = Object.assign({}, summary)
  copyPresent(completion, result, ['accessToken', 'idToken', 'refreshToken', 'payloadSignature'])
  return { summary, completion }
}

/** Copy each of `keys` that `from` has a truthy value for. */
function copyPresent<K extends keyof MfaSessionResult>(
  to: Partial<Record<K, unknown>>,
  from: MfaSessionResult,
  keys: readonly K[],
): void {
  for (const key of keys) if (from[key]) to[key] = from[key]
}

/**
 * Save a suspended flow under `key`, within `signal`. `onPending` receives an undo while the write
 * may be in flight (a run that fails meanwhile must not leave it behind) and `undefined` after.
 */
export async function saveSuspension(
  storage: MfaStorage | undefined,
  key: string,
  json: string,
  signal: AbortSignal,
  onPending: (undo: (() => void) | undefined) => void,
): Promise<void> {
  const target = pendingStorage(storage)
  const write = stored(() => target.setItem(key, json))
  onPending(() => {
    const remove = (): unknown => stored(() => target.removeItem(key)).catch(() => undefined)
    void write.then(remove, remove)
  })
  await guard(signal, () => write)
  // Stryker disable next-line CallExpression: the run returns right after a save; nothing can fail it
  onPending(undefined)
}
