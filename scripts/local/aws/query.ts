/**
 * The AWS query protocol (form-encoded `Action=...` requests, XML answers), as SNS speaks it: reading
 * flattened maps (`Attributes.entry.1.key`) and lists (`Entries.member.1.Id`) out of the form, and writing
 * the `<ActionResponse><ActionResult>` envelope around an answer.
 */
import { randomUUID } from 'node:crypto';
import { escapeXml } from './protocol.ts';

/** One parsed query request: the action and every other form field by its flattened name. */
export interface QueryRequest {
  action: string;
  params: Record<string, string>;
}

/** A query-protocol service: answers the inner XML of `<ActionResult>` (empty for none). */
export type QueryService = (request: QueryRequest) => Promise<string>;

/**
 * The form fields of a request body.
 *
 * @example
 * ```ts
 * parseQuery('Action=Publish&TopicArn=arn').params['TopicArn']; // 'arn'
 * ```
 */
export function parseQuery(body: string): QueryRequest {
  const form = new URLSearchParams(body);
  const params: Record<string, string> = {};
  for (const [name, value] of form) params[name] = value;
  return { action: params['Action'] ?? '', params };
}

/**
 * A flattened map: `<prefix>.entry.N.<key>` / `<prefix>.entry.N.<value>` pairs (value fields may be nested
 * further: the map then holds each entry's sub-fields under the value name's prefix).
 *
 * @example
 * ```ts
 * queryMap({ 'Attributes.entry.1.key': 'FifoTopic', 'Attributes.entry.1.value': 'true' }, 'Attributes');
 * // { FifoTopic: 'true' }
 * ```
 */
export function queryMap(
  params: Record<string, string>,
  prefix: string,
  names: { key: string; value: string } = { key: 'key', value: 'value' },
): Record<string, string> {
  const map: Record<string, string> = {};
  for (const entry of queryEntries(params, `${prefix}.entry`)) {
    const key = entry[names.key];
    const value = entry[names.value];
    if (key !== undefined && value !== undefined) map[key] = value;
  }
  return map;
}

/**
 * The numbered items of a flattened list or map, in order, each as its sub-fields (`<prefix>.N.<field>`).
 *
 * @example
 * ```ts
 * queryEntries({ 'Entries.member.1.Id': 'a', 'Entries.member.1.Message': 'hi' }, 'Entries.member');
 * // [{ Id: 'a', Message: 'hi' }]
 * ```
 */
export function queryEntries(params: Record<string, string>, prefix: string): Record<string, string>[] {
  const items = new Map<number, Record<string, string>>();
  const start = `${prefix}.`;
  for (const [name, value] of Object.entries(params)) {
    if (!name.startsWith(start)) continue;
    const rest = name.slice(start.length);
    const dot = rest.indexOf('.');
    const index = Number(dot === -1 ? rest : rest.slice(0, dot));
    if (!Number.isInteger(index) || index < 1) continue;
    const item = items.get(index) ?? {};
    item[dot === -1 ? '' : rest.slice(dot + 1)] = value;
    items.set(index, item);
  }
  return [...items.entries()].sort((a, b) => a[0] - b[0]).map((entry) => entry[1]);
}

/**
 * XML of an element per field (undefined fields left out), text escaped.
 *
 * @example
 * ```ts
 * xmlFields({ MessageId: 'm-1', SequenceNumber: undefined }); // '<MessageId>m-1</MessageId>'
 * ```
 */
export function xmlFields(fields: Record<string, string | number | boolean | undefined>): string {
  return Object.entries(fields)
    .filter((entry) => entry[1] !== undefined)
    .map(([name, value]) => `<${name}>${escapeXml(String(value))}</${name}>`)
    .join('');
}

/**
 * The envelope of a query-protocol answer.
 *
 * @example
 * ```ts
 * queryResponse('Publish', '<MessageId>m-1</MessageId>', 'http://sns.amazonaws.com/doc/2010-03-31/');
 * ```
 */
export function queryResponse(action: string, result: string, namespace: string): string {
  return (
    `<${action}Response xmlns="${namespace}"><${action}Result>${result}</${action}Result>` +
    `<ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></${action}Response>`
  );
}
