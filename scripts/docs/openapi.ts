/**
 * OpenAPI 3.1 documents of the HTTP API: `POST /<connector>/<operation>` for every operation (request body
 * = its input schema, 200 = its output schema, failures = RFC 9457 problems with the taxonomy's statuses),
 * `GET /<connector>/health`, and the connectors' own routes (webhook receivers).
 */
import type { ConnectorEntry, OperationEntry, RouteEntry } from './catalog.ts';
import { type JsonSchema, SchemaComponents } from './json-schema.ts';
import { errorStatuses, HealthReportSchema, ProblemSchema } from './problems.ts';

/** The deployed stage and the local stack; the local stack serves its document with its own address. */
export const DEFAULT_SERVERS: readonly JsonSchema[] = [
  {
    url: 'https://{apiId}.execute-api.{region}.amazonaws.com',
    description: 'A deployed stage: API Gateway HTTP API, $default stage (serverless deploy prints the URL)',
    variables: {
      apiId: { default: 'abcdef1234', description: 'The HTTP API id' },
      region: { default: 'eu-west-1', description: 'The AWS region it is deployed in' },
    },
  },
  { url: 'http://127.0.0.1:3000', description: 'The local stack (npm start)' },
];

const SECURITY_SCHEMES = {
  awsSigV4: {
    type: 'apiKey',
    in: 'header',
    name: 'Authorization',
    description:
      'Deployed stages: the gateway IAM authorizer. Sign each request with AWS Signature Version 4 for the ' +
      'service `execute-api` in the stage region, with credentials allowed `execute-api:Invoke` on the route ' +
      '(the SDK signers, `aws-sigv4` in curl, or `npm run mcp` with CIRCLE_API_URL). A stage switched to JWT ' +
      'takes `Authorization: Bearer <token>` from its issuer instead.',
    'x-amazon-apigateway-authtype': 'awsSigv4',
  },
  localApiKey: {
    type: 'http',
    scheme: 'bearer',
    description:
      'The local stack only: the key printed at start-up, also in `.local/api-key` (CIRCLE_LOCAL_API_KEY chooses it).',
  },
};

/** Operation routes accept either: SigV4 where deployed, the API key locally. */
const AUTHORIZED = [{ awsSigV4: [] }, { localApiKey: [] }];

const CORRELATION_ID = {
  name: 'X-Correlation-Id',
  in: 'header',
  required: false,
  description: 'Carried into every log line of the request and answered back; generated when absent',
  schema: { type: 'string', maxLength: 128 },
};

const IDEMPOTENCY_KEY = {
  name: 'Idempotency-Key',
  in: 'header',
  required: false,
  description:
    'Runs this write at most once per key: a repeat answers the stored result, the same key with another ' +
    'input is a 409. Required when the function has CIRCLE_IDEMPOTENCY_TABLE (then a write without it is a 400).',
  schema: { type: 'string', minLength: 1, maxLength: 256 },
};

const CORRELATION_HEADER = {
  description: 'The correlation id of the request (the one sent, or a generated one)',
  schema: { type: 'string' },
};

const RETRY_AFTER_HEADER = {
  description: 'Seconds to wait before trying again',
  schema: { type: 'integer', minimum: 0 },
};

function pascal(name: string): string {
  return name
    .split(/[^A-Za-z0-9]+/)
    .filter((part) => part.length > 0)
    .map((part) => part[0]?.toUpperCase() + part.slice(1))
    .join('');
}

/**
 * The id of an operation in the documents and of its MCP tool: `s3_put_object`.
 *
 * @example
 * ```ts
 * operationId('github', 'create-issue'); // 'github_create_issue'
 * ```
 */
export function operationId(connector: string, operation: string): string {
  return `${connector}_${operation}`.replaceAll('-', '_');
}

/** `components/responses` for the taxonomy's statuses: `Problem400`, `Problem401`, ... */
function problemResponses(): Record<string, JsonSchema> {
  const responses: Record<string, JsonSchema> = {};
  for (const { status, title, errors } of errorStatuses()) {
    const classes = errors
      .map((error) => `${error.name} (\`${error.code}\`${error.retryable ? ', retryable' : ''})`)
      .join(', ');
    const headers: JsonSchema = { 'X-Correlation-Id': CORRELATION_HEADER };
    if (status === 429) headers['Retry-After'] = RETRY_AFTER_HEADER;
    responses[`Problem${status}`] = {
      description: `${title}: ${classes}`,
      headers,
      content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
    };
  }
  return responses;
}

function problemRefs(statuses: readonly number[]): Record<string, JsonSchema> {
  return Object.fromEntries(
    statuses.map((status) => [String(status), { $ref: `#/components/responses/Problem${status}` }]),
  );
}

function operationItem(
  connector: ConnectorEntry,
  operation: OperationEntry,
  components: SchemaComponents,
  statuses: readonly number[],
): JsonSchema {
  const base = `${pascal(connector.name)}${pascal(operation.name)}`;
  const input = components.add(`${base}Input`, operation.input, 'input');
  const output = components.add(`${base}Output`, operation.output, 'output');
  const required = components.get(`${base}Input`)?.['required'];
  const write = operation.effect === 'write';
  const parameters: JsonSchema[] = [{ $ref: '#/components/parameters/CorrelationId' }];
  if (write) parameters.push({ $ref: '#/components/parameters/IdempotencyKey' });
  return {
    post: {
      operationId: operationId(connector.name, operation.name),
      summary: operation.description,
      description: write
        ? `${operation.description}. Changes something at the provider (effect: write).`
        : `${operation.description}. Reads only (effect: read).`,
      tags: [connector.name],
      parameters,
      requestBody: {
        // An empty body counts as `{}`, so a body is needed only when the input has required fields.
        required: Array.isArray(required) && required.length > 0,
        content: { 'application/json': { schema: { $ref: input } } },
      },
      responses: {
        '200': {
          description: 'The operation output',
          headers: { 'X-Correlation-Id': CORRELATION_HEADER },
          content: { 'application/json': { schema: { $ref: output } } },
        },
        ...problemRefs(statuses),
      },
      'x-circle-effect': operation.effect,
    },
  };
}

function healthItem(connector: ConnectorEntry): JsonSchema {
  const report = { 'application/json': { schema: { $ref: '#/components/schemas/HealthReport' } } };
  return {
    get: {
      operationId: operationId(connector.name, 'health'),
      summary: `Checks the ${connector.name} connector: config, setup (secrets) and a cheap provider call`,
      tags: [connector.name],
      parameters: [{ $ref: '#/components/parameters/CorrelationId' }],
      responses: {
        '200': { description: 'Every check passed', content: report },
        '503': { description: 'A check failed; the report says which', content: report },
        ...problemRefs([401, 403, 500]),
      },
    },
  };
}

function routeItem(connector: ConnectorEntry, route: RouteEntry, statuses: readonly number[]): JsonSchema {
  const signed = route.auth === 'signature';
  const tail = route.path.split('/').filter(Boolean).slice(1).join('-');
  return {
    [route.method.toLowerCase()]: {
      operationId: operationId(connector.name, `${route.method.toLowerCase()}-${tail}`),
      summary: route.description,
      description: signed
        ? `${route.description}. Called by the provider: public at the gateway, every request verified by ` +
          "the provider's signature over the raw body (a missing or wrong signature is a 401)."
        : route.description,
      tags: [connector.name],
      ...(signed ? { security: [] } : {}),
      requestBody: {
        required: true,
        content: {
          '*/*': { schema: { description: "The provider's payload, exactly as it signed it" } },
        },
      },
      responses: {
        '200': {
          description: 'Accepted; the body is the acknowledgement the provider expects',
          content: { 'application/json': { schema: {} }, 'text/plain': { schema: { type: 'string' } } },
        },
        ...problemRefs(statuses),
      },
    },
  };
}

/** Options of one document. */
export interface OpenApiOptions {
  title: string;
  version: string;
  description: string;
  servers?: readonly JsonSchema[];
}

/**
 * One OpenAPI 3.1 document for these connectors (one connector, or all of them for the whole HTTP API).
 *
 * @example
 * ```ts
 * const document = buildOpenApi(await loadCatalog(root), { title: 'Circle Core', version: '0.1.0', description: '' });
 * ```
 */
export function buildOpenApi(connectors: readonly ConnectorEntry[], options: OpenApiOptions): JsonSchema {
  const components = new SchemaComponents();
  components.add('Problem', ProblemSchema, 'output');
  components.add('HealthReport', HealthReportSchema, 'output');
  const statuses = errorStatuses().map((entry) => entry.status);
  const paths: Record<string, JsonSchema> = {};
  for (const connector of connectors) {
    for (const operation of connector.operations) {
      paths[`/${connector.name}/${operation.name}`] = operationItem(
        connector,
        operation,
        components,
        statuses,
      );
    }
    paths[`/${connector.name}/health`] = healthItem(connector);
    for (const route of connector.routes) {
      const item = routeItem(connector, route, statuses);
      paths[route.path] = { ...paths[route.path], ...item };
    }
  }
  return {
    openapi: '3.1.0',
    info: { title: options.title, version: options.version, description: options.description },
    servers: [...(options.servers ?? DEFAULT_SERVERS)],
    security: AUTHORIZED,
    tags: connectors.map((connector) => ({
      name: connector.name,
      description: `${connector.summary} (${connector.category}, version ${connector.version})`,
    })),
    paths,
    components: {
      schemas: components.sorted(),
      responses: problemResponses(),
      parameters: { CorrelationId: CORRELATION_ID, IdempotencyKey: IDEMPOTENCY_KEY },
      securitySchemes: SECURITY_SCHEMES,
    },
  };
}

/** The generated note every document carries. */
const GENERATED =
  'Generated by `npm run docs` from each connector definition (zod schemas via z.toJSONSchema); do not edit.';

/**
 * The document of the whole HTTP API (`docs/openapi.json`, served by the local stack at `/openapi.json`).
 *
 * @example
 * ```ts
 * const document = wholeApiDocument(connectors, '0.1.0');
 * ```
 */
export function wholeApiDocument(
  connectors: readonly ConnectorEntry[],
  version: string,
  servers?: readonly JsonSchema[],
): JsonSchema {
  return buildOpenApi(connectors, {
    title: 'Circle Core HTTP API',
    version,
    description:
      'Every connector operation as `POST /<connector>/<operation>` with its input as the JSON body, ' +
      '`GET /<connector>/health`, and the webhook receivers. Failures are RFC 9457 problems. ' +
      GENERATED,
    ...(servers === undefined ? {} : { servers }),
  });
}

/**
 * The document of one connector (`docs/openapi/<name>.json`).
 *
 * @example
 * ```ts
 * const document = connectorDocument(s3);
 * ```
 */
export function connectorDocument(connector: ConnectorEntry): JsonSchema {
  return buildOpenApi([connector], {
    title: `Circle Core ${connector.name} connector`,
    version: connector.version,
    description: `${connector.summary}. ${GENERATED}`,
  });
}
