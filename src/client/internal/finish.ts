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
  // Explicit assignments, not conditional spreads: this runs once per run, on the hot path.
  const summary: MfaCompletionSummary = {
    status: 'complete',
    username: result.username ?? username,
    steps,
  }
  if (result.deviceId) summary.deviceId = result.deviceId
  if (result.flow) summary.flow = result.flow
  if (result.passkeyCredential) summary.passkeyCredential = result.passkeyCredential
  const completion: MfaCompletion = { ...summary }
  if (result.accessToken) completion.accessToken = result.accessToken
  if (result.idToken) completion.idToken = result.idToken
  if (result.refreshToken) completion.refreshToken = result.refreshToken
  if (result.payloadSignature) completion.payloadSignature = result.payloadSignature
  return { summary, completion }
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
  onPending(undefined)
}
