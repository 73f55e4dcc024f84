// Internal (doctor): check 6, completing the flow through `third-party/verify` with a fresh grant
// token and verifying the access token as an app's backend would, with verifyLoginIDToken.
import { decodeBase64UrlText } from '../../../internal/base64url.js'
import { isNonEmptyString, isRecord } from '../../../internal/guards.js'
import { isMfaError } from '../../../shared/errors.js'
import { verifyLoginIDToken } from '../../verify-login-id-token.js'
import type { CheckOutcome, DoctorContext } from './context.js'
import { appErrorText, fixForStatus, keepSecret, messageOf, request } from './context.js'
import { mintGrant } from './check-grant.js'

export const VERIFY_PATH = '/fido2/v2/mfa/third-party/verify'

export const FIX_NO_EXTERNAL =
  "enable the external factor in the app's MFA settings in the LoginID dashboard (or use a --username whose flow offers it)"
export const FIX_MORE_FACTORS =
  'the app asks for more factors after external (e.g. passkey registration), which a CLI cannot perform: check with a test app without that requirement'

export async function checkComplete(ctx: DoctorContext): Promise<CheckOutcome> {
  const { complete, apiKey, username, baseUrl, appId } = ctx.options
  if (!complete) {
    return {
      status: 'skip',
      evidence: 'off by default: --complete signs a user in (or up) on the application',
    }
  }
  if (apiKey === undefined) return { status: 'skip', evidence: 'needs an API key' }
  if (ctx.grantFailed) return { status: 'skip', evidence: 'needs a grant token (check 5)' }
  if (ctx.session === undefined) {
    return { status: 'skip', evidence: 'needs the MFA session of check 3' }
  }
  if (!ctx.offered?.includes('external')) {
    return {
      status: 'fail',
      evidence: `mfa/begin offered ${ctx.offered?.join(', ') ?? 'nothing'}, not external`,
      fix: FIX_NO_EXTERNAL,
    }
  }
  const minted = await mintGrant(ctx, apiKey)
  if (!('token' in minted)) return minted
  const answer = await request(ctx, 'POST', VERIFY_PATH, {
    headers: { Authorization: ctx.session },
    body: { token: minted.token },
  })
  if (answer.kind === 'failure') {
    return {
      status: 'fail',
      evidence: `POST ${VERIFY_PATH}: ${answer.detail}`,
      fix: 'retry; if it persists, contact LoginID support',
    }
  }
  const body = isRecord(answer.json) ? answer.json : {}
  keepSecret(ctx, body.session)
  for (const name of ['accessToken', 'idToken', 'refreshToken', 'payloadSignature']) {
    keepSecret(ctx, body[name])
  }
  if (answer.status === 401 && isNonEmptyString(body.session)) {
    const next = Array.isArray(body.next) ? body.next : []
    const names = next.map((entry: unknown) =>
      isRecord(entry) && isRecord(entry.action) ? String(entry.action.name) : '?',
    )
    return {
      status: 'fail',
      evidence: `POST ${VERIFY_PATH} accepted the grant but asks for more: ${names.join(', ') || 'nothing named'}`,
      fix: FIX_MORE_FACTORS,
    }
  }
  if (answer.status !== 200) {
    return {
      status: 'fail',
      evidence: `POST ${VERIFY_PATH} answered ${appErrorText(answer)}`,
      fix:
        answer.status === 401
          ? 'LoginID refused the grant token: check that the API key belongs to this app'
          : fixForStatus(answer.status),
    }
  }
  if (!isNonEmptyString(body.accessToken)) {
    return {
      status: 'fail',
      evidence: `POST ${VERIFY_PATH} answered 200 without an accessToken`,
      fix: 'report the evidence to loginid-mfa-flow: the library needs the access token',
    }
  }
  try {
    await verifyLoginIDToken(body.accessToken, {
      baseUrl,
      username,
      ...(appId !== undefined && { appId }),
    })
  } catch (error) {
    if (!isMfaError(error)) throw error
    return tokenFailure(error.code, messageOf(error), body.accessToken, ctx)
  }
  const flow = typeof body.flow === 'string' ? ` (${body.flow})` : ''
  return {
    status: 'pass',
    evidence: `completed${flow} for "${username}" through external; verifyLoginIDToken accepted the access token`,
  }
}

function tokenFailure(
  code: string,
  message: string,
  token: string,
  ctx: DoctorContext,
): CheckOutcome {
  const claims = unverifiedClaims(token)
  const { baseUrl, appId } = ctx.options
  const expectedAud = appId ?? new URL(baseUrl).hostname.split('.')[0] ?? ''
  const evidence = `verifyLoginIDToken: ${message}`
  if (code === 'ERR_TOKEN_CLAIMS' && message.includes('"aud"')) {
    const aud = JSON.stringify(claims.aud)
    return {
      status: 'fail',
      evidence: `${evidence}: aud is ${aud}, expected "${expectedAud}"`,
      fix: `if ${aud} is this app's id, pass it as appId to verifyLoginIDToken (--app-id here); otherwise the base URL names another app`,
    }
  }
  if (code === 'ERR_TOKEN_CLAIMS' && message.includes('"iss"')) {
    return {
      status: 'fail',
      evidence: `${evidence}: iss is ${JSON.stringify(claims.iss)}, expected "${baseUrl}"`,
      fix: 'use the issuer as baseUrl in your backend (and here): it must be the exact base URL LoginID signs tokens for',
    }
  }
  if (code === 'ERR_TOKEN_EXPIRED' || message.includes('"nbf"') || message.includes('"iat"')) {
    return {
      status: 'fail',
      evidence,
      fix: "check this machine's clock (or allow skew with clockToleranceSec)",
    }
  }
  return {
    status: 'fail',
    evidence,
    fix: 'report the evidence to loginid-mfa-flow: a LoginID access token should verify',
  }
}

/** The token's claims without verification, for evidence only (never the token itself). */
function unverifiedClaims(token: string): Record<string, unknown> {
  try {
    const claims: unknown = JSON.parse(decodeBase64UrlText(token.split('.')[1] ?? ''))
    return isRecord(claims) ? claims : {}
  } catch {
    return {}
  }
}
