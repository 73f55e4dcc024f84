// `npm run check:links`, after `npm run docs`: every link and #fragment inside the built TypeDoc
// site (docs/api) must resolve, checked by linkinator over a local server. Links out of the site
// cannot be fetched here (no internet in CI); those into this repository
// (https://github.com/<repository>/blob|tree/<branch>/<path>) must name a file that exists.
// Failures: `<page> -> <link> (<status>)`.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { check } from 'linkinator'

const root = path.resolve(import.meta.dirname, '..')
const site = path.join(root, 'docs/api')
if (!existsSync(path.join(site, 'index.html'))) {
  console.error('check:links: docs/api/index.html is missing; run `npm run docs` first.')
  process.exit(2)
}
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'))
const repoUrl = String(pkg.repository?.url ?? '')
  .replace(/^git\+/, '')
  .replace(/\.git$/, '')

const external = new Set()
const result = await check({
  path: site,
  recurse: true,
  checkFragments: true,
  concurrency: 8,
  // Anything not served from the local site is recorded, not fetched.
  linksToSkip: async (link) => {
    if (/^https?:\/\/(localhost|127\.0\.0\.1)[:/]/.test(link)) return false
    external.add(link)
    return true
  },
})

const problems = result.links
  .filter((link) => link.state === 'BROKEN')
  .map((link) => {
    const local = (url) =>
      url.startsWith(root)
        ? path.relative(root, url)
        : url.replace(/^https?:\/\/[^/]+\//, 'docs/api/')
    const page = link.parent ? local(link.parent) : '?'
    const target = local(link.url)
    return `${page} -> ${target} (${link.status || link.failureDetails?.[0]?.message || 'broken'})`
  })

// linkinator validates a #fragment only when it meets the link before it has checked the target
// page, so fragments are checked here too: every href="page.html#id" in the site needs an
// element with that id (or name) on that page.
function htmlFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) return htmlFiles(full)
    return entry.name.endsWith('.html') ? [full] : []
  })
}
const pages = new Map(htmlFiles(site).map((file) => [file, readFileSync(file, 'utf8')]))
const idsOf = new Map()
const ids = (file) => {
  if (!idsOf.has(file)) {
    const html = pages.get(file) ?? ''
    idsOf.set(file, new Set([...html.matchAll(/\s(?:id|name)="([^"]+)"/g)].map((m) => m[1])))
  }
  return idsOf.get(file)
}
let fragments = 0
for (const [file, html] of pages) {
  for (const [, href] of html.matchAll(/\shref="([^"]*#[^"]+)"/g)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(href)) continue // external
    const [target, fragment] = href.split('#')
    const targetFile = target ? path.resolve(path.dirname(file), target) : file
    if (!pages.has(targetFile)) continue // a missing page is linkinator's report
    fragments++
    if (!ids(targetFile).has(decodeURIComponent(fragment))) {
      problems.push(
        `${path.relative(root, file)} -> ${href} (no #${fragment} on ${path.relative(root, targetFile)})`,
      )
    }
  }
}

let repoLinks = 0
for (const link of external) {
  if (!repoUrl || !link.startsWith(`${repoUrl}/`)) continue
  const inRepo = /^\/(?:blob|tree)\/[^/]+\/([^#?]+)/.exec(link.slice(repoUrl.length))
  if (!inRepo) continue
  repoLinks++
  if (!existsSync(path.join(root, decodeURIComponent(inRepo[1])))) {
    problems.push(`docs/api -> ${link} (${inRepo[1]} does not exist in the repository)`)
  }
}

const checked = result.links.filter((link) => link.state !== 'SKIPPED').length
if (problems.length > 0) {
  for (const p of [...new Set(problems)].sort()) console.error(p)
  console.error(
    `\ncheck:links: ${problems.length} broken (${checked} links, ${fragments} #fragments in docs/api).`,
  )
  process.exit(1)
}
console.log(
  `check:links: ok (${checked} links and ${fragments} #fragments in docs/api, ${repoLinks} links into the repository; ${external.size - repoLinks} other external links not fetched).`,
)
