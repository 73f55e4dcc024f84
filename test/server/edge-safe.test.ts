// The server entry must run on edge runtimes: only to-node-listener.ts may use Node APIs, and
// even there only as types (so importing the entry never loads a `node:` module).
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

const root = new URL('../../src/', import.meta.url).pathname
const files = [
  'server.ts',
  ...readdirSync(join(root, 'server'))
    .filter((name) => name.endsWith('.ts') && !name.endsWith('.test.ts'))
    .map((name) => `server/${name}`),
  ...readdirSync(join(root, 'server/internal'))
    .filter((name) => name.endsWith('.ts') && !name.endsWith('.test.ts'))
    .map((name) => `server/internal/${name}`),
  'internal/request-target.ts',
  'internal/read-body.ts',
]

describe('server entry is edge-safe', () => {
  it.each(files)('%s uses no Node runtime API', (file) => {
    const source = readFileSync(join(root, file), 'utf8')
    const code = source.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '')
    // Runtime imports of node builtins (type-only imports are erased).
    expect(code).not.toMatch(/import\s+(?!type\b)[^;]*from\s+['"](node:|http|https|fs|net)/)
    expect(code).not.toMatch(/\brequire\(/)
    if (file !== 'server/to-node-listener.ts' && file !== 'server/internal/node-body.ts') {
      expect(code).not.toMatch(/['"]node:/)
      expect(code).not.toMatch(/\bBuffer\b|\bprocess\./)
      expect(source).not.toContain('reference types="node"')
    }
  })
})
