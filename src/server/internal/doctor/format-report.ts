// Internal (doctor): the terminal form of a report: a header, one line per check, a `fix:` line
// under each failure and warning, and a summary. ANSI colour only when asked (the CLI asks on a TTY).
import type { DoctorCheckStatus, DoctorReport } from '../../doctor.js'

const LABELS: Record<DoctorCheckStatus, { text: string; color: string }> = {
  pass: { text: 'PASS', color: '\u001b[32m' },
  fail: { text: 'FAIL', color: '\u001b[31m' },
  warn: { text: 'WARN', color: '\u001b[33m' },
  skip: { text: 'SKIP', color: '\u001b[2m' },
}
const RESET = '\u001b[0m'

/** The report as terminal lines (ending with a newline). */
export function formatDoctorReport(report: DoctorReport, { color }: { color: boolean }): string {
  const paint = (status: DoctorCheckStatus, text: string): string =>
    color ? `${LABELS[status].color}${text}${RESET}` : text
  const width = Math.max(...report.checks.map((check) => check.title.length))
  const lines = [
    `loginid-mfa-flow doctor: ${report.baseUrl}${report.appId ? ` (app id ${report.appId})` : ''}, user ${report.username}`,
  ]
  for (const check of report.checks) {
    lines.push(
      `${paint(check.status, LABELS[check.status].text)}  ${check.number}. ${check.title.padEnd(width)}  ${check.evidence}`,
    )
    if (check.fix !== undefined && (check.status === 'fail' || check.status === 'warn')) {
      lines.push(`${' '.repeat(9)}fix: ${check.fix}`)
    }
  }
  const { pass, fail, warn, skip } = report.summary
  lines.push(
    paint(
      report.ok ? 'pass' : 'fail',
      `${fail} failed, ${warn} warning(s), ${pass} passed, ${skip} skipped`,
    ),
  )
  return `${lines.join('\n')}\n`
}
