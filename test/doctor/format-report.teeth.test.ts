// The doctor CLI's terminal report, in process (the CLI tests spawn a bundle, where a mutant of the
// source never runs): the header, one aligned line per check, `fix:` under failures and warnings
// only, the summary, and ANSI colour only when asked.
import { describe, expect, it } from 'vitest'
import type { DoctorReport } from '../../src/server.js'
import { formatDoctorReport } from '../../src/server/internal/doctor/format-report.js'

const report: DoctorReport = {
  version: 1,
  ok: false,
  baseUrl: 'https://app.api.loginid.io',
  appId: 'app',
  username: 'ada@example.com',
  checks: [
    { id: 'base-url', number: 1, title: 'base URL', status: 'pass', evidence: 'e1', fix: 'no' },
    { id: 'jwks', number: 2, title: 'JWKS', status: 'fail', evidence: 'e2', fix: 'f2' },
    { id: 'mfa-begin', number: 3, title: 'mfa/begin', status: 'warn', evidence: 'e3', fix: 'f3' },
    { id: 'cors', number: 4, title: 'CORS', status: 'skip', evidence: 'e4', fix: 'no' },
    { id: 'grant', number: 5, title: 'grant token', status: 'warn', evidence: 'e5' },
  ],
  summary: { pass: 1, fail: 1, warn: 2, skip: 1 },
}

describe('formatDoctorReport', () => {
  it('without colour: header, aligned checks, fixes under failures and warnings, summary', () => {
    expect(formatDoctorReport(report, { color: false })).toBe(
      [
        'loginid-mfa-flow doctor: https://app.api.loginid.io (app id app), user ada@example.com',
        'PASS  1. base URL     e1',
        'FAIL  2. JWKS         e2',
        '         fix: f2',
        'WARN  3. mfa/begin    e3',
        '         fix: f3',
        'SKIP  4. CORS         e4',
        'WARN  5. grant token  e5',
        '1 failed, 2 warning(s), 1 passed, 1 skipped',
        '',
      ].join('\n'),
    )
  })

  it('without an app id, the header has none', () => {
    const { appId: _, ...withoutAppId } = report
    expect(formatDoctorReport(withoutAppId, { color: false }).split('\n')[0]).toBe(
      'loginid-mfa-flow doctor: https://app.api.loginid.io, user ada@example.com',
    )
  })

  it('with colour: each label in its colour, the summary green when ok and red when not', () => {
    const lines = formatDoctorReport(report, { color: true }).split('\n')
    expect(lines[1]).toBe('\u001b[32mPASS\u001b[0m  1. base URL     e1')
    expect(lines[2]).toBe('\u001b[31mFAIL\u001b[0m  2. JWKS         e2')
    expect(lines[4]).toBe('\u001b[33mWARN\u001b[0m  3. mfa/begin    e3')
    expect(lines[6]).toBe('\u001b[2mSKIP\u001b[0m  4. CORS         e4')
    expect(lines[8]).toBe('\u001b[31m1 failed, 2 warning(s), 1 passed, 1 skipped\u001b[0m')
    const ok = formatDoctorReport({ ...report, ok: true }, { color: true }).split('\n')
    expect(ok[8]).toBe('\u001b[32m1 failed, 2 warning(s), 1 passed, 1 skipped\u001b[0m')
  })
})
