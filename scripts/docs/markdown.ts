/**
 * The Markdown the docs generate: each connector README's operations and configuration tables (between
 * marker comments) and `docs/connectors.md`, the catalog of every connector, operation, trigger and
 * capability.
 */
import type { ConnectorEntry } from './catalog.ts';
import { type JsonSchema, standaloneSchema } from './json-schema.ts';

/** A cell: pipes escaped, line breaks folded, so one value stays one cell. */
function cell(text: string): string {
  return text.replaceAll('|', '\\|').replace(/\s*\n\s*/g, ' ');
}

function code(text: string): string {
  return `\`${text}\``;
}

/** A table with aligned columns, the way Prettier lays Markdown tables out. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const cells = [header, ...rows].map((row) => row.map(cell));
  const widths = header.map((_, column) =>
    Math.max(3, ...cells.map((row) => [...(row[column] ?? '')].length)),
  );
  const line = (row: readonly string[]): string =>
    `| ${row.map((value, column) => value + ' '.repeat((widths[column] ?? 0) - [...value].length)).join(' | ')} |`;
  const [head, ...body] = cells;
  return [line(head ?? []), line(widths.map((width) => '-'.repeat(width))), ...body.map(line)].join('\n');
}

/** The input fields of an operation: required ones plain, optional ones with `?`. */
function inputFields(schema: JsonSchema): string {
  const properties = schema['properties'];
  if (typeof properties !== 'object' || properties === null) return '(see the OpenAPI document)';
  const required = new Set(Array.isArray(schema['required']) ? (schema['required'] as string[]) : []);
  const names = Object.keys(properties);
  if (names.length === 0) return '(none)';
  return names.map((name) => code(required.has(name) ? name : `${name}?`)).join(', ');
}

function relativeToRoot(folder: string): string {
  return folder
    .split('/')
    .map(() => '..')
    .join('/');
}

/**
 * The operations block of a connector README: one row per operation (and `health`), then the routes.
 *
 * @example
 * ```ts
 * const markdown = operationsTable(s3); // '| operation | effect | input (`?`: optional) | description |\n...'
 * ```
 */
export function operationsTable(connector: ConnectorEntry): string {
  const rows = connector.operations.map((operation) => [
    code(operation.name),
    operation.effect,
    inputFields(standaloneSchema(operation.input, 'input')),
    operation.description,
  ]);
  rows.push([
    code('health'),
    'read',
    '(none)',
    `Checks config, setup and the provider; also \`GET /${connector.name}/health\``,
  ]);
  const root = relativeToRoot(connector.folder);
  const parts = [
    table(['operation', 'effect', 'input (`?`: optional)', 'description'], rows),
    '',
    `Each is \`POST /${connector.name}/<operation>\` with the input as its JSON body, a queue or Step Functions ` +
      `envelope \`{ "operation": "<operation>", "input": { ... } }\`, or \`connector.run(operation, input)\`. ` +
      `Every field and answer: [docs/openapi/${connector.name}.json](${root}/docs/openapi/${connector.name}.json).`,
  ];
  if (connector.routes.length > 0) {
    parts.push(
      '',
      table(
        ['route', 'auth', 'description'],
        connector.routes.map((route) => [
          code(`${route.method} ${route.path}`),
          route.auth === 'signature' ? "provider's signature (public at the gateway)" : 'like operations',
          route.description,
        ]),
      ),
    );
  }
  return parts.join('\n');
}

const BOOLEAN_WORDS = ['0', '1', 'true', 'false', 'yes', 'no'];

/** What a setting accepts, in words. */
function allowed(property: JsonSchema): string {
  // `envList` of the core: text in the environment, a list in the code.
  const list = property['x-list'];
  if (typeof list === 'object' && list !== null) {
    return (list as { nonEmpty?: unknown }).nonEmpty === true
      ? 'comma-separated list, at least one item'
      : 'comma-separated list';
  }
  const values = property['enum'];
  if (Array.isArray(values)) {
    const lower = new Set(values.map((value) => String(value).toLowerCase()));
    if (lower.size === BOOLEAN_WORDS.length && BOOLEAN_WORDS.every((word) => lower.has(word))) {
      return 'boolean (`true`/`false`, `1`/`0`, `yes`/`no`)';
    }
    return values.map((value) => code(String(value))).join(', ');
  }
  const type = property['type'];
  if (type === 'integer' || type === 'number') {
    const min = property['minimum'];
    const max = property['maximum'];
    if (min !== undefined && max !== undefined) return `${type} ${String(min)}..${String(max)}`;
    if (min !== undefined) return `${type} >= ${String(min)}`;
    return String(type);
  }
  if (property['format'] === 'uri') return 'URL';
  if (type === 'string') return 'text';
  return typeof type === 'string' ? type : 'see schema';
}

/** A `function.yml` value as written there: `${...}` variables and CloudFormation functions unresolved. */
function deployedValue(value: unknown): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return value === '' ? '`""`' : code(value);
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const [fn, argument] = Object.entries(value)[0] ?? [];
    if (fn === 'Ref') return code(`Ref ${String(argument)}`);
    if (fn === 'Fn::GetAtt' && Array.isArray(argument)) return code(`GetAtt ${argument.join('.')}`);
  }
  return code(JSON.stringify(value));
}

/** A setting's default as it would be written in the environment; an empty text as `""`. */
function defaultValue(value: unknown): string {
  return value === '' ? '`""`' : code(String(value));
}

/**
 * The configuration block of a connector README: every setting of its config schema with default,
 * accepted values, what `function.yml` deploys and its `.describe()` text.
 *
 * @example
 * ```ts
 * const markdown = configurationTable(s3); // '| variable | default | accepts | function.yml | meaning |\n...'
 * ```
 */
export function configurationTable(connector: ConnectorEntry): string {
  const schema = standaloneSchema(connector.config, 'input');
  const properties = (schema['properties'] ?? {}) as Record<string, JsonSchema>;
  const required = new Set(Array.isArray(schema['required']) ? (schema['required'] as string[]) : []);
  const rows = Object.entries(properties).map(([name, property]) => [
    code(name),
    property['default'] !== undefined
      ? defaultValue(property['default'])
      : required.has(name)
        ? '(required)'
        : '(none)',
    allowed(property),
    deployedValue(connector.environment[name]),
    typeof property['description'] === 'string' ? property['description'] : '',
  ]);
  const parts = [table(['variable', 'default', 'accepts', '`function.yml` sets', 'meaning'], rows)];
  const others = Object.keys(connector.environment).filter((name) => !(name in properties));
  if (others.length > 0) {
    parts.push(
      '',
      `\`function.yml\` also sets ${others
        .map((name) => `${code(name)} (${deployedValue(connector.environment[name])})`)
        .join(', ')}: read by Node.js, the AWS SDK or the core, not part of this connector's settings.`,
    );
  }
  return parts.join('\n');
}

/** One trigger of a function.yml `events:` entry, in words. */
function describeEvent(event: unknown): string | undefined {
  const [kind, raw] = Object.entries(event as Record<string, unknown>)[0] ?? [];
  const spec = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  if (kind === 'httpApi') {
    const authorizer = spec['authorizer'] as { type?: unknown } | undefined;
    const auth =
      authorizer === undefined ? 'public, signature verified' : `${String(authorizer.type)} authorizer`;
    return `HTTP \`${String(spec['method'])} ${String(spec['path'])}\` (${auth})`;
  }
  if (kind === 'sqs') {
    const arn = spec['arn'] as Record<string, unknown> | undefined;
    const queue = Array.isArray(arn?.['Fn::GetAtt']) ? String(arn['Fn::GetAtt'][0]) : 'a queue';
    return `SQS \`${queue}\` (batch ${String(spec['batchSize'] ?? 1)}, each failed record reported)`;
  }
  if (kind === 'schedule') {
    const input = spec['input'] as { operation?: unknown } | undefined;
    const enabled = spec['enabled'] === undefined ? '' : `, enabled: \`${String(spec['enabled'])}\``;
    return `schedule \`${String(spec['rate'])}\` runs \`${String(input?.operation)}\`${enabled}`;
  }
  return kind === undefined ? undefined : `${kind} event`;
}

/**
 * `docs/connectors.md`: a summary table, then per connector its capabilities, triggers, operations and
 * routes.
 *
 * @example
 * ```ts
 * await writeFile('docs/connectors.md', catalogMarkdown(await loadCatalog(root)));
 * ```
 */
export function catalogMarkdown(connectors: readonly ConnectorEntry[]): string {
  const parts = [
    '# Connector catalog',
    '',
    'Every connector, operation, trigger and capability, generated by `npm run docs` from each connector',
    'definition (`functions/<category>/<name>/index.ts`) and its `function.yml`; edit those, not this file.',
    'Request and answer schemas: [openapi.json](openapi.json) (the whole HTTP API) and',
    '[openapi/](openapi/) (one document per connector).',
    '',
    table(
      ['connector', 'category', 'version', 'operations', 'capabilities'],
      connectors.map((connector) => [
        `[${code(connector.name)}](#${connector.name})`,
        connector.category,
        connector.version,
        String(connector.operations.length),
        connector.capabilities.map(code).join(', ') || '(none)',
      ]),
    ),
  ];
  for (const connector of connectors) {
    const triggers = connector.events.map(describeEvent).filter((line) => line !== undefined);
    triggers.push(
      'Step Functions task, direct invoke and library use: `{ "operation": "<name>", "input": { ... } }`',
    );
    parts.push(
      '',
      `## ${connector.name}`,
      '',
      `${connector.summary}. Version ${connector.version}, category \`${connector.category}\`, folder ` +
        `[\`${connector.folder}\`](../${connector.folder}/README.md), OpenAPI [openapi/${connector.name}.json](openapi/${connector.name}.json).`,
      '',
      `Capabilities: ${connector.capabilities.map(code).join(', ') || '(none)'}.`,
      '',
      'Triggers:',
      '',
      ...triggers.map((line) => `- ${line}`),
      '',
      table(
        ['operation', 'effect', 'description'],
        connector.operations.map((operation) => [
          code(operation.name),
          operation.effect,
          operation.description,
        ]),
      ),
    );
    if (connector.routes.length > 0) {
      parts.push(
        '',
        table(
          ['route', 'auth', 'description'],
          connector.routes.map((route) => [
            code(`${route.method} ${route.path}`),
            route.auth,
            route.description,
          ]),
        ),
      );
    }
  }
  return `${parts.join('\n')}\n`;
}

/** The marker comments around a generated README section. */
export function markers(section: string): { start: string; end: string } {
  return { start: `<!-- generated:${section} -->`, end: `<!-- /generated:${section} -->` };
}

/**
 * Replaces what stands between a section's markers; throws naming the file when the markers are missing,
 * so a README cannot silently lose its generated tables.
 *
 * @example
 * ```ts
 * const readme = replaceSection(text, 'operations', operationsTable(s3), 'functions/storage/s3/README.md');
 * ```
 */
export function replaceSection(text: string, section: string, body: string, file: string): string {
  const { start, end } = markers(section);
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from < 0 || to < from || text.indexOf(start, from + 1) >= 0) {
    throw new Error(`${file} needs exactly one "${start}" ... "${end}" pair`);
  }
  return `${text.slice(0, from + start.length)}\n${body}\n${text.slice(to)}`;
}
