// `npm run bench:import`: cold-import time of the built entries in Node (issue 9 §1). For each
// entry, the median of 15 spawns of `node --input-type=module -e "await import('…')"`, minus the
// median of 15 bare `node --input-type=module -e 0`, all interleaved in one run. Prints the table;
// exits non-zero when an ENFORCED row is over its budget. `npm run build` first.
//
// Every row is enforced (the server entry loads jose and ofetch on first use, the testing entry
// msw, jose and node:http). Timings are only meaningful on a quiet machine.
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const RUNS = 15
const ENFORCED = ['root', 'server', 'testing']
const flag = process.argv.find((a) => a.startsWith('--enforce='))
const enforced = new Set([...ENFORCED, ...(flag ? flag.slice(10).split(',') : [])])

const dist = (file) => fileURLToPath(new URL(`../dist/${file}`, import.meta.url))
const rows = [
  { name: 'root', what: 'loginid-mfa-flow', file: dist('index.js'), budget: 15 },
  { name: 'server', what: 'loginid-mfa-flow/server', file: dist('server.js'), budget: 30 },
  { name: 'testing', what: 'loginid-mfa-flow/testing', file: dist('testing.js'), budget: 40 },
]

function time(code) {
  const start = process.hrtime.bigint()
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', code], {
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  const ms = Number(process.hrtime.bigint() - start) / 1e6
  if (result.status !== 0) throw new Error(`node -e ${code} failed: ${String(result.stderr)}`)
  return ms
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

const samples = { bare: [] }
for (const row of rows) samples[row.name] = []
time('0') // warm the file system cache
for (const row of rows) time(`await import(${JSON.stringify(row.file)})`)
for (let i = 0; i < RUNS; i++) {
  samples.bare.push(time('0'))
  for (const row of rows) samples[row.name].push(time(`await import(${JSON.stringify(row.file)})`))
}

const bare = median(samples.bare)
let failed = false
console.log(`bare node -e 0: median ${bare.toFixed(1)} ms (${RUNS} spawns)`)
console.log(`${'entry'.padEnd(28)} ${'import (ms)'.padEnd(12)} budget  check`)
for (const row of rows) {
  const cost = median(samples[row.name]) - bare
  const over = cost > row.budget
  const check = enforced.has(row.name)
    ? over
      ? 'FAIL'
      : 'ok'
    : over
      ? 'over (not enforced)'
      : 'ok (not enforced)'
  if (over && enforced.has(row.name)) failed = true
  console.log(
    `${row.what.padEnd(28)} ${`+${cost.toFixed(1)}`.padEnd(12)} ≤ ${String(row.budget).padEnd(5)} ${check}`,
  )
}
process.exit(failed ? 1 : 0)
