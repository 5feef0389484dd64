/**
 * FHIR's failures: every error answer may carry an OperationOutcome, whose issues (severity, code,
 * diagnostics, expression) say what went wrong. One inspect hook maps it to the core's errors by the HTTP
 * status (412 Precondition Failed, a stale If-Match, is a conflict), with the issues in the message and
 * details; a 2xx answer that is an OperationOutcome with an error issue fails too.
 */
import {
  AuthError,
  ConflictError,
  type ConnectorError,
  type FieldIssue,
  ForbiddenError,
  type HttpResponse,
  NotFoundError,
  UnavailableError,
  UnexpectedResponseError,
  ValidationError,
} from '@circle-core/core';
import { OperationOutcome } from './models.ts';

const MAX_DIAGNOSTICS = 300;

/** One line of a server's text: control characters out, cut to a length. */
function oneLine(text: string, max = MAX_DIAGNOSTICS): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: log lines must stay one line.
  return text.replace(/[\u0000-\u001f\u007f]+/g, ' ').slice(0, max);
}

/** The issues of an OperationOutcome, cleaned for messages and details. */
export interface OutcomeSummary {
  issues: { severity: string; code: string; diagnostics?: string; expression?: string[] }[];
  text: string;
}

/**
 * The issues of an OperationOutcome body, or undefined when the body is none.
 *
 * @example
 * ```ts
 * summarise({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'required' }] })?.text; // 'error required'
 * ```
 */
export function summarise(body: unknown): OutcomeSummary | undefined {
  const parsed = OperationOutcome.safeParse(body);
  if (!parsed.success) return undefined;
  const issues = parsed.data.issue.slice(0, 10).map((issue) => ({
    severity: oneLine(issue.severity, 16),
    code: oneLine(issue.code, 32),
    ...(issue.diagnostics === undefined ? {} : { diagnostics: oneLine(issue.diagnostics) }),
    ...(issue.expression === undefined
      ? {}
      : { expression: issue.expression.slice(0, 5).map((e) => oneLine(e, 200)) }),
  }));
  const text = issues
    .map((issue) =>
      [
        `${issue.severity} ${issue.code}`,
        issue.expression === undefined ? '' : ` at ${issue.expression.join(', ')}`,
        issue.diagnostics === undefined ? '' : `: ${issue.diagnostics}`,
      ].join(''),
    )
    .join('; ');
  return { issues, text };
}

/** `Patient.name[0].family` as a JSON pointer into the sent resource (`/resource/name/0/family`). */
function pointerOf(expression: string): string {
  const path = expression
    .replace(/^[A-Z][A-Za-z]*\.?/, '')
    .replace(/\[(\d+)\]/g, '.$1')
    .split('.')
    .filter((part) => part !== '');
  return ['', 'resource', ...path].join('/');
}

/**
 * The failure an answer carries: an OperationOutcome with a 4xx/5xx status by that status, a 2xx
 * OperationOutcome with a fatal or error issue as an unexpected answer. 429 and answers without an
 * OperationOutcome keep the core's mapping (Retry-After, status classes).
 *
 * @example
 * ```ts
 * inspectFhirResponse({ status: 412, body: { resourceType: 'OperationOutcome', issue: [...] }, ... }); // ConflictError
 * ```
 */
export function inspectFhirResponse(response: HttpResponse): ConnectorError | undefined {
  const { status } = response;
  if (status === 429) return undefined;
  const summary = summarise(response.body);
  if (summary === undefined) {
    // Without an outcome, a stale If-Match is still a conflict (the core would call a 412 unexpected).
    return status === 412
      ? new ConflictError('FHIR server refused the write: precondition failed (HTTP 412)')
      : undefined;
  }
  const details = { status, issues: summary.issues };
  const message = `FHIR server answered HTTP ${status}: ${summary.text}`;
  if (status < 300) {
    const failed = summary.issues.some((issue) => issue.severity === 'error' || issue.severity === 'fatal');
    return failed ? new UnexpectedResponseError(message, { details }) : undefined;
  }
  if (status === 401) return new AuthError(message, { details });
  if (status === 403) return new ForbiddenError(message, { details });
  if (status === 404 || status === 410) return new NotFoundError(message, { details });
  if (status === 409 || status === 412) return new ConflictError(message, { details });
  if (status >= 500) return new UnavailableError(message, { details });
  if (status >= 400) {
    const fields: FieldIssue[] = summary.issues.flatMap((issue) =>
      (issue.expression ?? []).map((expression) => ({
        pointer: pointerOf(expression),
        message: issue.diagnostics ?? issue.code,
      })),
    );
    return new ValidationError(message, fields, { details });
  }
  return undefined;
}
