// The mutation scores of the groups the project holds to 90 % (issue 16), from a Stryker JSON
// report: `node scripts/mutation-groups.mjs [report.json]` (default reports/mutation/mutation.json).
// The score is Stryker's: killed and timed-out mutants out of all valid ones (ignored, compile and
// runtime errors left out). Run by `npm run test:mutation` and `npm run test:mutation:ci`.
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const DRIVER = [
  'src/client/run-mfa.ts',
  'src/client/internal/drive-mfa.ts',
  'src/client/internal/options.ts',
  'src/client/internal/normalize.ts',
  'src/client/internal/run-scope.ts',
  'src/client/internal/finish.ts',
]
const RESUME = [
  'src/client/resume-mfa.ts',
  'src/client/peek-pending-mfa.ts',
  'src/client/internal/pending-flow.ts',
]
const BUILT_IN = [
  'src/client/create-mfa-client.ts',
  'src/client/internal/request.ts',
  'src/client/internal/session-result.ts',
  'src/client/internal/storage.ts',
  'src/client/internal/trust-id.ts',
  'src/client/fetch-grant-token.ts',
]
const isDriver = (file) => DRIVER.includes(file) || file.startsWith('src/client/internal/steps/')

/** Each group: its name, which files it holds, and whether it is held to 90 %. */
export const GROUPS = [
  { name: 'src/server', held: true, has: (file) => file.startsWith('src/server/') },
  {
    name: '  without the doctor',
    held: false,
    has: (file) => file.startsWith('src/server/') && !file.includes('doctor'),
  },
  { name: '  the doctor', held: false, has: (file) => file.includes('doctor') },
  { name: 'client: driver', held: true, has: isDriver },
  { name: 'client: resume path', held: true, has: (file) => RESUME.includes(file) },
  { name: 'client: built-in client', held: true, has: (file) => BUILT_IN.includes(file) },
  {
    name: 'client: other files',
    held: false,
    has: (file) =>
      file.startsWith('src/client/') &&
      !isDriver(file) &&
      !RESUME.includes(file) &&
      !BUILT_IN.includes(file),
  },
]

/** Lines of the group table for a mutation-testing-report. */
export function groupTable(report) {
  const lines = ['group                      score   valid  survived  no cov  ignored']
  for (const group of GROUPS) {
    const count = { detected: 0, valid: 0, survived: 0, noCoverage: 0, ignored: 0 }
    for (const [file, { mutants }] of Object.entries(report.files)) {
      if (!group.has(file.split('\\').join('/'))) continue
      for (const { status } of mutants) {
        if (status === 'Ignored') count.ignored += 1
        if (['Ignored', 'CompileError', 'RuntimeError'].includes(status)) continue
        count.valid += 1
        if (status === 'Killed' || status === 'Timeout') count.detected += 1
        if (status === 'Survived') count.survived += 1
        if (status === 'NoCoverage') count.noCoverage += 1
      }
    }
    if (count.valid === 0) continue
    const score = (100 * count.detected) / count.valid
    const mark = group.held && score < 90 ? '  < 90 %' : ''
    lines.push(
      `${group.name.padEnd(24)} ${score.toFixed(2).padStart(6)} % ${String(count.valid).padStart(7)} ${String(count.survived).padStart(9)} ${String(count.noCoverage).padStart(7)} ${String(count.ignored).padStart(8)}${mark}`,
    )
  }
  return lines
}

/**
 * Run Stryker (on this process's Node) with `configFile` and `args`, then print the group table of
 * the JSON report it wrote (`reportFile`); a report left by an earlier run is removed first, so it
 * is never shown as this one's. Returns Stryker's exit status.
 */
export function runStrykerWithGroups(configFile, args, reportFile) {
  rmSync(reportFile, { force: true })
  const stryker = spawnSync(
    process.execPath,
    ['node_modules/@stryker-mutator/core/bin/stryker.js', 'run', configFile, ...args],
    { stdio: 'inherit' },
  )
  if (existsSync(reportFile)) {
    const table = groupTable(JSON.parse(readFileSync(reportFile, 'utf8'))).join('\n')
    console.log(`\nMutation score by group (${reportFile}):\n${table}`)
  }
  return stryker.status ?? 1
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = process.argv[2] ?? 'reports/mutation/mutation.json'
  console.log(groupTable(JSON.parse(readFileSync(file, 'utf8'))).join('\n'))
}
