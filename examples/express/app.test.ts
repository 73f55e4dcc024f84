import { describeExampleApp, exampleApp } from '../shared/app-contract.js'
import { createApp } from './app.js'

describeExampleApp('Express', (options) => exampleApp(createApp(options).listen(0, 'localhost')))
