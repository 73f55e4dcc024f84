/// <reference types="node" />
import type { AddressInfo } from 'node:net'
import { describeExampleApp } from '../shared/app-contract.js'
import { createApp } from './app.js'

describeExampleApp('Express', async (options) => {
  const server = createApp(options).listen(0, 'localhost')
  await new Promise((resolve) => server.once('listening', resolve))
  return {
    origin: `http://localhost:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
})
