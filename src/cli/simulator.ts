#!/usr/bin/env node
/// <reference types="node" />
/**
 * The `loginid-mfa-flow-simulator` bin: serves the LoginID simulator of
 * `loginid-mfa-flow/testing` over real HTTP on loopback until SIGINT/SIGTERM.
 *
 * Usage: `loginid-mfa-flow-simulator [--port N] [--host H] [--api-key KEY] [--seed-user NAME ...]
 * [--require-passkey-registration]`
 *
 * @module
 */
import process from 'node:process'
import { parseArgs } from 'node:util'
import { ALL_SCOPES, SIMULATOR_API_KEY } from '../testing/create-loginid-simulator.js'
import { startLoginIDSimulator } from '../testing/start-loginid-simulator.js'

const USAGE = `Usage: loginid-mfa-flow-simulator [options]

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
  -h, --help                      show this help
`

async function main(): Promise<number> {
  let values
  try {
    ;({ values } = parseArgs({
      options: {
        port: { type: 'string', default: '0' },
        host: { type: 'string', default: '127.0.0.1' },
        'api-key': { type: 'string', default: SIMULATOR_API_KEY },
        'seed-user': { type: 'string', multiple: true, default: [] },
        'require-passkey-registration': { type: 'boolean', default: false },
        origin: { type: 'string', multiple: true, default: [] },
        'rp-id': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }))
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}`)
    return 2
  }
  if (values.help) {
    process.stdout.write(USAGE)
    return 0
  }
  const port = Number(values.port)
  if (!/^\d+$/.test(values.port) || port > 65535) {
    process.stderr.write(`--port must be an integer from 0 to 65535\n\n${USAGE}`)
    return 2
  }
  const apiKey = values['api-key']
  if (!apiKey) {
    process.stderr.write(`--api-key must not be empty\n\n${USAGE}`)
    return 2
  }
  const running = await startLoginIDSimulator({
    port,
    host: values.host,
    apiKeys: [{ key: apiKey, scopes: [...ALL_SCOPES] }],
    users: values['seed-user'].map((username) => ({ username })),
    requirePasskeyRegistration: values['require-passkey-registration'],
    ...(values.origin.length > 0 && { origin: values.origin }),
    ...(values['rp-id'] !== undefined && { rpId: values['rp-id'] }),
  })
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
      '  Press Ctrl+C to stop.',
      '',
    ].join('\n'),
  )
  await stopped
  await running.close()
  process.stdout.write('LoginID simulator stopped.\n')
  return 0
}

main().then(
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    process.stderr.write(
      `loginid-mfa-flow-simulator: ${(error as Error)?.message ?? String(error)}\n`,
    )
    process.exitCode = 1
  },
)
