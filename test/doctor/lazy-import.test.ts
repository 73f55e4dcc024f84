// `import 'loginid-mfa-flow/server'` must not load the doctor: runDoctor reaches its checks only
// through a dynamic import, and the checks stay edge-safe like the rest of the server entry.
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

const src = new URL('../../src/', import.meta.url).pathname
const read = (file: string): string =>
  readFileSync(join(src, file), 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '')

describe('the doctor is loaded lazily', () => {
  it('src/server/doctor.ts has no runtime import but the dynamic one', () => {
    const code = read('server/doctor.ts')
    expect(code).not.toMatch(/^\s*import\s+(?!type\b)/m)
    expect(code).not.toMatch(/^\s*export\s+(?!type\b|interface\b|async function\b)[^\n]*from/m)
    expect(code).toContain("await import('./internal/doctor/run-doctor.js')")
  })

  it('no other module of the server or client entries imports the doctor internals', () => {
    const files = [
      'server.ts',
      'index.ts',
      ...readdirSync(join(src, 'server'))
        .filter((f) => f.endsWith('.ts'))
        .map((f) => `server/${f}`),
    ].filter((file) => file !== 'server/doctor.ts')
    for (const file of files) expect(read(file), file).not.toContain('internal/doctor')
  })

  it.each(readdirSync(join(src, 'server/internal/doctor')).filter((f) => f.endsWith('.ts')))(
    'internal/doctor/%s uses no Node runtime API (edge-safe)',
    (file) => {
      const code = read(`server/internal/doctor/${file}`)
      expect(code).not.toMatch(/['"]node:|\bprocess\.|\bBuffer\b|\brequire\(/)
    },
  )
})
