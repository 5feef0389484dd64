/**
 * The aws kit's DynamoDB item calls on the direct path (DynamoDB's JSON 1.0 protocol signed by hand)
 * against dynalite, DynamoDB's protocol on 127.0.0.1, cross-checked with the SDK's document client on the
 * same items; error answers and retries against a scripted server.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTable, type DynalitePeer, startDynalite } from '../../../../test/peers/dynalite.ts';
import { ConfigurationError, ConflictError, RateLimitedError, UnavailableError } from '../errors.ts';
import { resetCircuitBreakers } from '../http/circuit-breaker.ts';
import {
  AttributeValueError,
  directDynamoDbItems,
  documentClientItems,
  fromAttributeValue,
  toAttributeValue,
} from './dynamodb.ts';
import { awsErrorName } from './errors.ts';
import { awsServiceEndpoint, DYNAMODB_SERVICE } from './json-service.ts';

const TABLE = 'items-test';
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
let dynamo: DynalitePeer;
let sdk: DynamoDBDocumentClient;

/** Lambda's environment, pointed at `endpoint`. */
const lambdaEnv = (endpoint: string): NodeJS.ProcessEnv => ({
  AWS_ACCESS_KEY_ID: 'ASIATESTKEY',
  AWS_SECRET_ACCESS_KEY: 'test-secret-access-key',
  AWS_SESSION_TOKEN: 'test-session-token',
  AWS_REGION: 'us-east-1',
  AWS_ENDPOINT_URL_DYNAMODB: endpoint,
});

function direct(endpoint = dynamo.endpoint, env = lambdaEnv(endpoint)) {
  const items = directDynamoDbItems({}, env);
  if (items === undefined) throw new Error('the direct path should serve this environment');
  return items;
}

beforeAll(async () => {
  dynamo = await startDynalite();
  await createTable(dynamo.endpoint, TABLE);
  sdk = DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint: dynamo.endpoint, region: 'us-east-1', credentials }),
  );
});

afterAll(async () => {
  sdk.destroy();
  await dynamo.close();
});

beforeEach(() => {
  resetCircuitBreakers();
});

describe('Function: awsServiceEndpoint (DynamoDB)', () => {
  it.each([
    [{ AWS_REGION: 'eu-west-1' }, 'https://dynamodb.eu-west-1.amazonaws.com'],
    [{ AWS_DEFAULT_REGION: 'cn-north-1' }, 'https://dynamodb.cn-north-1.amazonaws.com.cn'],
    [{ AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL: 'http://a:1' }, 'http://a:1'],
    [
      { AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL: 'http://a:1', AWS_ENDPOINT_URL_DYNAMODB: 'http://d:2' },
      'http://d:2',
    ],
    // The other service's variable is not DynamoDB's.
    [
      { AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL_SECRETS_MANAGER: 'http://s:3' },
      'https://dynamodb.us-east-1.amazonaws.com',
    ],
    [
      {
        AWS_REGION: 'us-east-1',
        AWS_ENDPOINT_URL_DYNAMODB: 'http://d:2',
        AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true',
      },
      'https://dynamodb.us-east-1.amazonaws.com',
    ],
  ])('resolves %o to %s', (env, url) => {
    expect(awsServiceEndpoint(DYNAMODB_SERVICE, env)?.url).toBe(url);
  });

  it.each([
    {},
    { AWS_REGION: 'us-east-1', AWS_USE_FIPS_ENDPOINT: 'true' },
    { AWS_REGION: 'us-east-1', AWS_USE_DUALSTACK_ENDPOINT: 'true' },
    { AWS_REGION: 'us-isob-east-1' },
  ])('leaves %o to the SDK', (env) => {
    expect(awsServiceEndpoint(DYNAMODB_SERVICE, env)).toBeUndefined();
    expect(directDynamoDbItems({}, { ...env, AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b' })).toBe(
      undefined,
    );
  });

  it('leaves an environment without credentials to the SDK', () => {
    const { AWS_SECRET_ACCESS_KEY: _secret, ...env } = lambdaEnv('http://127.0.0.1:9');
    expect(directDynamoDbItems({}, env)).toBeUndefined();
  });
});

describe('Function: toAttributeValue / fromAttributeValue', () => {
  const every = {
    s: 'text ✓',
    empty: '',
    n: 42,
    negative: -7.25,
    tiny: 1e-7,
    max: Number.MAX_SAFE_INTEGER,
    yes: true,
    no: false,
    nothing: null,
    bytes: new Uint8Array([0, 1, 254, 255]),
    list: [1, 'two', [false], { three: 3 }],
    map: { nested: { deeper: ['x'] }, empty: {} },
  };

  it('marshals every stored type as DynamoDB writes it', () => {
    // Act
    const marshalled = toAttributeValue({
      s: 'a',
      n: 1.5,
      b: true,
      z: null,
      bin: new Uint8Array([1, 2]),
      l: [1],
      m: { k: 'v' },
    });

    // Assess
    expect(marshalled).toEqual({
      M: {
        s: { S: 'a' },
        n: { N: '1.5' },
        b: { BOOL: true },
        z: { NULL: true },
        bin: { B: 'AQI=' },
        l: { L: [{ N: '1' }] },
        m: { M: { k: { S: 'v' } } },
      },
    });
  });

  it('round-trips every type through dynalite, and agrees with the SDK both ways', async () => {
    // Prepare
    const items = direct();

    try {
      // Act
      await items.putItem(TABLE, { pk: 'every-direct', ...every }, {});
      await sdk.send(new PutCommand({ TableName: TABLE, Item: { pk: 'every-sdk', ...every } }));
      const directRead = await items.getItem(TABLE, { pk: 'every-sdk' });
      const { Item: sdkRead } = await sdk.send(
        new GetCommand({ TableName: TABLE, Key: { pk: 'every-direct' }, ConsistentRead: true }),
      );
      const own = await items.getItem(TABLE, { pk: 'every-direct' });

      // Assess
      expect(own).toEqual({ pk: 'every-direct', ...every });
      expect(directRead).toEqual({ pk: 'every-sdk', ...every });
      expect(sdkRead).toEqual({ pk: 'every-direct', ...every });
      expect(own?.['bytes']).toBeInstanceOf(Uint8Array);
    } finally {
      items.close();
    }
  });

  it.each([
    [Number.NaN, 'value.n: DynamoDB cannot store NaN'],
    [Number.POSITIVE_INFINITY, 'value.n: DynamoDB cannot store Infinity'],
    [2 ** 53, 'value.n: 9007199254740992 is beyond Number.MAX_SAFE_INTEGER'],
    [undefined, 'value.n: undefined cannot be stored'],
    [new Date(0), 'value.n: a Date cannot be stored'],
    [new Set(['a']), 'value.n: a Set cannot be stored'],
    [10n, 'value.n: bigint cannot be stored'],
  ])('refuses %o with a message naming the field', (value, message) => {
    expect(() => toAttributeValue({ n: value })).toThrow(AttributeValueError);
    expect(() => toAttributeValue({ n: value })).toThrow(message);
  });

  it('refuses to read a number it would round, or a value it does not know', () => {
    expect(() => fromAttributeValue({ N: '9007199254740993' }, 'Item.n')).toThrow(
      'Item.n: 9007199254740993 is beyond Number.MAX_SAFE_INTEGER',
    );
    expect(() => fromAttributeValue({ X: 1 }, 'Item.x')).toThrow(
      'Item.x: unreadable attribute value of type X',
    );
    expect(fromAttributeValue({ NS: ['1', '2'] })).toEqual(new Set([1, 2]));
  });

  it('names a value it refuses before anything is sent', async () => {
    // Prepare
    const items = direct('http://127.0.0.1:9');

    try {
      // Act
      const error = await items
        .updateItem(TABLE, { pk: 'x' }, 'SET n = :n', { values: { ':n': Number.NaN } })
        .catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(AttributeValueError);
      expect((error as Error).message).toBe('ExpressionAttributeValues.:n: DynamoDB cannot store NaN');
    } finally {
      items.close();
    }
  });
});

describe('Function: directDynamoDbItems', () => {
  it('gets, updates with and without a condition, and puts conditionally, as the SDK path does', async () => {
    // Prepare
    const items = direct();
    const viaSdk = documentClientItems(sdk);
    const outcome = (write: Promise<void>) =>
      write.then(
        () => 'made',
        (error: unknown) => {
          if (!(error instanceof ConflictError)) throw error;
          return awsErrorName(error.cause);
        },
      );

    try {
      // Act
      const absent = await items.getItem(TABLE, { pk: 'counter' });
      const first = await outcome(
        items.updateItem(TABLE, { pk: 'counter' }, 'ADD #n :one', {
          names: { '#n': 'n' },
          values: { ':one': 1 },
        }),
      );
      const guarded = (limit: number) =>
        items.updateItem(TABLE, { pk: 'counter' }, 'ADD #n :one', {
          condition: '#n < :limit',
          names: { '#n': 'n' },
          values: { ':one': 1, ':limit': limit },
        });
      const second = await outcome(guarded(2));
      const refused = await outcome(guarded(2));
      const sdkRefused = await outcome(
        viaSdk.updateItem(TABLE, { pk: 'counter' }, 'ADD #n :one', {
          condition: '#n < :limit',
          names: { '#n': 'n' },
          values: { ':one': 1, ':limit': 2 },
        }),
      );
      const put = (value: string) =>
        items.putItem(TABLE, { pk: 'once', value }, { condition: 'attribute_not_exists(pk)' });
      const putFirst = await outcome(put('first'));
      const putAgain = await outcome(put('second'));

      // Assess
      expect(absent).toBeUndefined();
      expect([first, second, refused, sdkRefused]).toEqual([
        'made',
        'made',
        'ConditionalCheckFailedException',
        'ConditionalCheckFailedException',
      ]);
      expect(await items.getItem(TABLE, { pk: 'counter' })).toEqual({ pk: 'counter', n: 2 });
      expect([putFirst, putAgain]).toEqual(['made', 'ConditionalCheckFailedException']);
      expect(await viaSdk.getItem(TABLE, { pk: 'once' })).toEqual({ pk: 'once', value: 'first' });
    } finally {
      items.close();
    }
  });

  it('maps a missing table as the SDK path does: a ConfigurationError naming the cause', async () => {
    // Prepare
    const items = direct();

    try {
      // Act
      const directError = await items.getItem('absent', { pk: 'a' }).catch((e: unknown) => e);
      const sdkError = await documentClientItems(sdk)
        .getItem('absent', { pk: 'a' })
        .catch((e: unknown) => e);

      // Assess
      expect(directError).toBeInstanceOf(ConfigurationError);
      expect((directError as Error).message).toBe((sdkError as Error).message);
      expect((directError as Error).message).toBe(
        'DynamoDB GetItem failed (ResourceNotFoundException): the table does not exist',
      );
    } finally {
      items.close();
    }
  });

  it('fails fast as unavailable when nothing listens', async () => {
    // Prepare
    const items = direct('http://127.0.0.1:9');

    try {
      // Act
      const error = await items.getItem(TABLE, { pk: 'a' }).catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(UnavailableError);
      expect((error as Error).message).toBe('DynamoDB GetItem failed (ECONNREFUSED)');
    } finally {
      items.close();
    }
  });
});

describe('Function: directDynamoDbItems against a scripted server', () => {
  interface Seen {
    headers: IncomingMessage['headers'];
    body: string;
  }
  type Reply = (res: ServerResponse) => void;
  const seen: Seen[] = [];
  let replies: Reply[] = [];
  let endpoint = '';
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    seen.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
    (replies.shift() ?? ((r: ServerResponse) => r.writeHead(500).end()))(res);
  });
  const answer =
    (status: number, body: unknown): Reply =>
    (res) => {
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': 'req-1' });
      res.end(JSON.stringify(body));
    };
  const throttled = answer(400, {
    __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
    message: 'Rate exceeded',
  });

  beforeAll(async () => {
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    server.close();
    await once(server, 'close');
  });

  beforeEach(() => {
    seen.length = 0;
    replies = [];
  });

  it('sends one signed JSON 1.0 request per action, the item marshalled', async () => {
    // Prepare
    replies = [answer(200, {})];
    const items = direct(endpoint);

    try {
      // Act
      await items.updateItem(TABLE, { pk: 'rate#acme#1' }, 'ADD #n :one', {
        condition: '#n < :limit',
        names: { '#n': 'n' },
        values: { ':one': 1, ':limit': 5 },
      });

      // Assess
      const [request] = seen;
      expect(request?.headers['content-type']).toBe('application/x-amz-json-1.0');
      expect(request?.headers['x-amz-target']).toBe('DynamoDB_20120810.UpdateItem');
      expect(request?.headers['authorization']).toMatch(
        /^AWS4-HMAC-SHA256 Credential=ASIATESTKEY\/\d{8}\/us-east-1\/dynamodb\/aws4_request, SignedHeaders=/,
      );
      expect(request?.headers['x-amz-security-token']).toBe('test-session-token');
      expect(JSON.parse(request?.body ?? '')).toEqual({
        TableName: TABLE,
        Key: { pk: { S: 'rate#acme#1' } },
        UpdateExpression: 'ADD #n :one',
        ConditionExpression: '#n < :limit',
        ExpressionAttributeNames: { '#n': 'n' },
        ExpressionAttributeValues: { ':one': { N: '1' }, ':limit': { N: '5' } },
      });
    } finally {
      items.close();
    }
  });

  it('retries throttling and a 500 with the same invocation id, as the SDK does', async () => {
    // Prepare
    replies = [throttled, answer(500, { __type: 'InternalServerError', message: 'boom' }), answer(200, {})];
    const items = direct(endpoint);

    try {
      // Act
      await items.updateItem(TABLE, { pk: 'a' }, 'SET n = :n', { values: { ':n': 1 } });

      // Assess
      expect(seen).toHaveLength(3);
      const ids = new Set(seen.map((s) => s.headers['amz-sdk-invocation-id']));
      expect(ids.size).toBe(1);
    } finally {
      items.close();
    }
  });

  it('gives up after three attempts with the AWS error mapped, never the request', async () => {
    // Prepare
    replies = [throttled, throttled, throttled];
    const items = direct(endpoint);

    try {
      // Act
      const error = await items
        .updateItem(TABLE, { pk: 'token#acme#secret-looking-key' }, 'SET v = :v', {
          values: { ':v': 'tok-123' },
        })
        .catch((e: unknown) => e);

      // Assess
      expect(seen).toHaveLength(3);
      expect(error).toBeInstanceOf(RateLimitedError);
      expect((error as Error).message).toBe(
        'DynamoDB UpdateItem failed (ProvisionedThroughputExceededException)',
      );
      expect(JSON.stringify((error as RateLimitedError).details)).not.toContain('tok-123');
    } finally {
      items.close();
    }
  });

  it('reads the credentials from the environment on every request', async () => {
    // Prepare
    replies = [answer(200, {}), answer(200, {})];
    const env = lambdaEnv(endpoint);
    const items = direct(endpoint, env);

    try {
      // Act
      await items.getItem(TABLE, { pk: 'a' });
      env['AWS_ACCESS_KEY_ID'] = 'ASIAROTATEDKEY';
      env['AWS_SESSION_TOKEN'] = 'rotated-session-token';
      await items.getItem(TABLE, { pk: 'a' });

      // Assess
      expect(seen.map((s) => String(s.headers['authorization']).split('/')[0])).toEqual([
        'AWS4-HMAC-SHA256 Credential=ASIATESTKEY',
        'AWS4-HMAC-SHA256 Credential=ASIAROTATEDKEY',
      ]);
      expect(seen[1]?.headers['x-amz-security-token']).toBe('rotated-session-token');
    } finally {
      items.close();
    }
  });
});
