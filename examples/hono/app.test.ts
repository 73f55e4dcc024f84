/// <reference types="node" />
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { describeExampleApp } from '../shared/app-contract.js'
import { createApp } from './app.js'

describeExampleApp('Hono', async (options) => {
  const app = createApp(options)
  const server = await new Promise<Server>((resolve) => {
    const started = serve({ fetch: app.fetch, port: 0, hostname: 'localhost' }, () =>
      resolve(started as Server),
    )
  })
  return {
    origin: `http://localhost:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
})
