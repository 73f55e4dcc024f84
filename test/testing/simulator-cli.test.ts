import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLocalJWKSet, jwtVerify } from 'jose'
import type { JSONWebKeySet } from 'jose'
import { afterEach, describe, expect, it } from 'vitest'
import { basic, bodyOf, post } from './helpers.js'

const children: ChildProcess[] = []

afterEach(() => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
})

// One node process running the CLI through tsx's loader, so SIGTERM reaches the CLI itself:
// with `npx tsx`, npm sits in between and dies of the signal instead of passing on the exit code.
function startCli(args: string[]): {
  child: ChildProcess
  output: () => string
  url: Promise<string>
} {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/simulator.ts', ...args], {
    cwd: new URL('../../', import.meta.url),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.push(child)
  let out = ''
  const url = new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)
      if (match) resolve(match[1]!)
    })
    child.stderr!.on('data', (chunk: Buffer) => {
      out += chunk.toString()
    })
    child.once('exit', (code) => reject(new Error(`exited early (${code}): ${out}`)))
  })
  return { child, output: () => out, url }
}

// Each test spawns Node with tsx; on a loaded machine one start takes seconds.
describe('loginid-mfa-flow-simulator CLI', { timeout: 60_000 }, () => {
  it('stops on SIGINT with exit 0', async () => {
    const { child, url } = startCli(['--port', '0'])
    await url
    const exit = once(child, 'exit')
    child.kill('SIGINT')
    const [code, signal] = await exit
    expect({ code, signal }).toEqual({ code: 0, signal: null })
  })

  it('serves the simulator, prints URL and API key, and stops on SIGTERM with exit 0', async () => {
    const { child, output, url } = startCli([
      '--port',
      '0',
      '--api-key',
      'cli_key',
      '--seed-user',
      'alice',
    ])
    const baseUrl = await url
    expect(output()).toContain('API key:  cli_key')

    const begin = await post(baseUrl, '/mfa/begin', { user: { username: 'alice' } })
    expect(begin.status).toBe(200)
    expect(await bodyOf(begin)).toMatchObject({ flow: 'signIn' })
    const grant = await post(
      baseUrl,
      '/mgmt/grant/external-auth',
      { username: 'alice' },
      basic('cli_key'),
    )
    expect(grant.status).toBe(200)
    const wrongKey = await post(
      baseUrl,
      '/mgmt/grant/external-auth',
      { username: 'alice' },
      basic('sim_demo_api_key'),
    )
    expect(wrongKey.status).toBe(401)

    const exit = once(child, 'exit')
    child.kill('SIGTERM')
    const [code, signal] = await exit
    expect({ code, signal, output: output() }).toMatchObject({ code: 0, signal: null })
    await expect(fetch(`${baseUrl}/fido2/v2/.well-known/jwks.json`)).rejects.toThrow()
  })

  const BAD_ARGUMENTS: [string[], string][] = [
    [['--port', 'abc'], '--port'],
    [['--origin', 'not a url'], 'origin'],
    [['--rp-id', ''], '--rp-id'],
    [['--rp-id', 'https://example.com'], 'rpId'],
    [['--host', ''], '--host'],
    [['--seed-user', ''], '--seed-user'],
    [['--key-file', ''], '--key-file'],
    [['--max-otp-resends', 'many'], '--max-otp-resends'],
    [['--unknown-flag'], '--unknown-flag'],
  ]

  it('exits 2 with one line naming the problem for each bad argument', async () => {
    const runs = BAD_ARGUMENTS.map(async ([args, named]) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/simulator.ts', ...args], {
        cwd: new URL('../../', import.meta.url),
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      children.push(child)
      let err = ''
      let out = ''
      child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()))
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
      const [code] = await once(child, 'exit')
      return {
        args,
        code,
        out,
        lines: err.trimEnd().split('\n').length,
        named: err.includes(named),
        err,
      }
    })
    for (const run of await Promise.all(runs)) {
      expect(run, run.err).toMatchObject({ code: 2, out: '', lines: 1, named: true })
      expect(run.err).toMatch(/^loginid-mfa-flow-simulator: /)
    }
  }, 180_000)

  it('keeps its signing key in --key-file: a token from before a restart verifies after it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lmf-key-'))
    const keyFile = join(dir, 'sim-key.json')
    try {
      const first = startCli(['--port', '0', '--key-file', keyFile, '--seed-user', 'alice'])
      const firstUrl = await first.url
      const grant = await post(
        firstUrl,
        '/mgmt/grant',
        { grants: ['passkey:read'], username: 'alice' },
        basic('sim_demo_api_key'),
      )
      const { token } = await bodyOf<{ token: string }>(grant)
      const stopped = once(first.child, 'exit')
      first.child.kill('SIGTERM')
      await stopped
      // Created on first start, private to its owner, a private JWK.
      expect(statSync(keyFile).mode & 0o777).toBe(0o600)
      const stored = JSON.parse(readFileSync(keyFile, 'utf8')) as Record<string, unknown>
      expect(stored).toMatchObject({ kty: 'EC', crv: 'P-256', d: expect.any(String) as string })

      const second = startCli(['--port', '0', '--key-file', keyFile])
      const secondUrl = await second.url
      const jwks = await bodyOf<JSONWebKeySet>(
        await fetch(`${secondUrl}/fido2/v2/.well-known/jwks.json`),
      )
      const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(jwks))
      expect(payload).toMatchObject({ username: 'alice', scopes: ['passkey:read'] })
      expect(protectedHeader.kid).toBe(stored.kid)
      // The file was reused, not replaced.
      expect(JSON.parse(readFileSync(keyFile, 'utf8'))).toEqual(stored)

      // Without the file, a restarted simulator has a new key: the old token no longer verifies.
      const third = startCli(['--port', '0'])
      const thirdJwks = await bodyOf<JSONWebKeySet>(
        await fetch(`${await third.url}/fido2/v2/.well-known/jwks.json`),
      )
      await expect(jwtVerify(token, createLocalJWKSet(thirdJwks))).rejects.toMatchObject({
        code: 'ERR_JWKS_NO_MATCHING_KEY',
      })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 60_000)

  it('exits 2 when --key-file holds something else than a private key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lmf-key-'))
    try {
      const keyFile = join(dir, 'public.json')
      await import('node:fs/promises').then((fs) =>
        fs.writeFile(keyFile, JSON.stringify({ kty: 'EC', crv: 'P-256', x: 'a', y: 'b' })),
      )
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', 'src/cli/simulator.ts', '--key-file', keyFile],
        {
          cwd: new URL('../../', import.meta.url),
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      )
      children.push(child)
      let err = ''
      child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()))
      const [code] = await once(child, 'exit')
      expect(code).toBe(2)
      expect(err).toContain('does not hold a private ES256 JWK')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
