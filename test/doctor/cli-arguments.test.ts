// The bundled `loginid-mfa-flow` CLI on bad arguments: exit 2 with one line on stderr, no request,
// and never the API key (not even when it is passed where it must not be).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { API_KEY, KEY_ENV, buildCli, expectNoKey, runCli } from './helpers.js'

let cli: { file: string; remove: () => void }
beforeAll(async () => {
  cli = await buildCli()
})
afterAll(() => cli.remove())

const BASE = 'https://doctorapp.api.loginid.io'

describe('loginid-mfa-flow CLI arguments', { timeout: 60_000 }, () => {
  it.each([
    [[], 'missing the subcommand: doctor'],
    [['lint'], 'unknown subcommand'],
    [['doctor'], '--base-url is required'],
    [['doctor', '--base-url', BASE, 'extra'], 'doctor takes no positional arguments'],
    [['doctor', '--base-url', BASE, '--nope'], "Unknown option '--nope'"],
    [
      ['doctor', '--base-url', BASE, `--api-key=${API_KEY}`],
      'pass the API key through an environment variable',
    ],
    [
      ['doctor', '--base-url', BASE, '--api-key', API_KEY],
      'pass the API key through an environment variable',
    ],
    [
      ['doctor', '--base-url', BASE, '--api-key-env', 'NOT_SET_ANYWHERE'],
      'the environment variable NOT_SET_ANYWHERE is not set or empty',
    ],
    [['doctor', '--base-url', BASE, '--api-key-env', 'bad-name'], '--api-key-env takes the NAME'],
    [['doctor', '--base-url', BASE, '--complete'], '--complete needs --api-key-env'],
    [
      ['doctor', '--base-url', BASE, '--timeout-ms', '1.5'],
      '--timeout-ms must be a positive integer',
    ],
    [['doctor', '--base-url', 'nope'], 'baseUrl must be an absolute URL'],
    [
      ['doctor', '--base-url', BASE, '--origin', 'https://app.example/x'],
      'origin must be an origin',
    ],
  ])('%j exits 2 with one line', async (args, reason) => {
    const run = await runCli(cli.file, args, { [KEY_ENV]: API_KEY })
    expect(run.code).toBe(2)
    expect(run.stdout).toBe('')
    expect(run.stderr.endsWith('\n')).toBe(true)
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1)
    expect(run.stderr).toMatch(/^loginid-mfa-flow: .* \(see --help\)\n$/)
    expect(run.stderr).toContain(reason)
    expectNoKey(run.stdout, run.stderr)
  })

  it('prints the usage on --help with exit 0', async () => {
    const run = await runCli(cli.file, ['doctor', '--help'])
    expect(run.code).toBe(0)
    expect(run.stdout).toContain('Usage: loginid-mfa-flow doctor --base-url URL [options]')
    expect(run.stdout).toContain('--api-key-env NAME')
  })
})
