import { defineConfig } from 'tsup'

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    server: 'src/server.ts',
    testing: 'src/testing.ts',
    cli: 'src/cli/simulator.ts',
    'loginid-mfa-flow': 'src/cli/loginid-mfa-flow.ts',
  },
  format: ['esm'],
  target: 'es2022',
  platform: 'neutral',
  external: [/^node:/],
  dts: { entry: { index: 'src/index.ts', server: 'src/server.ts', testing: 'src/testing.ts' } },
  sourcemap: true,
  clean: true,
  splitting: true,
  treeshake: true,
  removeNodeProtocol: false,
})
