// The full mutation run (`npm run test:mutation`, started on Node 22 by with-node22.mjs): Stryker
// with stryker.config.mjs (arguments go to Stryker), then the scores of the groups held to 90 %.
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, rmSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { groupTable } from './mutation-groups.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
process.chdir(root)
const { default: config } = await import(path.join(root, 'stryker.config.mjs'))

// A report left by an earlier run is never shown as this one's.
rmSync(config.jsonReporter.fileName, { force: true })
const stryker = spawnSync(
  process.execPath,
  [
    'node_modules/@stryker-mutator/core/bin/stryker.js',
    'run',
    'stryker.config.mjs',
    ...process.argv.slice(2),
  ],
  { stdio: 'inherit' },
)
const report = config.jsonReporter.fileName
if (stryker.status === 0 && existsSync(report)) {
  console.log(
    `\nMutation score by group (${report}):\n${groupTable(JSON.parse(readFileSync(report, 'utf8'))).join('\n')}`,
  )
}
process.exit(stryker.status ?? 1)
