/**
 * The local peer each repository function talks to in the benchmark's cold starts (init plus one health
 * call): the local stack's embedded stores (s3rver, PGlite, azurite) and, for SaaS providers, the contract fakes
 * their tests use (the local stack does not serve those yet); its secrets in the benchmark's Secrets
 * Manager, and the settings that point it at them. A function without an entry here fails the benchmark by
 * name: every function must be measured.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FunctionSource } from '../../lib/functions.ts';

/** Where the benchmark keeps secrets (its Secrets Manager fake). */
export interface SecretStore {
  set(name: string, value: string): void;
}

/** What a function's peer adds to its environment, and how to stop it. */
export interface FunctionPeer {
  /** Settings pointing the function at the peer (names from its function.yml). */
  readonly env: Readonly<Record<string, string>>;
  close(): Promise<void>;
}

type PeerStarter = (fn: FunctionSource, secrets: SecretStore) => Promise<FunctionPeer>;

/** A queue URL on a port nothing listens on: sinks are built at init but never called by a health check. */
const UNUSED_QUEUE_URL = 'http://127.0.0.1:9/000000000000/bench-events';

const secretName = (fn: FunctionSource, what: string): string => `circle-core/bench/${fn.name}/${what}`;

/**
 * The local stack's AWS endpoint serving one queue, topic and bus, as `npm start` serves the messaging
 * connectors' resources from their function.yml; `env` names them for one connector.
 */
async function localAwsMessaging(
  env: (aws: { url: string; accountId: string }) => Record<string, string>,
): Promise<FunctionPeer> {
  const [
    { startAwsEndpoint },
    { sqsService },
    { SnsTopics, snsService },
    { EventBuses, eventBridgeService },
    { QueueEngine },
    { createStackLog },
  ] = await Promise.all([
    import('../../local/aws/server.ts'),
    import('../../local/aws/sqs.ts'),
    import('../../local/aws/sns.ts'),
    import('../../local/aws/eventbridge.ts'),
    import('../../local/queues/queue-engine.ts'),
    import('../../local/log.ts'),
  ]);
  const accountId = '000000000000';
  const region = 'us-east-1';
  const services: Parameters<typeof startAwsEndpoint>[0]['services'] = { accountId };
  const aws = await startAwsEndpoint({
    port: 0,
    services,
    log: createStackLog({ pretty: false, write: () => undefined }),
  });
  const queues = new QueueEngine({ region, accountId, baseUrl: aws.url });
  queues.create('bench-messages');
  const topics = new SnsTopics({ region, accountId, deliveries: { queues } });
  topics.create('bench-topic');
  const buses = new EventBuses({ region, accountId, targets: { queues } });
  buses.createBus('bench-bus');
  services.sqs = sqsService(queues);
  services.sns = snsService(topics);
  services.events = eventBridgeService(buses);
  return {
    env: { ...env({ url: aws.url, accountId }), AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' },
    close: () => aws.close(),
  };
}

/** Peers by function name (the key under `function:` in its function.yml). */
const PEERS: Readonly<Record<string, PeerStarter>> = {
  // Athena's JSON API fake on the local stack's AWS endpoint, as `npm start` serves it; the health call is
  // GetWorkGroup (no query runs, so no S3 store is needed).
  athena: async () => {
    const [{ startAwsEndpoint }, { AthenaEngine, athenaService }, { createStackLog }] = await Promise.all([
      import('../../local/aws/server.ts'),
      import('../../local/aws/athena.ts'),
      import('../../local/log.ts'),
    ]);
    const engine = new AthenaEngine({ catalog: { databases: { default: {} } }, s3Endpoint: () => undefined });
    const aws = await startAwsEndpoint({
      port: 0,
      services: { accountId: '000000000000', athena: athenaService(engine) },
      log: createStackLog({ pretty: false, write: () => undefined }),
    });
    return {
      env: { AWS_ENDPOINT_URL_ATHENA: aws.url, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' },
      close: async () => {
        await engine.close();
        await aws.close();
      },
    };
  },
  // DuckDB is embedded: no peer, its spill and source files under a temporary directory. The cold start
  // includes loading the native engine (libduckdb.so) and opening the database during init.
  duckdb: async () => {
    const directory = await mkdtemp(join(tmpdir(), 'circle-bench-duckdb-'));
    return {
      env: { DUCKDB_TEMP_DIRECTORY: directory },
      close: () => rm(directory, { recursive: true, force: true }),
    };
  },
  s3: async () => {
    const { startS3 } = await import('../../local/stores/embedded.ts');
    const directory = await mkdtemp(join(tmpdir(), 'circle-bench-s3-'));
    const s3 = await startS3({ directory, buckets: ['bench-objects'] });
    return {
      // The local stack's s3rver knows its own access key only.
      env: {
        S3_BUCKET: 'bench-objects',
        S3_ENDPOINT: s3.url,
        S3_FORCE_PATH_STYLE: 'true',
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
      },
      close: async () => {
        await s3.close();
        await rm(directory, { recursive: true, force: true });
      },
    };
  },
  // Data Transform reads claim checks from and writes outputs to S3: the local stack's s3rver; health is HeadBucket.
  transform: async () => {
    const { startS3 } = await import('../../local/stores/embedded.ts');
    const directory = await mkdtemp(join(tmpdir(), 'circle-bench-transform-'));
    const s3 = await startS3({ directory, buckets: ['bench-transform'] });
    return {
      env: {
        TRANSFORM_BUCKET: 'bench-transform',
        TRANSFORM_S3_FORCE_PATH_STYLE: 'true',
        AWS_ENDPOINT_URL_S3: s3.url,
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
      },
      close: async () => {
        await s3.close();
        await rm(directory, { recursive: true, force: true });
      },
    };
  },
  postgres: async (fn, secrets) => {
    const { startPostgres } = await import('../../local/stores/embedded.ts');
    const pglite = await startPostgres({ directory: undefined });
    const url = new URL(pglite.url);
    const name = secretName(fn, 'credentials');
    // The production path: the RDS secret JSON read from Secrets Manager during init.
    secrets.set(
      name,
      JSON.stringify({
        username: decodeURIComponent(url.username),
        password: 'bench',
        host: url.hostname,
        port: Number(url.port),
        dbname: url.pathname.slice(1),
        engine: 'postgres',
      }),
    );
    return { env: { PG_SECRET: name, PG_SSL: 'disable' }, close: () => pglite.close() };
  },
  // The local stack's PGlite, which loads pgvector; the health call is `select 1`, as for postgres.
  pgvector: (fn, secrets) =>
    PEERS['postgres']?.(fn, secrets) ?? Promise.reject(new Error('no postgres peer')),
  // No embedded MySQL exists: the machine's MariaDB, the local stack's default (scripts/local/stores/mariadb.ts).
  mysql: async (fn, secrets) => {
    const { localMysqlUrl } = await import('../../local/stores/mariadb.ts');
    const url = new URL(localMysqlUrl(process.env));
    const name = secretName(fn, 'credentials');
    // The production path: the RDS secret JSON read from Secrets Manager during init.
    secrets.set(
      name,
      JSON.stringify({
        username: decodeURIComponent(url.username) || 'root',
        password: decodeURIComponent(url.password),
        host: url.hostname,
        port: Number(url.port || 3306),
        dbname: url.pathname.slice(1) || 'test',
        engine: 'mariadb',
      }),
    );
    return { env: { MYSQL_SECRET: name, MYSQL_SSL: 'disable' }, close: async () => undefined };
  },
  // No embedded Redis exists: the machine's Redis, the local stack's default (scripts/local/stores/redis.ts);
  // the production path, an ACL secret read during init (the machine's default user takes any password).
  redis: async (fn, secrets) => {
    const { localRedisUrl } = await import('../../local/stores/redis.ts');
    const url = new URL(localRedisUrl(process.env));
    const name = secretName(fn, 'credentials');
    secrets.set(name, JSON.stringify({ username: 'default', password: 'bench' }));
    return {
      env: {
        REDIS_HOST: url.hostname,
        REDIS_PORT: url.port || '6379',
        REDIS_TLS: 'disable',
        REDIS_SECRET: name,
        REDIS_KEY_PREFIX: 'circle-core:bench:',
      },
      close: async () => undefined,
    };
  },
  // The AWS messaging connectors: the local stack's own SQS, SNS and EventBridge, health reading each.
  sqs: () =>
    localAwsMessaging(({ url, accountId }) => ({
      SQS_QUEUE_URL: `${url}/${accountId}/bench-messages`,
      AWS_ENDPOINT_URL_SQS: url,
    })),
  sns: () =>
    localAwsMessaging(({ url, accountId }) => ({
      SNS_TOPIC_ARN: `arn:aws:sns:us-east-1:${accountId}:bench-topic`,
      AWS_ENDPOINT_URL_SNS: url,
    })),
  eventbridge: () =>
    localAwsMessaging(({ url }) => ({
      EVENTBRIDGE_BUS_NAME: 'bench-bus',
      AWS_ENDPOINT_URL_EVENTBRIDGE: url,
    })),
  // The broker connectors: the machine's brokers as the local stack serves them (scripts/local/stores/brokers.ts),
  // credentials read from a secret during init; MQTT on the embedded aedes when Mosquitto does not answer.
  rabbitmq: async (fn, secrets) => {
    const name = secretName(fn, 'credentials');
    secrets.set(name, JSON.stringify({ username: 'guest', password: 'guest' }));
    return {
      env: {
        RABBITMQ_HOST: '127.0.0.1',
        RABBITMQ_PORT: '5672',
        RABBITMQ_TLS: 'disable',
        RABBITMQ_SECRET: name,
      },
      close: async () => undefined,
    };
  },
  nats: async (fn, secrets) => {
    const name = secretName(fn, 'credentials');
    secrets.set(name, '{}');
    return {
      env: { NATS_HOST: '127.0.0.1', NATS_PORT: '4222', NATS_TLS: 'disable', NATS_SECRET: name },
      close: async () => undefined,
    };
  },
  mqtt: async (fn, secrets) => {
    const { answers } = await import('../../local/stores/brokers.ts');
    const name = secretName(fn, 'credentials');
    secrets.set(name, '{}');
    const env = { MQTT_HOST: '127.0.0.1', MQTT_TLS: 'disable', MQTT_SECRET: name };
    if (await answers(1883)) {
      return { env: { ...env, MQTT_PORT: '1883', MQTT_PROTOCOL_VERSION: '5' }, close: async () => undefined };
    }
    const { startEmbeddedMqtt } = await import('../../local/stores/aedes.ts');
    const broker = await startEmbeddedMqtt();
    return {
      env: { ...env, MQTT_PORT: String(broker.port), MQTT_PROTOCOL_VERSION: '4' },
      close: broker.close,
    };
  },
  // dynalite with the function's own table, as the local stack creates it from function.yml.
  dynamodb: async () => {
    const { startDynamo } = await import('../../local/stores/embedded.ts');
    const table = 'bench-key-value';
    const dynamo = await startDynamo({
      directory: undefined,
      region: 'us-east-1',
      tables: [
        {
          logicalId: 'DynamodbTable',
          name: table,
          properties: {
            BillingMode: 'PAY_PER_REQUEST',
            AttributeDefinitions: [
              { AttributeName: 'pk', AttributeType: 'S' },
              { AttributeName: 'sk', AttributeType: 'S' },
            ],
            KeySchema: [
              { AttributeName: 'pk', KeyType: 'HASH' },
              { AttributeName: 'sk', KeyType: 'RANGE' },
            ],
          },
        },
      ],
    });
    return {
      env: {
        DYNAMODB_TABLE: table,
        AWS_ENDPOINT_URL_DYNAMODB: dynamo.url,
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
      },
      close: () => dynamo.close(),
    };
  },
  // azurite, as the local stack serves it; the credential read from Secrets Manager during init.
  'azure-blob': async (fn, secrets) => {
    const { AZURITE_ACCOUNT, startAzurite } = await import('../../local/stores/azurite.ts');
    const azurite = await startAzurite({
      containers: [{ account: AZURITE_ACCOUNT.name, name: 'bench-objects' }],
    });
    const name = secretName(fn, 'credentials');
    secrets.set(name, JSON.stringify({ accountName: AZURITE_ACCOUNT.name, accountKey: AZURITE_ACCOUNT.key }));
    return {
      env: {
        AZURE_BLOB_CONTAINER: 'bench-objects',
        AZURE_BLOB_SECRET: name,
        AZURE_BLOB_ENDPOINT: `${azurite.url}/${AZURITE_ACCOUNT.name}`,
      },
      close: () => azurite.close(),
    };
  },
  // The GCS contract fake: a service account of the fake's own, its key file naming the fake's token endpoint.
  gcs: async (fn, secrets) => {
    const { newServiceAccount, startGcsFake } = await import('../../local/sandboxes/gcs.ts');
    const gcs = await startGcsFake({ buckets: ['bench-objects'] });
    const account = newServiceAccount('bench@circle-core-bench.iam.gserviceaccount.com', `${gcs.url}/token`);
    gcs.state.accounts.set(account.email, account.publicKey);
    secrets.set(secretName(fn, 'service-account'), account.keyFile);
    return {
      env: {
        GCS_API_URL: gcs.url,
        GCS_BUCKET: 'bench-objects',
        GCS_CREDENTIALS_SECRET: secretName(fn, 'service-account'),
      },
      close: () => gcs.close(),
    };
  },
  slack: async (fn, secrets) => {
    const { DEFAULT_SLACK_TOKEN, startSlackFake } = await import('../../local/sandboxes/slack.ts');
    const slack = await startSlackFake();
    secrets.set(secretName(fn, 'bot-token'), DEFAULT_SLACK_TOKEN);
    secrets.set(secretName(fn, 'signing-secret'), randomBytes(16).toString('hex'));
    return {
      env: {
        SLACK_API_URL: slack.url,
        SLACK_BOT_TOKEN_SECRET: secretName(fn, 'bot-token'),
        SLACK_SIGNING_SECRET_SECRET: secretName(fn, 'signing-secret'),
        SLACK_STATE_TABLE: 'bench-slack-state',
        SLACK_EVENTS_QUEUE_URL: UNUSED_QUEUE_URL,
      },
      close: () => slack.close(),
    };
  },
  github: async (fn, secrets) => {
    const { startGitHubFake } = await import('../../local/sandboxes/github.ts');
    const token = `ghp_${randomBytes(16).toString('hex')}`;
    const github = await startGitHubFake({ tokens: [token] });
    secrets.set(secretName(fn, 'token'), token);
    secrets.set(secretName(fn, 'webhook-secret'), randomBytes(16).toString('hex'));
    return {
      env: {
        GITHUB_API_URL: github.baseUrl,
        GITHUB_AUTH: 'token',
        GITHUB_TOKEN_SECRET: secretName(fn, 'token'),
        GITHUB_WEBHOOK_SECRET_SECRET: secretName(fn, 'webhook-secret'),
        GITHUB_STATE_TABLE: 'bench-github-state',
        GITHUB_EVENTS_QUEUE_URL: UNUSED_QUEUE_URL,
      },
      close: () => github.close(),
    };
  },
  jira: async (fn, secrets) => {
    const { JIRA_SANDBOX_SECRET, startJiraFake } = await import('../../local/sandboxes/jira.ts');
    const jira = await startJiraFake();
    secrets.set(secretName(fn, 'credentials'), JIRA_SANDBOX_SECRET);
    secrets.set(secretName(fn, 'webhook-secret'), randomBytes(16).toString('hex'));
    return {
      env: {
        JIRA_API_URL: jira.url,
        JIRA_SITE_URL: jira.url,
        JIRA_AUTH: 'basic',
        JIRA_CREDENTIALS_SECRET: secretName(fn, 'credentials'),
        JIRA_WEBHOOK_SECRET_SECRET: secretName(fn, 'webhook-secret'),
        JIRA_STATE_TABLE: 'bench-jira-state',
        JIRA_EVENTS_QUEUE_URL: UNUSED_QUEUE_URL,
      },
      close: () => jira.close(),
    };
  },
  pagerduty: async (fn, secrets) => {
    const { PAGERDUTY_SANDBOX_ROUTING_KEY, PAGERDUTY_SANDBOX_TOKEN, startPagerDutyFake } = await import(
      '../../local/sandboxes/pagerduty.ts'
    );
    const pagerduty = await startPagerDutyFake();
    secrets.set(secretName(fn, 'api-key'), PAGERDUTY_SANDBOX_TOKEN);
    secrets.set(secretName(fn, 'routing-key'), PAGERDUTY_SANDBOX_ROUTING_KEY);
    secrets.set(secretName(fn, 'webhook-secret'), randomBytes(16).toString('hex'));
    return {
      env: {
        PAGERDUTY_API_URL: pagerduty.url,
        PAGERDUTY_EVENTS_API_URL: pagerduty.url,
        PAGERDUTY_FROM_EMAIL: 'oncall-bot@example.com',
        PAGERDUTY_TOKEN_SECRET: secretName(fn, 'api-key'),
        PAGERDUTY_ROUTING_KEY_SECRET: secretName(fn, 'routing-key'),
        PAGERDUTY_WEBHOOK_SECRET_SECRET: secretName(fn, 'webhook-secret'),
        PAGERDUTY_STATE_TABLE: 'bench-pagerduty-state',
        PAGERDUTY_EVENTS_QUEUE_URL: UNUSED_QUEUE_URL,
      },
      close: () => pagerduty.close(),
    };
  },
  gitlab: async (fn, secrets) => {
    const { GITLAB_SANDBOX_TOKEN, startGitlabFake } = await import('../../local/sandboxes/gitlab.ts');
    const gitlab = await startGitlabFake();
    secrets.set(secretName(fn, 'token'), GITLAB_SANDBOX_TOKEN);
    secrets.set(secretName(fn, 'webhook-secret'), randomBytes(16).toString('hex'));
    return {
      env: {
        GITLAB_API_URL: `${gitlab.url}/api/v4`,
        GITLAB_AUTH: 'token',
        GITLAB_TOKEN_SECRET: secretName(fn, 'token'),
        GITLAB_WEBHOOK_SECRET_SECRET: secretName(fn, 'webhook-secret'),
        GITLAB_STATE_TABLE: 'bench-gitlab-state',
        GITLAB_EVENTS_QUEUE_URL: UNUSED_QUEUE_URL,
      },
      close: () => gitlab.close(),
    };
  },
  // The model connectors: their contract fakes (deterministic models), the key read from a secret during init.
  openai: async (fn, secrets) => {
    const { OPENAI_SANDBOX_TOKEN, startOpenaiFake } = await import('../../local/sandboxes/openai.ts');
    const openai = await startOpenaiFake();
    secrets.set(secretName(fn, 'api-key'), OPENAI_SANDBOX_TOKEN);
    return {
      env: { OPENAI_API_URL: `${openai.url}/v1`, OPENAI_API_KEY_SECRET: secretName(fn, 'api-key') },
      close: () => openai.close(),
    };
  },
  qdrant: async (fn, secrets) => {
    const { QDRANT_SANDBOX_KEY, startQdrantFake } = await import('../../local/sandboxes/qdrant.ts');
    const qdrant = await startQdrantFake();
    secrets.set(secretName(fn, 'api-key'), QDRANT_SANDBOX_KEY);
    return {
      env: { QDRANT_API_URL: qdrant.url, QDRANT_API_KEY_SECRET: secretName(fn, 'api-key') },
      close: () => qdrant.close(),
    };
  },
  pinecone: async (fn, secrets) => {
    const { PINECONE_SANDBOX_KEY, startPineconeFake } = await import('../../local/sandboxes/pinecone.ts');
    const pinecone = await startPineconeFake();
    secrets.set(secretName(fn, 'api-key'), PINECONE_SANDBOX_KEY);
    return {
      env: { PINECONE_API_URL: pinecone.url, PINECONE_API_KEY_SECRET: secretName(fn, 'api-key') },
      close: () => pinecone.close(),
    };
  },
  anthropic: async (fn, secrets) => {
    const { ANTHROPIC_SANDBOX_TOKEN, startAnthropicFake } = await import(
      '../../local/sandboxes/anthropic.ts'
    );
    const anthropic = await startAnthropicFake();
    secrets.set(secretName(fn, 'api-key'), ANTHROPIC_SANDBOX_TOKEN);
    return {
      env: { ANTHROPIC_API_URL: `${anthropic.url}/v1`, ANTHROPIC_API_KEY_SECRET: secretName(fn, 'api-key') },
      close: () => anthropic.close(),
    };
  },
  oidc: async (fn, secrets) => {
    const { OIDC_SANDBOX_TOKEN, startOidcFake } = await import('../../local/sandboxes/oidc.ts');
    const issuer = await startOidcFake();
    secrets.set(secretName(fn, 'client'), OIDC_SANDBOX_TOKEN);
    return {
      env: { OIDC_API_URL: issuer.url, OIDC_CLIENT_SECRET: secretName(fn, 'client') },
      close: () => issuer.close(),
    };
  },
  twilio: async (fn, secrets) => {
    const { TWILIO_SANDBOX_FROM, TWILIO_SANDBOX_SECRET, startTwilioFake } = await import(
      '../../local/sandboxes/twilio.ts'
    );
    const twilio = await startTwilioFake();
    secrets.set(secretName(fn, 'credentials'), TWILIO_SANDBOX_SECRET);
    return {
      env: {
        TWILIO_API_URL: twilio.url,
        TWILIO_CREDENTIALS_SECRET: secretName(fn, 'credentials'),
        TWILIO_FROM_NUMBER: TWILIO_SANDBOX_FROM,
        TWILIO_STATE_TABLE: 'bench-twilio-state',
        TWILIO_EVENTS_QUEUE_URL: UNUSED_QUEUE_URL,
      },
      close: () => twilio.close(),
    };
  },
  stripe: async (fn, secrets) => {
    const { STRIPE_SANDBOX_TOKEN, STRIPE_SANDBOX_WEBHOOK_SECRET, startStripeFake } = await import(
      '../../local/sandboxes/stripe.ts'
    );
    const stripe = await startStripeFake();
    secrets.set(secretName(fn, 'api-key'), STRIPE_SANDBOX_TOKEN);
    secrets.set(secretName(fn, 'webhook-secret'), STRIPE_SANDBOX_WEBHOOK_SECRET);
    return {
      env: {
        STRIPE_API_URL: `${stripe.url}/v1`,
        STRIPE_TOKEN_SECRET: secretName(fn, 'api-key'),
        STRIPE_WEBHOOK_SECRET_SECRET: secretName(fn, 'webhook-secret'),
        STRIPE_STATE_TABLE: 'bench-stripe-state',
        STRIPE_EVENTS_QUEUE_URL: UNUSED_QUEUE_URL,
      },
      close: () => stripe.close(),
    };
  },
  fhir: async (fn, secrets) => {
    const { FHIR_SANDBOX_TOKEN, startFhirFake } = await import('../../local/sandboxes/fhir.ts');
    const fhir = await startFhirFake();
    secrets.set(secretName(fn, 'credentials'), FHIR_SANDBOX_TOKEN);
    return {
      // The base URL as the local stack gives it (the fake serves FHIR under /fhir); the health call reads
      // the CapabilityStatement.
      env: {
        FHIR_API_URL: `${fhir.url}/fhir`,
        FHIR_AUTH: 'bearer',
        FHIR_CREDENTIALS_SECRET: secretName(fn, 'credentials'),
      },
      close: () => fhir.close(),
    };
  },
  // SES v2 on the local stack's AWS endpoint, as `npm start` serves it; the health call is GetAccount.
  ses: async () => {
    const [{ startAwsEndpoint }, { SesMail, sesService }, { createStackLog }] = await Promise.all([
      import('../../local/aws/server.ts'),
      import('../../local/aws/ses.ts'),
      import('../../local/log.ts'),
    ]);
    const accountId = '000000000000';
    const mail = new SesMail({ region: 'us-east-1', accountId, identities: ['example.com'] });
    const aws = await startAwsEndpoint({
      port: 0,
      services: { accountId, ses: sesService(mail) },
      log: createStackLog({ pretty: false, write: () => undefined }),
    });
    return {
      env: { AWS_ENDPOINT_URL_SESV2: aws.url, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' },
      close: () => aws.close(),
    };
  },
  // The IoT Core data plane on the local stack's AWS endpoint, as `npm start` serves it; the health call reads
  // a shadow (a 404 proves the endpoint and the signature), so the broker is never reached.
  'iot-core': async () => {
    const [{ startAwsEndpoint }, { IotDataPlane, iotDataService, mqttBroker }, { createStackLog }] =
      await Promise.all([
        import('../../local/aws/server.ts'),
        import('../../local/aws/iot-data.ts'),
        import('../../local/log.ts'),
      ]);
    const broker = mqttBroker('mqtt://127.0.0.1:1883');
    const aws = await startAwsEndpoint({
      port: 0,
      services: { accountId: '000000000000', iotData: iotDataService(new IotDataPlane({ broker })) },
      log: createStackLog({ pretty: false, write: () => undefined }),
    });
    return {
      env: { IOT_DATA_ENDPOINT: aws.url, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' },
      close: async () => {
        await aws.close();
        await broker.close();
      },
    };
  },
  // Snowflake's SQL API v2 fake (SQL on DuckDB); the sandbox key pair signs the key-pair JWTs.
  snowflake: async (fn, secrets) => {
    const { sandboxKeyPair, startSnowflakeFake } = await import('../../local/sandboxes/snowflake.ts');
    const snowflake = await startSnowflakeFake();
    secrets.set(secretName(fn, 'private-key'), sandboxKeyPair().privateKey);
    return {
      env: {
        SNOWFLAKE_API_URL: snowflake.url,
        SNOWFLAKE_ACCOUNT: 'BENCH',
        SNOWFLAKE_USER: 'CIRCLE_CORE',
        SNOWFLAKE_PRIVATE_KEY_SECRET: secretName(fn, 'private-key'),
      },
      close: () => snowflake.close(),
    };
  },
  // Graph and the Workflows webhook on one fake; the health call gets an app-only token and reads the team.
  teams: async (fn, secrets) => {
    const {
      TEAMS_SANDBOX_SECRET,
      TEAMS_SANDBOX_TEAM,
      TEAMS_SANDBOX_TENANT,
      startTeamsFake,
      teamsWebhookUrl,
    } = await import('../../local/sandboxes/teams.ts');
    const teams = await startTeamsFake();
    secrets.set(secretName(fn, 'credentials'), TEAMS_SANDBOX_SECRET);
    secrets.set(secretName(fn, 'webhooks'), teamsWebhookUrl(teams.url));
    return {
      env: {
        TEAMS_API_URL: `${teams.url}/v1.0`,
        TEAMS_LOGIN_URL: teams.url,
        TEAMS_TENANT_ID: TEAMS_SANDBOX_TENANT,
        TEAMS_TEAM_ID: TEAMS_SANDBOX_TEAM,
        TEAMS_CREDENTIALS_SECRET: secretName(fn, 'credentials'),
        TEAMS_WEBHOOKS_SECRET: secretName(fn, 'webhooks'),
      },
      close: () => teams.close(),
    };
  },
  // The GraphQL fake executing the documents sent; the health call is a query of the shop.
  shopify: async (fn, secrets) => {
    const { SHOPIFY_SANDBOX_TOKEN, SHOPIFY_SANDBOX_WEBHOOK_SECRET, startShopifyFake } = await import(
      '../../local/sandboxes/shopify.ts'
    );
    const shopify = await startShopifyFake();
    secrets.set(secretName(fn, 'access-token'), SHOPIFY_SANDBOX_TOKEN);
    secrets.set(secretName(fn, 'webhook-secret'), SHOPIFY_SANDBOX_WEBHOOK_SECRET);
    return {
      env: {
        SHOPIFY_API_URL: new URL('/admin/api', shopify.url).href,
        SHOPIFY_TOKEN_SECRET: secretName(fn, 'access-token'),
        SHOPIFY_WEBHOOK_SECRET_SECRET: secretName(fn, 'webhook-secret'),
        SHOPIFY_STATE_TABLE: 'bench-shopify-state',
        SHOPIFY_EVENTS_QUEUE_URL: UNUSED_QUEUE_URL,
      },
      close: () => shopify.close(),
    };
  },
  // Bedrock: an AWS service reached through its endpoint setting; the fake accepts the bench's access key.
  bedrock: async () => {
    const { BEDROCK_SANDBOX_ACCESS_KEY, startBedrockFake } = await import('../../local/sandboxes/bedrock.ts');
    const bedrock = await startBedrockFake();
    // The function signs with its role's keys: the bench's own unless the peer names the sandbox's.
    return {
      env: { BEDROCK_ENDPOINT_URL: bedrock.url, AWS_ACCESS_KEY_ID: BEDROCK_SANDBOX_ACCESS_KEY },
      close: () => bedrock.close(),
    };
  },
};

/**
 * The coordination table (core: coordination) of the functions whose function.yml sets
 * `CIRCLE_COORDINATION_TABLE`: one dynalite holding each named table (string key `pk`), as the local stack
 * creates them, pointed at by `AWS_ENDPOINT_URL_DYNAMODB`. A health call's shared rate budget then makes
 * the UpdateItem it makes when deployed, instead of failing fast on the closed port of `AWS_ENDPOINT_URL`.
 *
 * @example
 * ```ts
 * const coordination = await startCoordinationPeer(['CoordinationTable']);
 * coordination.env; // { AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:...' }
 * ```
 */
export async function startCoordinationPeer(tables: readonly string[]): Promise<FunctionPeer> {
  const { startDynamo } = await import('../../local/stores/embedded.ts');
  const dynamo = await startDynamo({
    directory: undefined,
    region: 'us-east-1',
    tables: tables.map((name) => ({
      logicalId: name,
      name,
      properties: {
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      },
    })),
  });
  return { env: { AWS_ENDPOINT_URL_DYNAMODB: dynamo.url }, close: () => dynamo.close() };
}

/**
 * Starts the peer of every function, in parallel; fails naming any function that has none.
 *
 * @example
 * ```ts
 * const peers = await startPeers(functions, secretsFake);
 * peers.get('s3')?.env; // { S3_BUCKET: 'bench-objects', S3_ENDPOINT: 'http://127.0.0.1:...', ... }
 * ```
 */
export async function startPeers(
  functions: readonly FunctionSource[],
  secrets: SecretStore,
): Promise<Map<string, FunctionPeer>> {
  const missing = functions.filter((fn) => PEERS[fn.name] === undefined).map((fn) => fn.name);
  if (missing.length > 0) {
    throw new Error(
      `no benchmark peer for function ${missing.join(', ')}: add one to scripts/bench/lib/peers.ts`,
    );
  }
  // Two at a time (this machine has 2 cores), and a second try for a peer that did not start: started all
  // at once, the peers' processes (s3rver, azurite, ...) competed with each other and with the machine's
  // other work for the CPU, and one could miss its start timeout (s3rver 15 s, azurite 30 s).
  const started: PromiseSettledResult<readonly [string, FunctionPeer]>[] = [];
  const queue = [...functions];
  const start = (fn: FunctionSource): Promise<FunctionPeer> => (PEERS[fn.name] as PeerStarter)(fn, secrets);
  const worker = async (): Promise<void> => {
    for (let fn = queue.shift(); fn !== undefined; fn = queue.shift()) {
      const current = fn;
      started.push(
        await start(current)
          .catch(() => start(current))
          .then(
            (peer) => ({ status: 'fulfilled', value: [current.name, peer] as const }),
            (reason: unknown) => ({ status: 'rejected', reason }),
          ),
      );
    }
  };
  await Promise.all([worker(), worker()]);
  const peers = new Map<string, FunctionPeer>();
  for (const outcome of started) if (outcome.status === 'fulfilled') peers.set(...outcome.value);
  const failed = started.find((outcome) => outcome.status === 'rejected');
  if (failed !== undefined) {
    await Promise.allSettled([...peers.values()].map((peer) => peer.close()));
    throw failed.reason;
  }
  return peers;
}
