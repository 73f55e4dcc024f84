/**
 * `loginid-mfa-flow/testing`: a stateful LoginID simulator for tests and local development.
 *
 * @module loginid-mfa-flow/testing
 */
export {}
