// Internal (doctor): check 5, minting an external-auth grant token with the API key, through the
// public createManagementClient (its fetch is wrapped only to record the answer for check 7).
import { isMfaError } from '../../../shared/errors.js'
import { createManagementClient } from '../../create-management-client.js'
import type { ManagementClient } from '../../create-management-client.js'
import type { CheckOutcome, DoctorContext } from './context.js'
import { FIX_UNREACHABLE, keepSecret, messageOf, readAnswer } from './context.js'

export const GRANT_PATH = '/fido2/v2/mgmt/grant/external-auth'

export const FIX_SCOPE =
  'give the API key the external:verify scope in the LoginID dashboard (or create a key that has it)'
export const FIX_KEY_INVALID =
  "use an API key of this app: LoginID does not know the key (revoked, mistyped, or another app's)"

/** A management client whose answers are recorded for check 7. */
export function managementClient(ctx: DoctorContext, apiKey: string): ManagementClient {
  const recording: typeof fetch = async (input, init) => {
    const response = await fetch(input, init)
    await readAnswer(ctx, `POST ${GRANT_PATH}`, response.clone())
    return response
  }
  return createManagementClient({
    baseUrl: ctx.options.baseUrl,
    apiKey,
    fetch: recording,
    retries: 0,
    timeoutMs: ctx.options.timeoutMs,
  })
}

/** Mint a grant token for the run's username; the outcome is check 5's (or 6's) evidence. */
export async function mintGrant(
  ctx: DoctorContext,
  apiKey: string,
): Promise<{ token: string } | CheckOutcome> {
  try {
    const { token } = await managementClient(ctx, apiKey).grantExternalAuth(ctx.options.username, {
      ...(ctx.options.signal !== undefined && { signal: ctx.options.signal }),
    })
    keepSecret(ctx, token)
    return { token }
  } catch (error) {
    if (isMfaError(error, 'ERR_ABORTED')) throw error
    const evidence = messageOf(error)
    if (isMfaError(error, 'ERR_API_KEY_SCOPE')) {
      return { status: 'fail', evidence, fix: FIX_SCOPE }
    }
    if (isMfaError(error, 'ERR_API_KEY_INVALID')) {
      return { status: 'fail', evidence, fix: FIX_KEY_INVALID }
    }
    if (isMfaError(error, 'ERR_NETWORK', 'ERR_TIMEOUT')) {
      return { status: 'fail', evidence, fix: FIX_UNREACHABLE }
    }
    if (isMfaError(error, 'ERR_NOT_FOUND')) {
      return {
        status: 'fail',
        evidence,
        fix: 'check the base URL: LoginID does not know the management route for this app',
      }
    }
    return {
      status: 'fail',
      evidence,
      fix: 'retry; if it persists, contact LoginID support with the evidence',
    }
  }
}

export async function checkGrant(ctx: DoctorContext): Promise<CheckOutcome> {
  const { apiKey, username } = ctx.options
  if (apiKey === undefined) {
    return { status: 'skip', evidence: 'no API key (--api-key-env NAME)' }
  }
  if (!ctx.reachable) return { status: 'skip', evidence: 'LoginID is not reachable (check 1)' }
  const minted = await mintGrant(ctx, apiKey)
  if (!('token' in minted)) {
    ctx.grantFailed = true
    return minted
  }
  return {
    status: 'pass',
    evidence: `minted an external-auth grant token for "${username}" (the key has external:verify)`,
  }
}
