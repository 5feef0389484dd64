/**
 * `npm audit --omit=dev` where the registry answers: a high or critical advisory on a production
 * dependency fails; an audit endpoint that cannot be reached or answers with an error (offline, a mirror
 * without the audit API) skips the check with a notice, unless `CIRCLE_AUDIT_REQUIRED=true` makes that a
 * failure too. Anything else npm audit fails on (no lockfile) fails.
 */
import { runCommand } from './exec.ts';

/** The outcome of one audit. */
export type AuditOutcome =
  | { readonly status: 'passed'; readonly summary: string }
  | { readonly status: 'failed'; readonly summary: string; readonly findings: string[] }
  | { readonly status: 'skipped'; readonly summary: string };

/** Severities that fail the build. */
const FAILING = new Set(['high', 'critical']);

interface AuditReport {
  vulnerabilities?: Record<
    string,
    {
      severity: string;
      via: (string | { title?: string; url?: string; severity?: string })[];
      range?: string;
    }
  >;
  metadata?: { vulnerabilities?: Record<string, number> };
  message?: string;
  statusCode?: number;
  error?: { code?: string; summary?: string; detail?: string };
}

/** npm's way of saying the audit endpoint did not answer: a transport failure or an HTTP error status. */
const UNREACHABLE =
  /request to \S+ failed|ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNRESET|ENETUNREACH|socket hang up/;

/**
 * Reads `npm audit --json` output.
 *
 * @example
 * ```ts
 * interpretAudit('{"vulnerabilities":{},"metadata":{"vulnerabilities":{"total":0}}}'); // { status: 'passed', ... }
 * ```
 */
export function interpretAudit(stdout: string, stderr = ''): AuditOutcome {
  let report: AuditReport;
  try {
    report = JSON.parse(stdout) as AuditReport;
  } catch {
    return {
      status: 'failed',
      summary: `npm audit gave no report: ${(stderr || stdout).trim().slice(0, 500)}`,
      findings: [],
    };
  }
  if (report.metadata?.vulnerabilities !== undefined) {
    const findings = Object.entries(report.vulnerabilities ?? {})
      .filter(([, vulnerability]) => FAILING.has(vulnerability.severity))
      .map(([name, vulnerability]) => {
        const advisories = vulnerability.via
          .map((via) =>
            typeof via === 'string' ? `via ${via}` : `${via.title ?? 'advisory'} ${via.url ?? ''}`.trim(),
          )
          .join('; ');
        return `${name} (${vulnerability.severity}, ${vulnerability.range ?? 'all versions'}): ${advisories}`;
      })
      .sort();
    const counts = Object.entries(report.metadata.vulnerabilities)
      .filter(([severity, count]) => severity !== 'total' && count > 0)
      .map(([severity, count]) => `${count} ${severity}`);
    const summary = counts.length === 0 ? 'no known vulnerability' : counts.join(', ');
    return findings.length > 0 ? { status: 'failed', summary, findings } : { status: 'passed', summary };
  }
  const reason = report.message ?? report.error?.summary ?? stderr.trim();
  if (report.statusCode !== undefined || UNREACHABLE.test(reason)) {
    return { status: 'skipped', summary: `the audit endpoint did not answer (${reason.slice(0, 300)})` };
  }
  return { status: 'failed', summary: `npm audit failed: ${reason.slice(0, 500)}`, findings: [] };
}

/**
 * Audits the production dependencies of the project at `root` against `registry` (npm's configured one,
 * the project `.npmrc` pins https://registry.npmjs.org/, when not given).
 *
 * @example
 * ```ts
 * const outcome = await runAudit(process.cwd()); // { status: 'skipped', ... } offline
 * ```
 */
export async function runAudit(
  root: string,
  options: { registry?: string; required?: boolean } = {},
): Promise<AuditOutcome> {
  const args = ['audit', '--omit=dev', '--json'];
  if (options.registry !== undefined) args.push(`--registry=${options.registry}`);
  const { stdout, stderr } = await runCommand('npm', args, { cwd: root });
  const outcome = interpretAudit(stdout, stderr);
  const required = options.required ?? process.env['CIRCLE_AUDIT_REQUIRED'] === 'true';
  if (outcome.status === 'skipped' && required) {
    return { status: 'failed', summary: `${outcome.summary}; CIRCLE_AUDIT_REQUIRED=true`, findings: [] };
  }
  return outcome;
}
