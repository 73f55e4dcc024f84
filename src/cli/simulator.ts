#!/usr/bin/env node
/// <reference types="node" />
/**
 * The `loginid-mfa-flow-simulator` bin: serves the LoginID simulator of
 * `loginid-mfa-flow/testing` over real HTTP on loopback until SIGINT/SIGTERM.
 *
 * Usage: `loginid-mfa-flow-simulator [--port N] [--host H] [--api-key KEY] [--seed-user NAME ...]
 * [--require-passkey-registration] [--origin URL ...] [--rp-id ID] [--key-file PATH]
 * [--max-otp-resends N]`
 *
 * Bad arguments exit 2 with one line on stderr naming the problem.
 *
 * @module
 */
import { readFile, writeFile } from 'node:fs/promises'
import process from 'node:process'
import { parseArgs } from 'node:util'
import { isMfaError } from '../shared/errors.js'
import { ALL_SCOPES, SIMULATOR_API_KEY } from '../testing/create-loginid-simulator.js'
import { checkSigningKey, generateSigningJwk } from '../testing/internal/simulator-keys.js'
import { startLoginIDSimulator } from '../testing/start-loginid-simulator.js'
import type { JWK } from 'jose'

const NAME = 'loginid-mfa-flow-simulator'

const USAGE = `Usage: ${NAME} [options]

Serves a stateful LoginID simulator (MFA, passkeys, management API) on loopback.

Options:
  --port N                        TCP port (0 = any free port; default 0)
  --host H                        interface (default 127.0.0.1)
  --api-key KEY                   management API key with every scope (default ${SIMULATOR_API_KEY})
  --seed-user NAME                a known user (repeatable)
  --require-passkey-registration  ask users without a passkey to register one
  --origin URL                    a WebAuthn origin passkeys may come from (repeatable;
                                  default http://localhost)
  --rp-id ID                      the WebAuthn relying party id (default localhost)
  --key-file PATH                 the token signing key (a private JWK): created on first start,
                                  reused after, so tokens survive a restart
  --max-otp-resends N             one-time codes a flow may request after its first (default 5)
  -h, --help                      show this help
`

/** A bad argument: exit 2 with this one line. */
class UsageError extends Error {}

function nonEmpty(value: string | undefined, flag: string): string | undefined {
  if (value !== undefined && value.trim() === '') throw new UsageError(`${flag} must not be empty`)
  return value
}

function integer(value: string, flag: string, max: number): number {
  const n = Number(value)
  if (!/^\d+$/.test(value) || n > max) {
    throw new UsageError(`${flag} must be an integer from 0 to ${max}, not '${value}'`)
  }
  return n
}

/** The signing key of `--key-file`: read it, or create the file (mode 0600) on first start. */
async function keyFromFile(path: string): Promise<JWK> {
  let text: string | undefined
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new UsageError(`--key-file ${path} cannot be read: ${(error as Error).message}`)
    }
  }
  if (text === undefined) {
    const jwk = await generateSigningJwk()
    try {
      await writeFile(path, `${JSON.stringify(jwk, null, 2)}\n`, { mode: 0o600, flag: 'wx' })
    } catch (error) {
      throw new UsageError(`--key-file ${path} cannot be created: ${(error as Error).message}`)
    }
    return jwk
  }
  try {
    return checkSigningKey(JSON.parse(text))
  } catch {
    throw new UsageError(`--key-file ${path} does not hold a private ES256 JWK`)
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      host: { type: 'string', default: '127.0.0.1' },
      'api-key': { type: 'string', default: SIMULATOR_API_KEY },
      'seed-user': { type: 'string', multiple: true, default: [] },
      'require-passkey-registration': { type: 'boolean', default: false },
      origin: { type: 'string', multiple: true, default: [] },
      'rp-id': { type: 'string' },
      'key-file': { type: 'string' },
      'max-otp-resends': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  })
  if (values.help) {
    process.stdout.write(USAGE)
    return 0
  }
  const port = integer(values.port, '--port', 65535)
  const host = nonEmpty(values.host, '--host') as string
  const apiKey = nonEmpty(values['api-key'], '--api-key') as string
  values['seed-user'].forEach((user) => nonEmpty(user, '--seed-user'))
  const rpId = nonEmpty(values['rp-id'], '--rp-id')
  const keyFile = nonEmpty(values['key-file'], '--key-file')
  const resends = values['max-otp-resends']
  const maxOtpResends =
    resends === undefined ? undefined : integer(resends, '--max-otp-resends', 1000)
  const signingKey = keyFile === undefined ? undefined : await keyFromFile(keyFile)
  let running
  try {
    running = await startLoginIDSimulator({
      port,
      host,
      apiKeys: [{ key: apiKey, scopes: [...ALL_SCOPES] }],
      users: values['seed-user'].map((username) => ({ username })),
      requirePasskeyRegistration: values['require-passkey-registration'],
      ...(values.origin.length > 0 && { origin: values.origin }),
      ...(rpId !== undefined && { rpId }),
      ...(signingKey !== undefined && { signingKey }),
      ...(maxOtpResends !== undefined && { maxOtpResends }),
    })
  } catch (error) {
    // The library's own checks (origin, rpId, ...) are bad arguments too.
    if (isMfaError(error, 'ERR_INVALID_ARGUMENT')) throw new UsageError(error.message)
    throw error
  }
  // Listen for the signals before printing the URL: a supervisor may signal as soon as it reads it.
  // The handlers stay installed while closing, so a repeated signal cannot kill the process.
  const stopped = new Promise<void>((resolve) => {
    process.on('SIGINT', () => resolve())
    process.on('SIGTERM', () => resolve())
  })
  process.stdout.write(
    [
      `LoginID simulator listening on ${running.baseUrl}`,
      `  base URL: ${running.baseUrl}`,
      `  API key:  ${apiKey}`,
      `  users:    ${values['seed-user'].join(', ') || '(none; unknown users sign up)'}`,
      `  key:      ${keyFile ?? '(new on every start; --key-file keeps one)'}`,
      '  Press Ctrl+C to stop.',
      '',
    ].join('\n'),
  )
  await stopped
  await running.close()
  process.stdout.write('LoginID simulator stopped.\n')
  return 0
}

/** One line, whatever the message holds. */
const oneLine = (text: string): string =>
  text
    .replace(/^\[loginid-mfa-flow\]\s*/, '')
    .replace(/\s*\n\s*/g, ' ')
    .trim()

main().then(
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    const message = oneLine((error as Error)?.message ?? String(error))
    // parseArgs throws TypeErrors with ERR_PARSE_ARGS_* codes for unknown or malformed options.
    const code = (error as { code?: unknown })?.code
    const usage =
      error instanceof UsageError || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'))
    process.stderr.write(`${NAME}: ${message}${usage ? ' (see --help)' : ''}\n`)
    process.exitCode = usage ? 2 : 1
  },
)
