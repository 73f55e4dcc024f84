import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { once } from 'node:events'
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

describe('loginid-mfa-flow-simulator CLI', () => {
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

  it('rejects a bad port with exit code 2', async () => {
    const child = spawn('npx', ['tsx', 'src/cli/simulator.ts', '--port', 'abc'], {
      cwd: new URL('../../', import.meta.url),
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    children.push(child)
    let err = ''
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()))
    const [code] = await once(child, 'exit')
    expect(code).toBe(2)
    expect(err).toContain('--port')
  })
})
