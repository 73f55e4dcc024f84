// The full mutation run (`npm run test:mutation`, started on Node 22 by with-node22.mjs): Stryker
// with stryker.config.mjs (arguments go to Stryker), then the scores of the groups held to 90 %.
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { runStrykerWithGroups } from './mutation-groups.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
process.chdir(root)
const { default: config } = await import(path.join(root, 'stryker.config.mjs'))
process.exit(
  runStrykerWithGroups('stryker.config.mjs', process.argv.slice(2), config.jsonReporter.fileName),
)
