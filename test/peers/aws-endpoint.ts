/**
 * The local stack's own AWS endpoint (`scripts/local/aws/server.ts`) as a test peer, in-process on an
 * ephemeral port: SQS, SNS, EventBridge, Secrets Manager and Step Functions served by the same engines
 * `npm start` runs (the queue engine, the topics, the event buses, the secret store in a temporary folder,
 * the Step Functions engine), spoken to by the real AWS SDK clients. What tests need on top: a call log,
 * injected AWS errors, and secrets set from the test.
 *
 * Point a client at it with `AWS_ENDPOINT_URL_SQS` / `_SNS` / `_EVENTBRIDGE` / `_SFN` /
 * `_SECRETS_MANAGER=<endpoint>` (plus AWS_REGION and dummy credentials) before the client is built.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBuses, eventBridgeService } from '../../scripts/local/aws/eventbridge.ts';
import type { IotDataService } from '../../scripts/local/aws/iot-data.ts';
import { AwsError, type JsonService } from '../../scripts/local/aws/protocol.ts';
import type { QueryService } from '../../scripts/local/aws/query.ts';
import { secretsManagerService } from '../../scripts/local/aws/secrets-manager.ts';
import { startAwsEndpoint } from '../../scripts/local/aws/server.ts';
import { SnsTopics, snsService } from '../../scripts/local/aws/sns.ts';
import { sqsService } from '../../scripts/local/aws/sqs.ts';
import { stepFunctionsService } from '../../scripts/local/aws/step-functions.ts';
import { createStackLog } from '../../scripts/local/log.ts';
import { QueueEngine } from '../../scripts/local/queues/queue-engine.ts';
import { SecretStore } from '../../scripts/local/stores/secret-store.ts';
import { StepFunctionsEngine } from '../../scripts/local/workflows/step-functions.ts';

/**
 * One call: `AmazonSQS.SendMessage`, `AWSStepFunctions.StartExecution`, `secretsmanager.GetSecretValue`,
 * `AWSEvents.PutEvents`, `sns.Publish` (SNS: the form fields as the body), ...
 */
export interface AwsCall {
  target: string;
  body: Record<string, unknown>;
}

/** An AWS error to answer instead of the service. */
export interface AwsFailure {
  /** `__type`, e.g. `ThrottlingException`, `AccessDeniedException`, `InvalidParameterValue`. */
  type: string;
  /** Default 400. */
  status?: number;
  /** How many calls answer it; default 1. */
  times?: number;
}

export interface AwsEndpointPeerOptions {
  /** Secrets to start with (name -> SecretString). */
  secrets?: Record<string, string>;
  /** Queues to create (a `.fifo` name makes a FIFO queue). */
  queues?: string[];
  /** SNS topics to create (a `.fifo` name makes a FIFO topic with content-based deduplication). */
  topics?: string[];
  /** EventBridge buses to create besides `default`. */
  buses?: string[];
  /** State machines to create, each one `Succeed` state (a started execution ends at once). */
  stateMachines?: string[];
  /**
   * Create a queue or state machine the first time a call names it (by URL or ARN), as the hand-written
   * fakes accepted any. Off by default: AWS answers QueueDoesNotExist / StateMachineDoesNotExist.
   */
  createOnUse?: boolean;
  /** Default the local stack's `000000000000`. */
  accountId?: string;
  /** Default `AWS_REGION` or `us-east-1`. */
  region?: string;
  /** Athena's JSON API too (e.g. `athenaService(engine)`), observed as `AmazonAthena.<Operation>`. */
  athena?: JsonService;
  /** The IoT Core data plane too (e.g. `iotDataService(plane)`, REST JSON signed for `iotdata`). */
  iotData?: IotDataService;
}

export interface AwsEndpointPeer {
  /** e.g. `http://127.0.0.1:41234`. */
  endpoint: string;
  /** Calls the services answered, in order. */
  calls: AwsCall[];
  /** Calls answered with an AWS error (injected or the service's own), in order. */
  failed: AwsCall[];
  /** The SecretId of every GetSecretValue, answered or not, in order (tests may clear it). */
  secretReads: string[];
  /** The next `times` calls of `target` (e.g. `AmazonSQS.SendMessage`) answer this AWS error. */
  failNext(target: string, failure: AwsFailure): void;
  /**
   * Creates or replaces a secret's value (a rotation). Every call that arrives after `setSecret` returned
   * sees it, awaited or not.
   */
  setSecret(name: string, value: string): Promise<void>;
  queueUrl(name: string): string;
  queueArn(name: string): string;
  topicArn(name: string): string;
  /** The SNS topics (subscribe queues to them from a test). */
  topics: SnsTopics;
  /** The EventBridge buses (add rules and targets from a test). */
  buses: EventBuses;
  stateMachineArn(name: string): string;
  /** How many messages a queue holds: visible, in flight (received, not deleted) and delayed. */
  queueCounts(name: string): { visible: number; inFlight: number; delayed: number };
  close(): Promise<void>;
}

const SUCCEED = { StartAt: 'Done', States: { Done: { Type: 'Succeed' } } };

/** The resource a call names, for `createOnUse`: a queue name or a state machine name. */
function namedResource(target: string, body: Record<string, unknown>): { queue?: string; machine?: string } {
  if (target.startsWith('AmazonSQS.') && typeof body['QueueUrl'] === 'string') {
    return { queue: body['QueueUrl'].split('/').filter(Boolean).pop() ?? '' };
  }
  if (target === 'AWSStepFunctions.StartExecution' && typeof body['stateMachineArn'] === 'string') {
    return { machine: body['stateMachineArn'].slice(body['stateMachineArn'].lastIndexOf(':') + 1) };
  }
  return {};
}

/**
 * Starts the endpoint with the three services.
 *
 * @example
 * ```ts
 * const aws = await startAwsEndpointPeer({ secrets: { 'test/slack/token': 'xoxb-test' }, queues: ['events'] });
 * process.env['AWS_ENDPOINT_URL_SQS'] = aws.endpoint;
 * aws.failNext('AmazonSQS.SendMessage', { type: 'InvalidParameterValue' });
 * ```
 */
export async function startAwsEndpointPeer(options: AwsEndpointPeerOptions = {}): Promise<AwsEndpointPeer> {
  const region = options.region ?? process.env['AWS_REGION'] ?? 'us-east-1';
  const accountId = options.accountId ?? '000000000000';
  const log = createStackLog({ pretty: false, write: () => undefined });
  const dir = await mkdtemp(join(tmpdir(), 'circle-core-aws-'));
  const store = new SecretStore(join(dir, 'secrets.json'));
  for (const [name, value] of Object.entries(options.secrets ?? {})) await store.put(name, { value });
  const queues = new QueueEngine({ region, accountId, baseUrl: 'http://127.0.0.1' });
  const machines = new StepFunctionsEngine({ region, accountId, invoke: async () => undefined, log });
  const createQueue = (name: string) =>
    queues.create(
      name,
      name.endsWith('.fifo') ? { FifoQueue: 'true', ContentBasedDeduplication: 'true' } : {},
    );
  for (const name of options.queues ?? []) createQueue(name);
  const topics = new SnsTopics({ region, accountId, deliveries: { queues } });
  for (const name of options.topics ?? []) {
    topics.create(
      name,
      name.endsWith('.fifo') ? { FifoTopic: 'true', ContentBasedDeduplication: 'true' } : {},
    );
  }
  const buses = new EventBuses({
    region,
    accountId,
    targets: { queues, publish: (arn, message) => topics.publish(arn, { message, attributes: {} }) },
  });
  for (const name of options.buses ?? []) buses.createBus(name);
  for (const name of options.stateMachines ?? []) machines.create(name, SUCCEED);

  const calls: AwsCall[] = [];
  const failed: AwsCall[] = [];
  const secretReads: string[] = [];
  const failures: Array<{ target: string; type: string; status: number; left: number }> = [];
  // Writes a test started without awaiting: every call waits for them first.
  let writes: Promise<unknown> = Promise.resolve();

  /** The injected failure for `target`, counted down, or undefined. */
  const takeFailure = (target: string): AwsError | undefined => {
    const failure = failures.find((entry) => entry.target === target);
    if (failure === undefined) return undefined;
    failure.left -= 1;
    if (failure.left <= 0) failures.splice(failures.indexOf(failure), 1);
    return new AwsError(failure.type, `Injected ${failure.type}`, { status: failure.status });
  };

  const createNamed = (call: AwsCall): void => {
    const named = namedResource(call.target, call.body);
    if (named.queue !== undefined && queues.get(named.queue) === undefined) createQueue(named.queue);
    if (named.machine !== undefined && !machines.machines().some((m) => m.name === named.machine)) {
      machines.create(named.machine, SUCCEED);
    }
  };

  const observed =
    (prefix: string, service: JsonService): JsonService =>
    async (request) => {
      await writes;
      const call = { target: `${prefix}.${request.operation}`, body: request.body };
      if (call.target === 'secretsmanager.GetSecretValue')
        secretReads.push(String(request.body['SecretId'] ?? ''));
      const injected = takeFailure(call.target);
      if (injected !== undefined) {
        failed.push(call);
        throw injected;
      }
      if (options.createOnUse === true) createNamed(call);
      try {
        const answer = await service(request);
        calls.push(call);
        return answer;
      } catch (error) {
        failed.push(call);
        throw error;
      }
    };

  const observedQuery =
    (service: QueryService): QueryService =>
    async (request) => {
      await writes;
      const call = { target: `sns.${request.action}`, body: request.params as Record<string, unknown> };
      const injected = takeFailure(call.target);
      if (injected !== undefined) {
        failed.push(call);
        throw injected;
      }
      try {
        const answer = await service(request);
        calls.push(call);
        return answer;
      } catch (error) {
        failed.push(call);
        throw error;
      }
    };

  const endpoint = await startAwsEndpoint({
    port: 0,
    log,
    services: {
      accountId,
      sqs: observed('AmazonSQS', sqsService(queues)),
      secretsManager: observed('secretsmanager', secretsManagerService(store, region)),
      stepFunctions: observed('AWSStepFunctions', stepFunctionsService(machines)),
      events: observed('AWSEvents', eventBridgeService(buses)),
      sns: observedQuery(snsService(topics)),
      ...(options.athena === undefined ? {} : { athena: observed('AmazonAthena', options.athena) }),
      ...(options.iotData === undefined ? {} : { iotData: options.iotData }),
    },
  });
  queues.setBaseUrl(endpoint.url);

  return {
    endpoint: endpoint.url,
    calls,
    failed,
    secretReads,
    failNext: (target, failure) => {
      failures.push({ target, type: failure.type, status: failure.status ?? 400, left: failure.times ?? 1 });
    },
    setSecret: (name, value) => {
      const write = writes.then(() => store.put(name, { value }));
      writes = write.catch(() => undefined);
      return write.then(() => undefined);
    },
    queueUrl: (name) => `${endpoint.url}/${accountId}/${name}`,
    queueArn: (name) => `arn:aws:sqs:${region}:${accountId}:${name}`,
    topicArn: (name) => topics.arnOf(name),
    topics,
    buses,
    stateMachineArn: (name) => machines.arnOf(name),
    queueCounts: (name) => queues.byUrl(name).counts(),
    close: async () => {
      await endpoint.close();
      // A secret write still under way (set without awaiting) would refill the folder while it is removed.
      await writes;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
