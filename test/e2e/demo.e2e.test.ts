import { mkdirSync } from 'node:fs'
import { chromium } from 'playwright-core'
import type { Browser, CDPSession, Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { DEMO_PASSWORD } from '../../examples/demo/backend.js'
import { startDemo } from '../../examples/demo/start-demo.js'
import type { RunningDemo } from '../../examples/demo/start-demo.js'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

let demo: RunningDemo
let browser: Browser
let page: Page
let cdp: CDPSession
let authenticatorId: string
const username = `e2e-${Date.now().toString(36)}@example.com`
/** Every same-origin answer with a 4xx/5xx status other than LoginID's 401 "more factors". */
const failedResponses: string[] = []

beforeAll(async () => {
  demo = await startDemo({ port: 0 })
  browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS })
  const context = await browser.newContext()
  page = await context.newPage()
  page.on('response', (response) => {
    if (response.status() >= 400 && response.url().startsWith(demo.origin)) {
      failedResponses.push(`${response.status()} ${response.url()}`)
    }
  })
  cdp = await context.newCDPSession(page)
  await cdp.send('WebAuthn.enable')
  const added = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  })
  authenticatorId = added.authenticatorId
  await page.goto(demo.origin)
  await page.waitForFunction(
    (url) => document.getElementById('loginid')?.textContent === url,
    demo.loginidBaseUrl,
  )
  await page.fill('#username', username)
  await page.fill('#password', DEMO_PASSWORD)
})

afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail' && page) {
    mkdirSync('test-results', { recursive: true })
    const name = ctx.task.name.replace(/[^a-z0-9]+/gi, '-').toLowerCase()
    await page.screenshot({ path: `test-results/${name}.png`, fullPage: true })
  }
})

afterAll(async () => {
  await browser?.close()
  await demo?.close()
})

/** Click a flow's button and wait until the page says how it ended. */
async function runFlow(button: string): Promise<{ status: string; text: string; log: string }> {
  await page.click(button)
  await page.waitForSelector('#status[data-status="complete"], #status[data-status="error"]', {
    timeout: 30_000,
  })
  return {
    status: (await page.getAttribute('#status', 'data-status')) ?? '',
    text: (await page.textContent('#status')) ?? '',
    log: (await page.textContent('#log')) ?? '',
  }
}

function requestsTo(path: string): number {
  return demo.simulator!.requests.filter((r) => r.path === `/fido2/v2${path}`).length
}

describe('the demo page in Chromium', () => {
  it('signs a new user up: external (the app password), then passkey registration', async () => {
    const result = await runFlow('#signup')
    expect(result.status, result.log).toBe('complete')
    expect(result.text).toContain(`Signed in as ${username}`)
    expect(result.log).toContain('reason: signUp')
    expect(result.log).toContain('passkey:reg')
    expect(result.log).toContain(`verified LoginID's access token for ${username}`)
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId })
    expect(credentials).toHaveLength(1)
    expect(demo.simulator!.users.get(username)).toBeDefined()
  })

  it('signs in with the passkey', async () => {
    const before = requestsTo('/mfa/third-party/verify')
    const result = await runFlow('#signin')
    expect(result.status, result.log).toBe('complete')
    expect(result.log).toContain('passkey:auth → complete')
    expect(requestsTo('/mfa/third-party/verify')).toBe(before)
  })

  it('signs in on a new device through external', async () => {
    const result = await runFlow('#newdevice')
    expect(result.status, result.log).toBe('complete')
    expect(result.log).toContain('reason: newDevice')
    expect(result.log).not.toContain('passkey:auth')
  })

  it('falls back to external when the passkey prompt is cancelled', async () => {
    // The virtual authenticator now fails user verification, as a user who cancels does.
    await cdp.send('WebAuthn.setUserVerified', { authenticatorId, isUserVerified: false })
    try {
      const result = await runFlow('#cancel')
      expect(result.status, result.log).toBe('complete')
      expect(result.log).toContain('falling back to external')
      expect(result.log).toContain('reason: passkeyFailed')
    } finally {
      await cdp.send('WebAuthn.setUserVerified', { authenticatorId, isUserVerified: true })
    }
  })

  it('signs in through the demo IdP: the page leaves, comes back and resumes the flow', async () => {
    const before = requestsTo('/mfa/third-party/verify')
    await page.click('#idp')
    await page.waitForURL(/\/idp\/authorize/)
    expect(await page.inputValue('input[name="username"]')).toBe(username)
    // While the page is away, the suspended flow waits in sessionStorage (no tokens in it).
    const snapshot = await page.evaluate(() => sessionStorage.getItem('loginid-mfa-flow:pending'))
    expect(snapshot).toContain('"nonce"')
    expect(snapshot).not.toMatch(/eyJ[\w-]+\.[\w-]+\.[\w-]+/)
    await page.click('#idp-approve')
    await page.waitForSelector('#status[data-status="complete"], #status[data-status="error"]', {
      timeout: 30_000,
    })
    const log = (await page.textContent('#log')) ?? ''
    expect(await page.getAttribute('#status', 'data-status'), log).toBe('complete')
    expect(await page.textContent('#status')).toContain(`Signed in as ${username}`)
    expect(log).toContain('Returned from the identity provider')
    expect(page.url()).toBe(`${demo.origin}/`)
    expect(requestsTo('/mfa/third-party/verify')).toBe(before + 1)
    expect(await page.evaluate(() => sessionStorage.getItem('loginid-mfa-flow:pending'))).toBeNull()
  })

  it('loaded every page resource without an error (the favicon included)', () => {
    expect(failedResponses).toEqual([])
  })

  it('says in the log when "sign in" with an unknown username becomes a sign-up', async () => {
    await page.fill('#username', `new-${username}`)
    await page.fill('#password', DEMO_PASSWORD) // the IdP round trip reloaded the page
    try {
      const result = await runFlow('#signin')
      expect(result.status, result.log).toBe('complete')
      expect(result.log).toContain(`LoginID does not know "new-${username}"`)
      expect(result.log).toContain('so this sign-in becomes a sign-up')
      // LoginID's 401 "more factors" after the external step is explained in the step log.
      expect(result.log).toContain('external → continue (LoginID wants another factor')
    } finally {
      await page.fill('#username', username)
    }
  })

  it('shows a sentence for the user and the code for the developer on a replayed IdP return', async () => {
    await page.goto(`${demo.origin}/?idp_code=replayed&state=replayed`)
    await page.waitForSelector('#status[data-status="error"]', { timeout: 30_000 })
    expect(await page.textContent('#status')).toBe(
      'That sign-in link was already used or has expired. Please sign in again. (ERR_NO_PENDING_FLOW)',
    )
  })
})
