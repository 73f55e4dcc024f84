/// <reference types="node" />
// A real-browser test: Chromium (playwright-core) with a DevTools virtual authenticator, the
// Express example's page and server, and the LoginID simulator over real HTTP
// (startLoginIDSimulator). The passkey ceremonies are the browser's own.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { chromium } from 'playwright-core'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { SIMULATOR_API_KEY, startLoginIDSimulator } from 'loginid-mfa-flow/testing'
import type { RunningLoginIDSimulator } from 'loginid-mfa-flow/testing'
import { createApp } from '../express/app.js'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
let simulator: RunningLoginIDSimulator
let browser: Browser
let page: Page
const app = createServer()
let origin = ''

beforeAll(async () => {
  await new Promise<void>((resolve) => app.listen(0, 'localhost', resolve))
  origin = `http://localhost:${(app.address() as AddressInfo).port}`
  // WebAuthn checks the page's origin and RP id: tell the simulator where the page runs.
  simulator = await startLoginIDSimulator({
    origin,
    rpId: 'localhost',
    requirePasskeyRegistration: true,
  })
  app.on('request', createApp({ loginidBaseUrl: simulator.baseUrl, apiKey: SIMULATOR_API_KEY }))

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'],
  })
  page = await browser.newPage()
  const cdp = await page.context().newCDPSession(page)
  await cdp.send('WebAuthn.enable')
  await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true, // no prompt: the ceremony completes by itself
    },
  })
})

afterAll(async () => {
  await browser?.close()
  app.closeAllConnections()
  app.close()
  await simulator?.close()
})

async function submit(username: string, password: string): Promise<string> {
  await page.goto(origin)
  await page.fill('#username', username)
  await page.fill('#password', password)
  await page.click('button[type="submit"]')
  await page.waitForSelector('#status[data-status="complete"], #status[data-status="error"]')
  return (await page.textContent('#status')) ?? ''
}

it('signs up with the password and a passkey, then signs in with the passkey', async () => {
  expect(await submit('ada@example.com', 'correct horse')).toBe(
    'Signed in as ada@example.com (new account).',
  )
  expect(simulator.simulator.users.get('ada@example.com')?.passkeys).toHaveLength(1)
  expect(await submit('ada@example.com', '')).toBe('Signed in as ada@example.com (passkey).')
})
