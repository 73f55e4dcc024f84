/** The package version, kept equal to package.json's by a test. Used in `User-Agent`. */
export const VERSION = '0.1.0'
