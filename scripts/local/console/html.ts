/**
 * HTML for the local console: every value reaches the page through `escapeHtml` (the `html` tag escapes
 * each interpolation unless it is markup built here), and each page carries a policy that allows only the
 * console's own stylesheet and script, so a value that slipped through still could not run.
 */

/** Markup built by the console itself, interpolated as is. */
export class Markup {
  readonly text: string;

  constructor(text: string) {
    this.text = text;
  }

  toString(): string {
    return this.text;
  }
}

/**
 * Escapes text for an HTML element or a quoted attribute value.
 *
 * @example
 * ```ts
 * escapeHtml('<b title="x">'); // '&lt;b title=&quot;x&quot;&gt;'
 * ```
 */
export function escapeHtml(value: unknown): string {
  const text = typeof value === 'string' ? value : value === undefined ? '' : String(value);
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

function render(value: unknown): string {
  if (value instanceof Markup) return value.text;
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(value);
}

/**
 * A template tag: interpolated values are escaped, except `Markup` (and arrays of it) built by this tag.
 *
 * @example
 * ```ts
 * html`<td>${name}</td>`; // name escaped
 * ```
 */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Markup {
  let out = strings[0] ?? '';
  for (const [index, value] of values.entries()) out += render(value) + (strings[index + 1] ?? '');
  return new Markup(out);
}

/** JSON text, indented, for a `<pre>` (escaped by the caller's template). */
export function pretty(value: unknown): string {
  if (typeof value === 'string') {
    try {
      return JSON.stringify(JSON.parse(value), null, 2);
    } catch {
      return value;
    }
  }
  return JSON.stringify(value, null, 2) ?? 'undefined';
}

const NAV: [string, string][] = [
  ['/_console', 'Connectors'],
  ['/_console/queues', 'Queues'],
  ['/_console/schedules', 'Schedules'],
  ['/_console/workflows', 'Workflows'],
  ['/_console/functions', 'Logs'],
  ['/_console/mail', 'Mail'],
];

/**
 * A whole page: the navigation, the sign-out button (a POST with the session's CSRF token) and the body.
 *
 * @example
 * ```ts
 * page({ title: 'Queues', csrf, body: html`<p>...</p>` });
 * ```
 */
export function page(options: {
  title: string;
  body: Markup;
  csrf?: string;
  refreshSeconds?: number;
}): string {
  const nav =
    options.csrf === undefined
      ? html``
      : html`<nav>${NAV.map(([href, label]) => html`<a href="${href}">${label}</a>`)}
<form method="post" action="/_console/logout" class="inline"><input type="hidden" name="_csrf" value="${options.csrf}"><button type="submit">Sign out</button></form></nav>`;
  const refresh =
    options.refreshSeconds === undefined
      ? html``
      : html`<meta http-equiv="refresh" content="${options.refreshSeconds}">`;
  return `<!doctype html>
${
  html`<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">${refresh}
<title>${options.title} · Circle Core local console</title>
<link rel="stylesheet" href="/_console/assets/console.css"><script src="/_console/assets/console.js" defer></script></head>
<body><header><strong>Circle Core local console</strong>${nav}</header>
<main><h1>${options.title}</h1>
${options.body}</main></body></html>`.text
}
`;
}

/** A table with a header row; rows are markup or escaped cells. */
export function table(headers: string[], rows: unknown[][], className = ''): Markup {
  if (rows.length === 0) return html`<p class="empty">(none)</p>`;
  return html`<table class="${className}"><thead><tr>${headers.map((header) => html`<th>${header}</th>`)}</tr></thead>
<tbody>${rows.map((row) => html`<tr>${row.map((cell) => html`<td>${cell}</td>`)}</tr>`)}</tbody></table>`;
}

/** A POST form holding the CSRF token, hidden fields and one button. */
export function postButton(options: {
  action: string;
  csrf: string;
  label: string;
  fields?: Record<string, string>;
  testId?: string;
}): Markup {
  const hidden = Object.entries(options.fields ?? {}).map(
    ([name, value]) => html`<input type="hidden" name="${name}" value="${value}">`,
  );
  return html`<form method="post" action="${options.action}" class="inline"><input type="hidden" name="_csrf" value="${options.csrf}">${hidden}<button type="submit"${options.testId === undefined ? '' : html` data-test="${options.testId}"`}>${options.label}</button></form>`;
}
