// Part of `npm run check:docs`: README.md is what npm shows, and what ships in the tarball. Every
// relative link in it must resolve to a file in the packed tarball (`npm pack --dry-run`); every
// link into this repository (package.json `repository`) must name a file or folder that exists
// here, so it is not dead on the default branch either. Failures: `README.md:line - ...`.
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'

const root = path.resolve(import.meta.dirname, '..')
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'))
const repoUrl = String(pkg.repository?.url ?? pkg.repository ?? '')
  .replace(/^git\+/, '')
  .replace(/\.git$/, '')
const problems = []

if (!/^https:\/\/github\.com\/[^/]+\/[^/]+$/.test(repoUrl)) {
  problems.push(`package.json - "repository" must be a GitHub https URL (got "${repoUrl}")`)
}
for (const field of ['homepage', 'bugs']) {
  if (!pkg[field]) problems.push(`package.json - "${field}" is missing`)
}

const packed = JSON.parse(
  execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  }),
)
const shipped = new Set(packed[0].files.map((file) => file.path))

const lines = readFileSync(path.join(root, 'README.md'), 'utf8').split('\n')
const LINK =
  /!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)|<(?:a|img)\s[^>]*(?:href|src)="([^"]+)"/g
let inFence = false
let checked = 0
lines.forEach((line, index) => {
  if (/^\s*(`{3,}|~{3,})/.test(line)) inFence = !inFence
  if (inFence) return
  for (const match of line.matchAll(LINK)) {
    const target = match[1] ?? match[2]
    const where = `README.md:${index + 1}`
    checked++
    if (/^(mailto:|#)/.test(target)) continue
    if (/^https?:\/\//.test(target)) {
      if (!target.startsWith(`${repoUrl}/`) && target !== repoUrl) continue
      // https://github.com/o/r/blob/main/docs/x.md#y → docs/x.md
      const inRepo = /^\/(?:blob|tree)\/[^/]+\/([^#?]+)/.exec(target.slice(repoUrl.length))
      if (target === repoUrl || /^\/(issues|pulls)\b/.test(target.slice(repoUrl.length))) continue
      if (!inRepo) {
        problems.push(
          `${where} - ${target}: a repository link must be /blob/<branch>/<path> or /tree/<branch>/<path>`,
        )
      } else if (!existsSync(path.join(root, decodeURIComponent(inRepo[1])))) {
        problems.push(`${where} - ${target}: ${inRepo[1]} does not exist in the repository`)
      }
      continue
    }
    const file = path.posix.normalize(target.replace(/[#?].*$/, '')).replace(/^\.\//, '')
    if (!shipped.has(file)) {
      problems.push(
        `${where} - relative link "${target}" does not resolve in the npm tarball (it ships ${[...shipped].filter((f) => !f.startsWith('dist/')).join(', ')} and dist/); make it absolute (${repoUrl}/blob/main/${file}) or ship the file`,
      )
    }
  }
})

if (problems.length > 0) {
  for (const p of problems) console.error(p)
  console.error(`\ncheck:readme-links: ${problems.length} problem(s) in ${checked} links.`)
  process.exit(1)
}
console.log(`check:readme-links: ok (${checked} links; repository ${repoUrl}).`)
