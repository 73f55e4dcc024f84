// Test support for the doctor: the CLI bundled from source (as tsup bundles it) and spawned, and a
// free-then-closed loopback port for "LoginID unreachable".
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { build } from 'esbuild'
import { expect } from 'vitest'

/** The key every doctor test uses; it must never show up in any output. */
export const API_KEY = 'doctor_secret_key_7f3a9c'
/** The environment variable the CLI reads it from. */
export const KEY_ENV = 'DOCTOR_TEST_LOGINID_API_KEY'

/** Bundle src/cli/loginid-mfa-flow.ts into a temporary directory; returns the file and a cleanup. */
export async function buildCli(): Promise<{ file: string; remove: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), 'loginid-mfa-flow-doctor-'))
  const file = join(dir, 'loginid-mfa-flow.mjs')
  await build({
    entryPoints: [new URL('../../src/cli/loginid-mfa-flow.ts', import.meta.url).pathname],
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    outfile: file,
    logLevel: 'silent',
  })
  return { file, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

export interface CliRun {
  code: number
  stdout: string
  stderr: string
}

/** Run the bundled CLI without blocking this process (the simulator answers from it). */
export function runCli(
  file: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<CliRun> {
  const childEnv: Record<string, string> = { PATH: process.env.PATH ?? '', ...env }
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [file, ...args],
      { env: childEnv, timeout: 30_000 },
      (error, stdout, stderr) => {
        const code = error ? Number((error as { code?: unknown }).code ?? 1) : 0
        resolve({ code, stdout, stderr })
      },
    )
  })
}

/** A loopback port nothing listens on. */
export async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/** The API key, raw or in its Basic form, appears nowhere in `texts`. */
export function expectNoKey(...texts: string[]): void {
  for (const text of texts) {
    expect(text).not.toContain(API_KEY)
    expect(text).not.toContain(btoa(`${API_KEY}:`))
  }
}
