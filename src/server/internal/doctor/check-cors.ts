// Internal (doctor): check 4, the CORS preflight a browser on `origin` sends before
// `mfa/begin` (a JSON POST is not a "simple" request).
import type { CheckOutcome, DoctorContext } from './context.js'
import { request } from './context.js'
import { BEGIN_PATH } from './check-begin.js'

export function corsFix(origin: string): string {
  return `add ${origin} to the app's allowed origins in the LoginID dashboard`
}

export async function checkCors(ctx: DoctorContext): Promise<CheckOutcome> {
  const { origin } = ctx.options
  if (origin === undefined) {
    return { status: 'skip', evidence: 'no origin given (--origin https://your-app.example)' }
  }
  if (!ctx.reachable) return { status: 'skip', evidence: 'LoginID is not reachable (check 1)' }
  const answer = await request(ctx, 'OPTIONS', BEGIN_PATH, {
    headers: {
      Origin: origin,
      'Access-Control-Request-Method': 'POST',
      'Access-Control-Request-Headers': 'content-type',
    },
  })
  if (answer.kind === 'failure') {
    return {
      status: 'fail',
      evidence: `preflight OPTIONS ${BEGIN_PATH}: ${answer.detail}`,
      fix: 'retry; if it persists, contact LoginID support',
    }
  }
  const allowOrigin = answer.headers.get('access-control-allow-origin')
  const preflight = `preflight from ${origin} answered HTTP ${answer.status}`
  if (
    answer.status < 200 ||
    answer.status > 299 ||
    (allowOrigin !== '*' && allowOrigin !== origin)
  ) {
    return {
      status: 'fail',
      evidence: `${preflight} with ${allowOrigin === null ? 'no Access-Control-Allow-Origin' : `Access-Control-Allow-Origin: ${allowOrigin}`}`,
      fix: corsFix(origin),
    }
  }
  const allowHeaders = (answer.headers.get('access-control-allow-headers') ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase())
  if (!allowHeaders.includes('content-type') && !allowHeaders.includes('*')) {
    return {
      status: 'fail',
      evidence: `${preflight}, origin allowed but not the Content-Type header`,
      fix: 'report the evidence to LoginID support: browsers cannot send JSON to mfa/begin',
    }
  }
  return { status: 'pass', evidence: `${preflight}, Access-Control-Allow-Origin: ${allowOrigin}` }
}
