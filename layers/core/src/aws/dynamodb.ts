/**
 * The DynamoDB item calls the core itself makes (the coordination table, the delivery ledger): GetItem,
 * UpdateItem and PutItem with conditions, behind one interface with two ways to send them.
 *
 * - Direct ({@link directDynamoDbItems}): DynamoDB's JSON 1.0 protocol signed by hand through the aws kit's
 *   {@link awsJsonClient}, with the attribute values marshalled here. Lambda's SDK (`@aws-sdk/client-dynamodb`
 *   and `@aws-sdk/lib-dynamodb`) is never loaded: building it costs 45-75 ms of CPU on the first call of
 *   every container.
 * - The SDK ({@link documentClientItems}): a document client, for a client the caller injects and for
 *   environments the direct path cannot serve (no credentials in the environment, FIPS or dual-stack
 *   endpoints, partitions it does not know).
 *
 * Both throw the same errors: the AWS or Node failure mapped by {@link awsFailure} with the action named,
 * its `cause` the AWS error (`awsErrorName(error.cause) === 'ConditionalCheckFailedException'` for a
 * condition that did not hold).
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { awsCall } from './call.ts';
import { type AwsClientSettings, createAwsClient } from './client.ts';
import { awsFailure } from './errors.ts';
import {
  type AwsJsonClient,
  type AwsJsonClientOptions,
  awsJsonClient,
  DYNAMODB_SERVICE,
} from './json-service.ts';

/** A JS value as DynamoDB stores it. */
export type AttributeValue =
  | { S: string }
  | { N: string }
  | { BOOL: boolean }
  | { NULL: true }
  | { B: string }
  | { M: Record<string, AttributeValue> }
  | { L: AttributeValue[] }
  | { SS: string[] }
  | { NS: string[] }
  | { BS: string[] };

/** A value that cannot be stored or read back as this path marshals them. */
export class AttributeValueError extends Error {
  override readonly name = 'AttributeValueError';
}

function numberText(value: number, path: string): string {
  if (!Number.isFinite(value)) throw new AttributeValueError(`${path}: DynamoDB cannot store ${value}`);
  if (Number.isInteger(value) && !Number.isSafeInteger(value)) {
    throw new AttributeValueError(
      `${path}: ${value} is beyond Number.MAX_SAFE_INTEGER and would lose precision`,
    );
  }
  return String(value);
}

function isPlainObject(value: object): boolean {
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/**
 * A JS value as an attribute value: strings `S`, numbers `N` (as text), booleans `BOOL`, null `NULL`,
 * `Uint8Array` `B` (base64 on the wire), arrays `L`, plain objects `M`. Anything else (undefined, NaN,
 * Infinity, integers beyond 2^53, class instances, sets) is refused with the path of the value, as the
 * SDK's document client refuses them.
 *
 * @example
 * ```ts
 * toAttributeValue({ n: 1, tags: ['a'] }); // { M: { n: { N: '1' }, tags: { L: [{ S: 'a' }] } } }
 * ```
 */
export function toAttributeValue(value: unknown, path = 'value'): AttributeValue {
  switch (typeof value) {
    case 'string':
      return { S: value };
    case 'number':
      return { N: numberText(value, path) };
    case 'boolean':
      return { BOOL: value };
    case 'object': {
      if (value === null) return { NULL: true };
      if (value instanceof Uint8Array) return { B: Buffer.from(value).toString('base64') };
      if (Array.isArray(value)) return { L: value.map((item, i) => toAttributeValue(item, `${path}[${i}]`)) };
      if (isPlainObject(value)) return { M: marshallItem(value as Record<string, unknown>, path) };
      throw new AttributeValueError(`${path}: a ${value.constructor?.name ?? 'object'} cannot be stored`);
    }
    default:
      throw new AttributeValueError(`${path}: ${typeof value} cannot be stored`);
  }
}

/**
 * Every field of `item` as an attribute value ({@link toAttributeValue}).
 *
 * @example
 * ```ts
 * marshallItem({ pk: 'a', n: 1 }); // { pk: { S: 'a' }, n: { N: '1' } }
 * ```
 */
export function marshallItem(item: Record<string, unknown>, path = 'item'): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const [name, value] of Object.entries(item)) out[name] = toAttributeValue(value, `${path}.${name}`);
  return out;
}

function readNumber(text: unknown, path: string): number {
  const value = typeof text === 'string' ? Number(text) : Number.NaN;
  if (!Number.isFinite(value)) throw new AttributeValueError(`${path}: ${String(text)} is not a number`);
  if (Number.isInteger(value) && !Number.isSafeInteger(value)) {
    throw new AttributeValueError(
      `${path}: ${text} is beyond Number.MAX_SAFE_INTEGER and would lose precision`,
    );
  }
  return value;
}

function readList(value: unknown, path: string): unknown[] {
  if (!Array.isArray(value)) throw new AttributeValueError(`${path}: a list was expected`);
  return value;
}

/**
 * An attribute value as a JS value: the inverse of {@link toAttributeValue}; `N` becomes a number (refused
 * beyond 2^53), `B` a `Uint8Array`, the sets `SS`/`NS`/`BS` a `Set`.
 *
 * @example
 * ```ts
 * fromAttributeValue({ N: '42' }); // 42
 * ```
 */
export function fromAttributeValue(value: unknown, path = 'value'): unknown {
  if (typeof value !== 'object' || value === null) {
    throw new AttributeValueError(`${path}: not an attribute value`);
  }
  const [type, inner] = Object.entries(value)[0] ?? [];
  switch (type) {
    case 'S':
      if (typeof inner === 'string') return inner;
      break;
    case 'N':
      return readNumber(inner, path);
    case 'BOOL':
      if (typeof inner === 'boolean') return inner;
      break;
    case 'NULL':
      return null;
    case 'B':
      if (typeof inner === 'string') return new Uint8Array(Buffer.from(inner, 'base64'));
      break;
    case 'M':
      if (typeof inner === 'object' && inner !== null && !Array.isArray(inner)) {
        return unmarshallItem(inner as Record<string, unknown>, path);
      }
      break;
    case 'L':
      return readList(inner, path).map((item, i) => fromAttributeValue(item, `${path}[${i}]`));
    case 'SS':
      return new Set(readList(inner, path).map(String));
    case 'NS':
      return new Set(readList(inner, path).map((n, i) => readNumber(n, `${path}[${i}]`)));
    case 'BS':
      return new Set(readList(inner, path).map((b) => new Uint8Array(Buffer.from(String(b), 'base64'))));
  }
  throw new AttributeValueError(`${path}: unreadable attribute value of type ${type ?? 'none'}`);
}

/**
 * Every attribute of a DynamoDB item as a JS value ({@link fromAttributeValue}).
 *
 * @example
 * ```ts
 * unmarshallItem({ pk: { S: 'a' }, n: { N: '1' } }); // { pk: 'a', n: 1 }
 * ```
 */
export function unmarshallItem(item: Record<string, unknown>, path = 'item'): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(item)) out[name] = fromAttributeValue(value, `${path}.${name}`);
  return out;
}

/** An UpdateItem or PutItem's condition, with the names and values its expressions use. */
export interface ItemCondition {
  /** Absent: the write always applies. */
  condition?: string | undefined;
  names?: Record<string, string> | undefined;
  values?: Record<string, unknown> | undefined;
}

/** The item calls of the coordination table and the delivery ledger. */
export interface DynamoDbItems {
  /** The item under `key`, read strongly consistent, or undefined. */
  getItem(table: string, key: Record<string, unknown>): Promise<Record<string, unknown> | undefined>;
  /** Applies `update` to the item under `key` when the condition holds (else a ConflictError). */
  updateItem(
    table: string,
    key: Record<string, unknown>,
    update: string,
    change: ItemCondition,
  ): Promise<void>;
  /** Writes `item` when the condition holds (else a ConflictError). */
  putItem(table: string, item: Record<string, unknown>, change: ItemCondition): Promise<void>;
}

/** The condition fields of a request, present only when given. */
function conditionFields<V>(change: ItemCondition, values: (v: Record<string, unknown>) => V) {
  return {
    ...(change.condition === undefined ? {} : { ConditionExpression: change.condition }),
    ...(change.names === undefined ? {} : { ExpressionAttributeNames: change.names }),
    ...(change.values === undefined ? {} : { ExpressionAttributeValues: values(change.values) }),
  };
}

// Loaded on first use of the SDK path only.
let documents: Promise<typeof import('@aws-sdk/lib-dynamodb')> | undefined;
const documentModule = () => {
  documents ??= import('@aws-sdk/lib-dynamodb');
  return documents;
};

/**
 * A DynamoDB document client built by the AWS kit (timeouts, attempts, tracing).
 *
 * @example
 * ```ts
 * const dynamo = await createDocumentClient('github');
 * ```
 */
export async function createDocumentClient(
  connector: string,
  settings: AwsClientSettings = {},
): Promise<DynamoDBDocumentClient> {
  const [{ DynamoDBClient }, { DynamoDBDocumentClient: DocumentClient }] = await Promise.all([
    import('@aws-sdk/client-dynamodb'),
    documentModule(),
  ]);
  return DocumentClient.from(await createAwsClient(DynamoDBClient, connector, settings));
}

/**
 * The item calls through an SDK document client, each within the invocation's time ({@link awsCall}).
 *
 * @example
 * ```ts
 * const items = documentClientItems(await createDocumentClient('github'));
 * ```
 */
export function documentClientItems(client: DynamoDBDocumentClient): DynamoDbItems {
  const identity = (values: Record<string, unknown>) => values;
  return {
    async getItem(table, key) {
      const { GetCommand } = await documentModule();
      const get = new GetCommand({ TableName: table, Key: key, ConsistentRead: true });
      const { Item } = await awsCall({ service: 'DynamoDB', action: 'GetItem' }, (abortSignal) =>
        client.send(get, { abortSignal }),
      );
      return Item;
    },
    async updateItem(table, key, update, change) {
      const { UpdateCommand } = await documentModule();
      const command = new UpdateCommand({
        TableName: table,
        Key: key,
        UpdateExpression: update,
        ...conditionFields(change, identity),
      });
      await awsCall({ service: 'DynamoDB', action: 'UpdateItem' }, (abortSignal) =>
        client.send(command, { abortSignal }),
      );
    },
    async putItem(table, item, change) {
      const { PutCommand } = await documentModule();
      const command = new PutCommand({ TableName: table, Item: item, ...conditionFields(change, identity) });
      await awsCall({ service: 'DynamoDB', action: 'PutItem' }, (abortSignal) =>
        client.send(command, { abortSignal }),
      );
    },
  };
}

/** Sends one action; a failure is mapped as the SDK path maps it, with the action named. */
async function sendDirect(
  client: AwsJsonClient,
  action: string,
  input: () => Record<string, unknown>,
): Promise<Record<string, unknown>> {
  // A value that cannot be marshalled is the caller's bug: an AttributeValueError naming it, nothing sent.
  const body = input();
  try {
    return await client.send(action, body);
  } catch (error) {
    throw awsFailure({ service: 'DynamoDB', action }, error);
  }
}

/**
 * The item calls in DynamoDB's JSON 1.0 protocol, signed by hand, or `undefined` when the environment
 * holds no credentials or no endpoint the direct path can resolve (`AWS_ENDPOINT_URL_DYNAMODB`,
 * `AWS_ENDPOINT_URL`, else `https://dynamodb.<region>.amazonaws.com` in a standard partition): then the SDK
 * serves ({@link documentClientItems}). Credentials are read from the environment on every request.
 *
 * @example
 * ```ts
 * const items = directDynamoDbItems() ?? documentClientItems(await createDocumentClient('github'));
 * await items.updateItem('coordination', { pk: 'rate#github#1' }, 'ADD n :one', { values: { ':one': 1 } });
 * ```
 */
export function directDynamoDbItems(
  options: AwsJsonClientOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): (DynamoDbItems & { close(): void }) | undefined {
  const client = awsJsonClient(DYNAMODB_SERVICE, options, env);
  if (client === undefined) return undefined;
  const values = (v: Record<string, unknown>) => marshallItem(v, 'ExpressionAttributeValues');
  return {
    async getItem(table, key) {
      const answer = await sendDirect(client, 'GetItem', () => ({
        TableName: table,
        Key: marshallItem(key, 'Key'),
        ConsistentRead: true,
      }));
      const item = answer['Item'];
      if (typeof item !== 'object' || item === null) return undefined;
      return unmarshallItem(item as Record<string, unknown>, 'Item');
    },
    async updateItem(table, key, update, change) {
      await sendDirect(client, 'UpdateItem', () => ({
        TableName: table,
        Key: marshallItem(key, 'Key'),
        UpdateExpression: update,
        ...conditionFields(change, values),
      }));
    },
    async putItem(table, item, change) {
      await sendDirect(client, 'PutItem', () => ({
        TableName: table,
        Item: marshallItem(item, 'Item'),
        ...conditionFields(change, values),
      }));
    },
    close: () => client.close(),
  };
}

/** A document client, or a function building one on first use. */
export type DocumentClientSource = DynamoDBDocumentClient | (() => Promise<DynamoDBDocumentClient>);

/**
 * The item calls a core component uses, built once on first use: through `client` when one is given (the
 * SDK), else the direct path when the environment allows it, else a document client of the AWS kit. A
 * failed build is tried again on the next call.
 *
 * @example
 * ```ts
 * const items = lazyDynamoDbItems('github');
 * const item = await (await items()).getItem('coordination', { pk: 'token#github#42' });
 * ```
 */
export function lazyDynamoDbItems(
  connector: string,
  client?: DocumentClientSource,
  env: NodeJS.ProcessEnv = process.env,
): () => Promise<DynamoDbItems> {
  let items: Promise<DynamoDbItems> | undefined;
  const build = async (): Promise<DynamoDbItems> => {
    if (client === undefined) {
      const direct = directDynamoDbItems({}, env);
      if (direct !== undefined) return direct;
    }
    const source = client ?? (() => createDocumentClient(connector));
    return documentClientItems(typeof source === 'function' ? await source() : source);
  };
  return () => {
    items ??= build().catch((error: unknown) => {
      items = undefined;
      throw error;
    });
    return items;
  };
}
