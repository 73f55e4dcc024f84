// docs/client.md's "What to tell the user" table and the demo's messages are one table: every
// MfaErrorCode has a row, and each row's sentence is the one the demo shows.
import { readFileSync } from 'node:fs'
import { expect, it } from 'vitest'
import { USER_MESSAGES } from '../../examples/demo/page/messages.js'

function tableOf(markdown: string, heading: string): Map<string, string> {
  const start = markdown.indexOf(`\n## ${heading}\n`)
  expect(start, `docs/client.md has no "## ${heading}"`).toBeGreaterThan(-1)
  const section = markdown.slice(start + 1).split('\n## ')[0] ?? ''
  const rows = new Map<string, string>()
  for (const line of section.split('\n')) {
    const cells = line.split('|').map((cell) => cell.trim())
    if (cells.length < 4 || !cells[1]?.startsWith('`ERR_')) continue
    for (const [, code] of cells[1].matchAll(/`(ERR_[A-Z_]+)`/g)) rows.set(code!, cells[2] ?? '')
  }
  return rows
}

it('docs/client.md tells the user what the demo tells them, for every error code', () => {
  const docs = tableOf(
    readFileSync(new URL('../../docs/client.md', import.meta.url), 'utf8'),
    'What to tell the user',
  )
  expect(Object.fromEntries(docs)).toEqual(USER_MESSAGES)
})
