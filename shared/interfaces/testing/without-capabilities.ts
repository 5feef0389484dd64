/**
 * Test doubles that offer none of an interface's optional capabilities: each wraps a working
 * implementation, declares an empty capability set and checks every call that needs a capability the way
 * an implementation without it must (`requireCapability`, so a `NotSupportedError`) before handing the
 * call on, so the conformance suites' refusal tests run (test/conformance). Everything else is the wrapped
 * implementation's own behaviour.
 */
import { parseInput } from '@circle-core/core';
import { DeleteValueInput, PutValueInput, PutValuesInput } from '../../models/key-value.ts';
import { PublishBatchInput, PublishInput } from '../../models/message-publisher.ts';
import type {
  CopyObjectInput,
  CopyObjectOutput,
  GetObjectInput,
  GetObjectOutput,
  HeadObjectOutput,
  ObjectRef,
  PresignUrlInput,
  PresignUrlOutput,
  PutObjectInput,
} from '../../models/object-storage.ts';
import type { GetFileInput, ListIssuesInput, RepositoryFile } from '../../models/source-control.ts';
import type { ExecuteInput, ExecuteOutput } from '../../models/sql-database.ts';
import type { StartQueryInput } from '../../models/warehouse-query.ts';
import { requireCapability } from '../capabilities.ts';
import type { IssueTracker, IssueTrackerCapability } from '../issue-tracker.ts';
import type { KeyValueCapability, KeyValueStore } from '../key-value.ts';
import {
  checkBatch,
  checkMessage,
  checkReceive,
  type MessagePublisher,
  type MessagePublisherCapability,
} from '../message-publisher.ts';
import type { Notifier, NotifierCapability } from '../notifier.ts';
import type { ObjectStorage, ObjectStorageCapability } from '../object-storage.ts';
import type { SourceControl, SourceControlCapability } from '../source-control.ts';
import type { SqlDatabase, SqlDatabaseCapability } from '../sql-database.ts';
import type { WarehouseQuery, WarehouseQueryCapability } from '../warehouse-query.ts';

const NAME = 'this implementation';

/**
 * An object store without `presign`, `copy`, `metadata` or `conditional-write`: user metadata is not kept,
 * an object beyond `maxBytes` is refused instead of answered with a URL, copies, presigned URLs and
 * `onlyIfAbsent` writes are refused.
 *
 * @example
 * ```ts
 * const plain = objectStorageWithoutCapabilities(new S3ObjectStorage(options));
 * await plain.copyObject({ sourceKey: 'a', key: 'b' }); // NotSupportedError
 * ```
 */
export function objectStorageWithoutCapabilities(inner: ObjectStorage): ObjectStorage {
  const store: ObjectStorage = {
    capabilities: new Set<ObjectStorageCapability>(),
    putObject: async ({ metadata: _dropped, ...input }: PutObjectInput) => {
      if (input.onlyIfAbsent === true) requireCapability(store, 'conditional-write', NAME);
      return inner.putObject(input);
    },
    getObject: async (input: GetObjectInput): Promise<GetObjectOutput> => {
      const got = await inner.getObject(input);
      if (got.tooLarge) requireCapability(store, 'presign', NAME);
      return got;
    },
    headObject: (input: ObjectRef): Promise<HeadObjectOutput> => inner.headObject(input),
    listObjects: (input) => inner.listObjects(input),
    deleteObject: (input) => inner.deleteObject(input),
    copyObject: async (input: CopyObjectInput): Promise<CopyObjectOutput> => {
      requireCapability(store, 'copy', NAME);
      return inner.copyObject(input);
    },
    presignUrl: async (input: PresignUrlInput): Promise<PresignUrlOutput> => {
      requireCapability(store, 'presign', NAME);
      return inner.presignUrl(input);
    },
  };
  return store;
}

/**
 * A notifier without `threads`, `blocks`, `update`, `channels` or `user-lookup`: it posts plain text.
 *
 * @example
 * ```ts
 * const plain = notifierWithoutCapabilities(new SlackClient(options));
 * await plain.postMessage({ channel: 'C1', text: 'hi', threadTs: '1.2' }); // NotSupportedError
 * ```
 */
export function notifierWithoutCapabilities(inner: Notifier): Notifier {
  const notifier: Notifier = {
    capabilities: new Set<NotifierCapability>(),
    postMessage: async (input) => {
      if (input.blocks !== undefined) requireCapability(notifier, 'blocks', NAME);
      if (input.threadTs !== undefined) requireCapability(notifier, 'threads', NAME);
      return inner.postMessage(input);
    },
    updateMessage: async (input) => {
      requireCapability(notifier, 'update', NAME);
      return inner.updateMessage(input);
    },
    listChannels: async (input) => {
      requireCapability(notifier, 'channels', NAME);
      return inner.listChannels(input);
    },
    findUserByEmail: async (input) => {
      requireCapability(notifier, 'user-lookup', NAME);
      return inner.findUserByEmail(input);
    },
  };
  return notifier;
}

/**
 * A source control client without `labels`, `assignees`, `since-filter`, `binary-files` or
 * `pull-requests-as-issues`: labels, assignees, `since` and binary files are refused, and pull requests
 * are never listed (there is nothing to include).
 *
 * @example
 * ```ts
 * const plain = sourceControlWithoutCapabilities(new GitHubClient(options));
 * await plain.listIssues({ owner: 'o', repo: 'r', since: '2025-01-01T00:00:00Z' }); // NotSupportedError
 * ```
 */
export function sourceControlWithoutCapabilities(inner: SourceControl): SourceControl {
  const client: SourceControl = {
    capabilities: new Set<SourceControlCapability>(),
    createIssue: async (input) => {
      if ((input.labels ?? []).length > 0) requireCapability(client, 'labels', NAME);
      if ((input.assignees ?? []).length > 0) requireCapability(client, 'assignees', NAME);
      return inner.createIssue(input);
    },
    commentOnIssue: (input) => inner.commentOnIssue(input),
    listIssues: async (input: ListIssuesInput) => {
      if ((input.labels ?? []).length > 0) requireCapability(client, 'labels', NAME);
      if (input.since !== undefined) requireCapability(client, 'since-filter', NAME);
      return inner.listIssues({ ...input, includePullRequests: false });
    },
    getFile: async (input: GetFileInput): Promise<RepositoryFile> => {
      const file = await inner.getFile(input);
      if (file.encoding === 'base64') requireCapability(client, 'binary-files', NAME);
      return file;
    },
  };
  return client;
}

/**
 * A SQL database client without `transactions`, `bulk-insert` or `read-only`: `execute` is refused;
 * `insertRows` stays atomic, as the interface asks of every client.
 *
 * @example
 * ```ts
 * const plain = sqlDatabaseWithoutCapabilities(new PostgresClient(options));
 * await plain.execute({ statements: [{ sql: 'select 1' }] }); // NotSupportedError
 * ```
 */
export function sqlDatabaseWithoutCapabilities(inner: SqlDatabase): SqlDatabase {
  const db: SqlDatabase = {
    capabilities: new Set<SqlDatabaseCapability>(),
    query: (input) => inner.query(input),
    execute: async (input: ExecuteInput): Promise<ExecuteOutput> => {
      requireCapability(db, 'transactions', NAME);
      return inner.execute(input);
    },
    insertRows: (input) => inner.insertRows(input),
    listTables: (input) => inner.listTables(input),
    describeTable: (input) => inner.describeTable(input),
    close: () => inner.close(),
  };
  return db;
}

/**
 * A message publisher without `attributes`, `ordering`, `deduplication` or `pull`: it publishes bodies
 * only, as EventBridge and MQTT 3.1.1 do, and refuses every pull; `maxReceive` is 0.
 *
 * @example
 * ```ts
 * const plain = messagePublisherWithoutCapabilities(rabbit);
 * await plain.publish({ body: '{}', orderingKey: 'g' }); // NotSupportedError
 * ```
 */
export function messagePublisherWithoutCapabilities(inner: MessagePublisher): MessagePublisher {
  const publisher: MessagePublisher = {
    capabilities: new Set<MessagePublisherCapability>(),
    limits: { ...inner.limits, maxReceive: 0 },
    publish: async (input) => {
      checkMessage(publisher, parseInput(PublishInput, input), NAME);
      return inner.publish(input);
    },
    publishBatch: async (input) => {
      checkBatch(publisher, parseInput(PublishBatchInput, input).entries, NAME);
      return inner.publishBatch(input);
    },
    receive: async (input) => {
      checkReceive(publisher, input?.maxMessages, NAME);
      return inner.receive(input);
    },
    acknowledge: async (input) => {
      checkReceive(publisher, undefined, NAME);
      return inner.acknowledge(input);
    },
    release: async (input) => {
      checkReceive(publisher, undefined, NAME);
      return inner.release(input);
    },
  };
  return publisher;
}

/**
 * A key-value store without `ttl`, `conditional-writes`, `increment` or `prefix-list`: plain reads and
 * unconditional writes without expiry. Input is validated first, so a bad input is still a ValidationError.
 *
 * @example
 * ```ts
 * const plain = keyValueStoreWithoutCapabilities(await DynamodbKeyValueStore.create(options));
 * await plain.putValue({ key: 'a', value: 1, onlyIfAbsent: true }); // NotSupportedError
 * ```
 */
export function keyValueStoreWithoutCapabilities(inner: KeyValueStore): KeyValueStore {
  const store: KeyValueStore = {
    capabilities: new Set<KeyValueCapability>(),
    getValue: (input) => inner.getValue(input),
    getValues: (input) => inner.getValues(input),
    putValue: async (raw) => {
      const input = parseInput(PutValueInput, raw);
      if (input.ttlSeconds !== undefined) requireCapability(store, 'ttl', NAME);
      if (input.onlyIfAbsent === true || input.ifVersion !== undefined) {
        requireCapability(store, 'conditional-writes', NAME);
      }
      return inner.putValue(input);
    },
    putValues: async (raw) => {
      const input = parseInput(PutValuesInput, raw);
      if (input.items.some((item) => item.ttlSeconds !== undefined)) requireCapability(store, 'ttl', NAME);
      return inner.putValues(input);
    },
    deleteValue: async (raw) => {
      const input = parseInput(DeleteValueInput, raw);
      if (input.ifVersion !== undefined) requireCapability(store, 'conditional-writes', NAME);
      return inner.deleteValue(input);
    },
    listKeys: async (input) => {
      requireCapability(store, 'prefix-list', NAME);
      return inner.listKeys(input);
    },
    incrementValue: async (input) => {
      requireCapability(store, 'increment', NAME);
      return inner.incrementValue(input);
    },
  };
  return store;
}

/**
 * An issue tracker without `labels`, `assignees`, `issue-types`, `custom-statuses`, `text-search` or
 * `native-query`: plain issues opened and closed, searched by project and state.
 *
 * @example
 * ```ts
 * const plain = issueTrackerWithoutCapabilities(new JiraClient(options));
 * await plain.transitionIssue({ project: 'OPS', key: 'OPS-1', status: 'In Progress' }); // NotSupportedError
 * ```
 */
export function issueTrackerWithoutCapabilities(inner: IssueTracker): IssueTracker {
  const tracker: IssueTracker = {
    capabilities: new Set<IssueTrackerCapability>(),
    createIssue: async (input) => {
      if (input.labels !== undefined) requireCapability(tracker, 'labels', NAME);
      if (input.assignee !== undefined) requireCapability(tracker, 'assignees', NAME);
      if (input.issueType !== undefined) requireCapability(tracker, 'issue-types', NAME);
      return inner.createIssue(input);
    },
    getIssue: (input) => inner.getIssue(input),
    updateIssue: async (input) => {
      if (input.labels !== undefined) requireCapability(tracker, 'labels', NAME);
      if (input.assignee !== undefined) requireCapability(tracker, 'assignees', NAME);
      return inner.updateIssue(input);
    },
    commentOnIssue: (input) => inner.commentOnIssue(input),
    transitionIssue: async (input) => {
      if (input.status !== undefined && input.state === undefined) {
        requireCapability(tracker, 'custom-statuses', NAME);
      }
      return inner.transitionIssue(input);
    },
    searchIssues: async (input) => {
      if (input.labels !== undefined) requireCapability(tracker, 'labels', NAME);
      if (input.text !== undefined) requireCapability(tracker, 'text-search', NAME);
      if (input.query !== undefined) requireCapability(tracker, 'native-query', NAME);
      return inner.searchIssues(input);
    },
  };
  return tracker;
}

/**
 * A warehouse without `query-timeout` (as Athena, whose limit is the workgroup's) or `file-queries`: a
 * start that gives `timeoutSeconds` is refused.
 *
 * @example
 * ```ts
 * const plain = warehouseQueryWithoutCapabilities(duckdb);
 * await plain.startQuery({ sql: 'select 1', timeoutSeconds: 5 }); // NotSupportedError
 * ```
 */
export function warehouseQueryWithoutCapabilities(inner: WarehouseQuery): WarehouseQuery {
  const warehouse: WarehouseQuery = {
    capabilities: new Set<WarehouseQueryCapability>(),
    startQuery: async (input: StartQueryInput) => {
      if (input.timeoutSeconds !== undefined) requireCapability(warehouse, 'query-timeout', NAME);
      return inner.startQuery(input);
    },
    getQuery: (input) => inner.getQuery(input),
    getQueryResults: (input) => inner.getQueryResults(input),
    cancelQuery: (input) => inner.cancelQuery(input),
    close: () => inner.close(),
  };
  return warehouse;
}
