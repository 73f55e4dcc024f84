#!/usr/bin/env node
/// <reference types="node" />
/**
 * The `loginid-mfa-flow` bin. One subcommand, `doctor`: checks a real LoginID application (the
 * checks of `runDoctor` from `loginid-mfa-flow/server`) and prints one line per check.
 *
 * Usage: `loginid-mfa-flow doctor --base-url URL [--api-key-env NAME] [--origin URL]
 * [--username NAME] [--app-id ID] [--complete] [--json] [--allow-insecure-local]
 * [--timeout-ms N]`
 *
 * Exit codes: 0 no check failed, 1 a check failed, 2 bad arguments, 130 interrupted.
 *
 * @module
 */
import process from 'node:process'
import { parseArgs } from 'node:util'
import { isMfaError } from '../shared/errors.js'
import { formatDoctorReport } from '../server/internal/doctor/format-report.js'
import { runDoctorChecks, scrub } from '../server/internal/doctor/run-doctor.js'

const USAGE = `Usage: loginid-mfa-flow doctor --base-url URL [options]

Checks a LoginID application end to end: base URL, JWKS, mfa/begin, CORS, grant token,
(optionally) a complete flow, and the shape of every answer. Exit 0 when no check fails,
1 when one does, 2 on bad arguments.

Options:
  --base-url URL          the app's base URL, https://<app-id>.api.loginid.io (required)
  --api-key-env NAME      read the LoginID API key from the environment variable NAME
                          (never pass the key itself: it would land in your shell history)
  --origin URL            your page's origin: check a CORS preflight from it
  --username NAME         the user mfa/begin runs for (default: a random throwaway one)
  --app-id ID             the app id tokens carry (default: the base URL's first label)
  --complete              complete the flow through the external factor and verify the
                          access token: signs the user in (or UP) on the application
  --json                  print the report as JSON (stable, for CI)
  --allow-insecure-local  accept http on a loopback host (a local simulator), as a warning
  --timeout-ms N          time limit per request (default 10000)
  -h, --help              show this help
`

/** Exit 2 with a one-line reason. */
class UsageError extends Error {}

interface Parsed {
  options: Parameters<typeof runDoctorChecks>[0]
  json: boolean
}

function parse(argv: string[]): Parsed | 'help' {
  // A key passed as an argument would be in the shell history already; refuse it without echoing.
  if (argv.some((arg) => arg === '--api-key' || arg.startsWith('--api-key='))) {
    throw new UsageError(
      'pass the API key through an environment variable: --api-key-env NAME (not --api-key)',
    )
  }
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        'base-url': { type: 'string' },
        'api-key-env': { type: 'string' },
        origin: { type: 'string' },
        username: { type: 'string' },
        'app-id': { type: 'string' },
        complete: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        'allow-insecure-local': { type: 'boolean', default: false },
        'timeout-ms': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: true,
    })
  } catch (error) {
    throw new UsageError((error as Error).message.split('\n')[0] ?? 'bad arguments')
  }
  const { values, positionals } = parsed
  if (values.help) return 'help'
  if (positionals[0] !== 'doctor') {
    throw new UsageError(
      positionals.length === 0 ? 'missing the subcommand: doctor' : 'unknown subcommand',
    )
  }
  if (positionals.length > 1) throw new UsageError('doctor takes no positional arguments')
  const baseUrl = values['base-url']
  if (baseUrl === undefined) throw new UsageError('--base-url is required')
  let apiKey: string | undefined
  const envName = values['api-key-env']
  if (envName !== undefined) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(envName)) {
      throw new UsageError('--api-key-env takes the NAME of an environment variable')
    }
    apiKey = process.env[envName]
    if (apiKey === undefined || apiKey.trim() === '') {
      throw new UsageError(`the environment variable ${envName} is not set or empty`)
    }
  }
  let timeoutMs: number | undefined
  if (values['timeout-ms'] !== undefined) {
    timeoutMs = Number(values['timeout-ms'])
    if (!/^\d+$/.test(values['timeout-ms']) || timeoutMs <= 0) {
      throw new UsageError('--timeout-ms must be a positive integer')
    }
  }
  if (values.complete && apiKey === undefined) {
    throw new UsageError('--complete needs --api-key-env (the flow completes with a grant token)')
  }
  return {
    json: values.json,
    options: {
      baseUrl,
      ...(apiKey !== undefined && { apiKey }),
      ...(values.origin !== undefined && { origin: values.origin }),
      ...(values.username !== undefined && { username: values.username }),
      ...(values['app-id'] !== undefined && { appId: values['app-id'] }),
      complete: values.complete,
      allowInsecureLocal: values['allow-insecure-local'],
      ...(timeoutMs !== undefined && { timeoutMs }),
    },
  }
}

function useColor(): boolean {
  const force = process.env.FORCE_COLOR
  if (force !== undefined && force !== '' && force !== '0') return true
  return process.stdout.isTTY === true && process.env.NO_COLOR === undefined
}

async function main(argv: string[]): Promise<number> {
  const secrets: string[] = []
  const out = (text: string): void => void process.stdout.write(scrub(text, secrets))
  const err = (text: string): void => void process.stderr.write(scrub(text, secrets))
  let parsed: Parsed | 'help'
  try {
    parsed = parse(argv)
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    err(`loginid-mfa-flow: ${error.message} (see --help)\n`)
    return 2
  }
  if (parsed === 'help') {
    out(USAGE)
    return 0
  }
  if (parsed.options.apiKey !== undefined) secrets.push(parsed.options.apiKey)
  const controller = new AbortController()
  const onSignal = (): void => controller.abort()
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  try {
    const report = await runDoctorChecks({ ...parsed.options, signal: controller.signal })
    out(
      parsed.json
        ? `${JSON.stringify(report, null, 2)}\n`
        : formatDoctorReport(report, { color: useColor() }),
    )
    return report.ok ? 0 : 1
  } catch (error) {
    if (isMfaError(error, 'ERR_INVALID_ARGUMENT')) {
      err(`loginid-mfa-flow: ${error.message} (see --help)\n`)
      return 2
    }
    if (isMfaError(error, 'ERR_ABORTED')) {
      err('loginid-mfa-flow: interrupted\n')
      return 130
    }
    err(`loginid-mfa-flow: ${(error as Error)?.message ?? String(error)}\n`)
    return 1
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  () => {
    // Never print an unexpected error object: it could hold the key from the environment.
    process.stderr.write('loginid-mfa-flow: unexpected error\n')
    process.exitCode = 1
  },
)
