/**
 * Operation forms from the stack's OpenAPI document (`GET /openapi.json`): one field per top-level property
 * of the request body's schema (text, number, a true/false choice, a list of the enum's values, JSON for
 * objects and arrays), and the way back from the submitted fields to the JSON body. No client-side
 * validation: what is wrong comes back as the connector's own problem answer, which the console shows.
 */
import { html, type Markup } from './html.ts';

type Schema = Record<string, unknown>;

/** One operation of the document. */
export interface Operation {
  operationId: string;
  method: string;
  path: string;
  connector: string;
  summary: string;
  /** The request body's schema with its `$ref` resolved; undefined when it takes none. */
  body: Schema | undefined;
  /** Takes the Idempotency-Key header. */
  idempotent: boolean;
  /** Open (no API key), as the webhook receivers are. */
  open: boolean;
}

/** A field's kind, derived from its schema. */
export type FieldKind = 'text' | 'long-text' | 'number' | 'integer' | 'boolean' | 'enum' | 'json';

/** One form field. */
export interface Field {
  name: string;
  kind: FieldKind;
  required: boolean;
  description: string;
  options: string[];
  defaultValue: unknown;
}

function resolve(document: Schema, schema: unknown): Schema | undefined {
  if (typeof schema !== 'object' || schema === null) return undefined;
  const ref = (schema as Schema)['$ref'];
  if (typeof ref !== 'string') return schema as Schema;
  let node: unknown = document;
  for (const segment of ref.replace(/^#\//, '').split('/')) {
    node = typeof node === 'object' && node !== null ? (node as Schema)[segment] : undefined;
  }
  return typeof node === 'object' && node !== null ? (node as Schema) : undefined;
}

/**
 * Every operation of the document, in its order.
 *
 * @example
 * ```ts
 * operations(document).find((op) => op.path === '/s3/put-object')?.body; // the input schema
 * ```
 */
export function operations(document: unknown): Operation[] {
  const doc = (document ?? {}) as Schema;
  const found: Operation[] = [];
  for (const [path, item] of Object.entries((doc['paths'] ?? {}) as Record<string, Schema>)) {
    for (const [method, raw] of Object.entries(item)) {
      const operation = raw as Schema;
      if (typeof operation !== 'object' || operation === null || typeof operation['operationId'] !== 'string')
        continue;
      const content = ((operation['requestBody'] as Schema | undefined)?.['content'] ?? {}) as Record<
        string,
        Schema
      >;
      const parameters = (operation['parameters'] ?? []) as Schema[];
      const security = operation['security'];
      found.push({
        operationId: operation['operationId'],
        method: method.toUpperCase(),
        path,
        connector: path.split('/')[1] ?? '',
        summary: typeof operation['summary'] === 'string' ? operation['summary'] : '',
        body: resolve(doc, content['application/json']?.['schema']),
        idempotent: parameters.some((parameter) =>
          String(parameter['$ref'] ?? parameter['name'] ?? '')
            .toLowerCase()
            .includes('idempotency'),
        ),
        open: Array.isArray(security) && security.length === 0,
      });
    }
  }
  return found;
}

function kindOf(schema: Schema): FieldKind {
  if (Array.isArray(schema['enum']) && schema['enum'].every((value) => typeof value === 'string'))
    return 'enum';
  const type = schema['type'];
  if (type === 'string') {
    const max = schema['maxLength'];
    return typeof max === 'number' && max <= 300 ? 'text' : 'long-text';
  }
  if (type === 'integer') return 'integer';
  if (type === 'number') return 'number';
  if (type === 'boolean') return 'boolean';
  return 'json';
}

/**
 * The fields of a body schema (an object's properties; one JSON field for anything else).
 *
 * @example
 * ```ts
 * fields(operation.body).map((field) => field.name); // ['bucket', 'key', 'body', ...]
 * ```
 */
export function fields(schema: Schema | undefined): Field[] {
  if (schema === undefined) return [];
  const properties = schema['properties'];
  if (schema['type'] !== 'object' || typeof properties !== 'object' || properties === null) {
    return [
      {
        name: '',
        kind: 'json',
        required: true,
        description: 'The whole body',
        options: [],
        defaultValue: undefined,
      },
    ];
  }
  const required = new Set(Array.isArray(schema['required']) ? (schema['required'] as string[]) : []);
  return Object.entries(properties as Record<string, Schema>).map(([name, property]) => ({
    name,
    kind: kindOf(property),
    required: required.has(name),
    description: typeof property['description'] === 'string' ? property['description'] : '',
    options: Array.isArray(property['enum']) ? (property['enum'] as unknown[]).map(String) : [],
    defaultValue: property['default'],
  }));
}

/** A field's input element, holding `value` (what was submitted) when given. */
function input(field: Field, value: string | undefined): Markup {
  const name = `f.${field.name}`;
  const id = `field-${field.name || 'body'}`;
  const current = value ?? '';
  switch (field.kind) {
    case 'enum':
    case 'boolean': {
      const options = field.kind === 'boolean' ? ['true', 'false'] : field.options;
      return html`<select name="${name}" id="${id}"><option value="">(not set${field.defaultValue === undefined ? '' : `: ${String(field.defaultValue)}`})</option>${options.map(
        (option) =>
          html`<option value="${option}"${option === current ? html` selected` : ''}>${option}</option>`,
      )}</select>`;
    }
    case 'number':
    case 'integer':
      return html`<input type="number" step="${field.kind === 'integer' ? '1' : 'any'}" name="${name}" id="${id}" value="${current}">`;
    case 'text':
      return html`<input type="text" name="${name}" id="${id}" value="${current}">`;
    case 'long-text':
      return html`<textarea name="${name}" id="${id}" rows="2">${current}</textarea>`;
    default:
      return html`<textarea name="${name}" id="${id}" rows="3" class="json" placeholder="JSON">${current}</textarea>`;
  }
}

/**
 * The form of an operation, posting to `action`; `values` refill it after a run.
 *
 * @example
 * ```ts
 * operationForm(operation, { action: '/_console/operations/s3_put_object', csrf, values: {}, idempotencyKey });
 * ```
 */
export function operationForm(
  operation: Operation,
  options: { action: string; csrf: string; values: Record<string, string>; idempotencyKey: string },
): Markup {
  const rows = fields(operation.body).map(
    (
      field,
    ) => html`<div class="field"><label for="field-${field.name || 'body'}">${field.name || 'body'}${field.required ? ' *' : ''} <small>${field.kind === 'json' ? 'JSON' : field.kind}</small></label>
${input(field, options.values[`f.${field.name}`])}<small class="hint">${field.description}</small></div>`,
  );
  const idempotency = operation.idempotent
    ? html`<div class="field"><label for="field-idempotency-key">Idempotency-Key <small>header</small></label><input type="text" name="_idempotency" id="field-idempotency-key" value="${options.values['_idempotency'] ?? options.idempotencyKey}"><small class="hint">A write runs once per key; a new key is filled in on each visit.</small></div>`
    : html``;
  const raw =
    operation.body === undefined
      ? html``
      : html`<details${options.values['_json'] ? html` open` : ''}><summary>Or the whole body as JSON (used instead of the fields when set)</summary><textarea name="_json" id="field-raw-json" rows="5" class="json">${options.values['_json'] ?? ''}</textarea></details>`;
  return html`<form method="post" action="${options.action}" class="operation"><input type="hidden" name="_csrf" value="${options.csrf}">
${rows}${idempotency}${raw}<button type="submit" data-test="run-operation">${operation.method} ${operation.path}</button></form>`;
}

/** Why a submitted form could not become a body. */
export class FormError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FormError';
  }
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new FormError(`${what} is not valid JSON: ${(error as Error).message}`);
  }
}

/**
 * The JSON body a submitted form describes (empty fields are left out), or a FormError naming the field.
 *
 * @example
 * ```ts
 * bodyOf(operation, { 'f.key': 'a.txt', 'f.onlyIfAbsent': 'true' }); // { key: 'a.txt', onlyIfAbsent: true }
 * ```
 */
export function bodyOf(operation: Operation, values: Record<string, string>): unknown {
  if (operation.body === undefined) return undefined;
  const raw = (values['_json'] ?? '').trim();
  if (raw !== '') return parseJson(raw, 'The JSON body');
  const body: Record<string, unknown> = {};
  for (const field of fields(operation.body)) {
    const value = values[`f.${field.name}`] ?? '';
    if (value === '') continue;
    let parsed: unknown = value;
    if (field.kind === 'number' || field.kind === 'integer') {
      parsed = Number(value);
      if (!Number.isFinite(parsed))
        throw new FormError(`${field.name} is not a number: ${value.slice(0, 40)}`);
    } else if (field.kind === 'boolean') {
      parsed = value === 'true';
    } else if (field.kind === 'json') {
      parsed = parseJson(value, field.name || 'The body');
    }
    if (field.name === '') return parsed;
    body[field.name] = parsed;
  }
  return body;
}
