import type { Server } from 'node:http'
import { serve } from '@hono/node-server'
import { describeExampleApp, exampleApp } from '../shared/app-contract.js'
import { createApp } from './app.js'

describeExampleApp('Hono', (options) =>
  exampleApp(serve({ fetch: createApp(options).fetch, port: 0, hostname: 'localhost' }) as Server),
)
