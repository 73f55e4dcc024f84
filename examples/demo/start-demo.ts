/// <reference types="node" />
// Start the demo: its backend, and the LoginID simulator (or a real LoginID app).
import { SIMULATOR_API_KEY, startLoginIDSimulator } from '../../src/testing.js'
import type { LoginIDSimulator } from '../../src/testing.js'
import { startDemoBackend } from './backend.js'

export interface StartDemoOptions {
  /** Demo backend port; 0 = any free port. */
  port?: number
  /** A real LoginID app instead of the simulator. */
  loginid?: { baseUrl: string; apiKey: string }
}

export interface RunningDemo {
  /** The demo page, `http://localhost:<port>`. */
  origin: string
  /** LoginID's (or the simulator's) base URL. */
  loginidBaseUrl: string
  /** The simulator, when the demo runs against it. */
  simulator: LoginIDSimulator | undefined
  close(): Promise<void>
}

export async function startDemo(options: StartDemoOptions = {}): Promise<RunningDemo> {
  const backend = await startDemoBackend(options.port ?? 0)
  if (options.loginid) {
    backend.configure({ loginidBaseUrl: options.loginid.baseUrl, apiKey: options.loginid.apiKey })
    return {
      origin: backend.origin,
      loginidBaseUrl: options.loginid.baseUrl,
      simulator: undefined,
      close: backend.close,
    }
  }
  const sim = await startLoginIDSimulator({
    origin: backend.origin,
    rpId: 'localhost',
    requirePasskeyRegistration: true,
  })
  backend.configure({ loginidBaseUrl: sim.baseUrl, apiKey: SIMULATOR_API_KEY })
  return {
    origin: backend.origin,
    loginidBaseUrl: sim.baseUrl,
    simulator: sim.simulator,
    close: async () => {
      await backend.close()
      await sim.close()
    },
  }
}
