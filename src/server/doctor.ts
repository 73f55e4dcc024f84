/**
 * `loginid-mfa-flow/server`: `runDoctor`, the checks of `npx loginid-mfa-flow doctor` as a
 * function for deploy pipelines. The checks themselves load lazily on the first call, so
 * importing `loginid-mfa-flow/server` does not pay for them.
 *
 * @module
 */
/** Options for {@link runDoctor}. */
export interface DoctorOptions {
  /** The app's LoginID base URL, `https://<appId>.api.loginid.io`. Check 1 judges its shape. */
  baseUrl: string
  /**
   * The app id the access token's `aud` must carry (check 6).
   *
   * @defaultValue the first DNS label of `baseUrl`'s host, as LoginID derives it
   */
  appId?: string | undefined
  /**
   * The LoginID API key; checks 5 and 6 need it. It never appears in the report (every string
   * in it is scrubbed of the key), and it is sent only to the management API.
   */
  apiKey?: string | undefined
  /** A page origin (`https://app.example`): check 4 sends a CORS preflight from it. */
  origin?: string | undefined
  /**
   * The username `mfa/begin` (and `--complete`) runs for.
   *
   * @defaultValue a random throwaway `loginid-mfa-flow-doctor-<hex>`
   */
  username?: string | undefined
  /**
   * Check 6: complete the flow through `third-party/verify` with a grant token and verify the
   * access token. It signs the user in (or **up**) on the real application. Needs `apiKey`.
   *
   * @defaultValue false
   */
  complete?: boolean | undefined
  /**
   * Accept an `http://` base URL on a loopback host (localhost, 127.0.0.1, [::1]), such as a
   * local `loginid-mfa-flow-simulator`. Check 1 then reports a warning instead of a failure, and
   * does not judge the host's shape.
   *
   * @defaultValue false
   */
  allowInsecureLocal?: boolean | undefined
  /**
   * Time limit for each request, in milliseconds.
   *
   * @defaultValue 10_000
   */
  timeoutMs?: number | undefined
  /** Cancels the run: `runDoctor` then rejects with `ERR_ABORTED`. */
  signal?: AbortSignal | undefined
}

/** The seven checks, in order. */
export type DoctorCheckId =
  'base-url' | 'jwks' | 'mfa-begin' | 'cors' | 'grant' | 'complete' | 'response-schemas'

/** A check's verdict. Only `fail` makes the report (and the CLI) fail. */
export type DoctorCheckStatus = 'pass' | 'fail' | 'warn' | 'skip'

/** One check's result. */
export interface DoctorCheck {
  /** Stable id, for scripts. */
  id: DoctorCheckId
  /** 1 to 7, as the docs number them. */
  number: number
  /** Short human title, e.g. `JWKS`. */
  title: string
  status: DoctorCheckStatus
  /** One line of evidence: what was sent or seen. Never a secret. */
  evidence: string
  /** On `fail` and `warn`: one line saying what to change. */
  fix?: string
  /** Every difference found, for `response-schemas` (the evidence shows the first). */
  details?: string[]
}

/** The result of {@link runDoctor}; `JSON.stringify` of it is the CLI's `--json` output. */
export interface DoctorReport {
  /** The format version of this object; bumped only on incompatible changes. */
  version: 1
  /** `true` when no check failed (warnings and skips do not fail). */
  ok: boolean
  /** The base URL as given (trailing slashes removed). */
  baseUrl: string
  /** The app id checked against (`appId`, else derived from the host), when one was found. */
  appId?: string
  /** The username `mfa/begin` ran for. */
  username: string
  /** The seven checks, in order. */
  checks: DoctorCheck[]
  /** How many checks ended in each status. */
  summary: Record<DoctorCheckStatus, number>
}

/**
 * Check a real LoginID application end to end, as `npx loginid-mfa-flow doctor` does:
 *
 * 1. the base URL's shape (https, the app id as its first label) and that it answers;
 * 2. the JWKS: reachable, ES256 keys with `kid`s;
 * 3. `POST /fido2/v2/mfa/begin` answers `MfaNext` with a session and actions this library knows
 *    (an unknown action is a warning that names it);
 * 4. with `origin`: a CORS preflight from it to `mfa/begin` is allowed;
 * 5. with `apiKey`: `POST /fido2/v2/mgmt/grant/external-auth` mints a grant token;
 * 6. with `complete`: the flow completes through `third-party/verify` and `verifyLoginIDToken`
 *    accepts the access token (issuer, audience, username);
 * 7. every response's shape matches the OpenAPI schemas this library and its simulator assume.
 *
 * A check whose prerequisite failed is skipped. The report never contains the API key, a
 * session or a token.
 *
 * @throws MfaError `ERR_INVALID_ARGUMENT` for bad options (before any request),
 *   `ERR_ABORTED` when `signal` aborts. A failing check is a report entry, never a throw.
 * @see https://docs.loginid.io/user-scenario/authentication/mfa/fallback-custom/
 *
 * @example Fail a deploy when LoginID is misconfigured
 * ```ts
 * import { runDoctor } from 'loginid-mfa-flow/server'
 *
 * const report = await runDoctor({
 *   baseUrl: process.env.LOGINID_BASE_URL!,
 *   apiKey: process.env.LOGINID_API_KEY,
 *   origin: 'https://app.example',
 * })
 * for (const check of report.checks) console.log(check.status, check.title, check.evidence)
 * if (!report.ok) process.exit(1)
 * ```
 */
export async function runDoctor(options: DoctorOptions): Promise<DoctorReport> {
  const { runDoctorChecks } = await import('./internal/doctor/run-doctor.js')
  return runDoctorChecks(options)
}
