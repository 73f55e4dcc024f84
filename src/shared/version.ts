/**
 * The package version, kept equal to package.json's by a test. Used in `User-Agent`.
 *
 * @example Log it at start-up
 * ```ts
 * import { VERSION } from 'loginid-mfa-flow/server'
 *
 * console.info(`loginid-mfa-flow ${VERSION}`)
 * ```
 */
export const VERSION = '0.1.0'
