/**
 * `sync-issues`: hands on every issue of a repository updated since its checkpoint, then moves the
 * checkpoint. A run that fails part-way leaves the checkpoint where it was, so the next run starts over
 * from the same point (at least once: consumers dedupe on `deliveryId`).
 */

import type { WebhookEvent, WebhookEventSink } from '@circle-core/core';
import { ConfigurationError, type Logger } from '@circle-core/core';
import type { Issue, IssuePage, ListIssuesQuery } from '#shared/models/source-control.ts';
import type { AdvanceOutcome, Checkpoint, CheckpointStore } from './checkpoint.ts';

/** What one sync run needs; built once per container by the connector's setup. */
export interface IssueSyncer {
  /** Lists one page of issues (the connector's client; the syncer passes complete input). */
  source: { listIssues(input: ListIssuesQuery): Promise<IssuePage> };
  /** Undefined when `GITHUB_STATE_TABLE` is not set: syncing then fails with a ConfigurationError. */
  checkpoints: CheckpointStore | undefined;
  sink: WebhookEventSink;
  logger: Logger;
  /** Issues per page, at most 100. */
  pageSize: number;
  /** Pages one run may read before it gives up without moving the checkpoint. */
  maxPages: number;
  /** How far back a repository's first run looks. */
  lookbackHours: number;
  now?: () => number;
}

/** One run's request. */
export interface SyncRequest {
  owner: string;
  repo: string;
  /** Overrides the checkpoint (catching up, replaying). */
  since?: string | undefined;
  includePullRequests: boolean;
  correlationId: string;
}

/** One run's outcome. */
export interface SyncReport {
  repository: string;
  since: string;
  pages: number;
  handedOn: number;
  skipped: number;
  sink: string;
  checkpoint: string;
  checkpointOutcome: AdvanceOutcome;
}

/** The delivery id of a synced issue version: the same issue update always gets the same id. */
function deliveryIdOf(repository: string, issue: Issue): string {
  return `issue-sync:${repository}#${issue.number}@${issue.updatedAt}`;
}

/**
 * Runs one sync: lists issues updated at or after the checkpoint (newest first, so issues updated during
 * the run shift the pages towards repeats, never towards gaps), hands each on, and only after the last
 * page moves the checkpoint with a conditional write on the value it read.
 *
 * @example
 * ```ts
 * const report = await syncIssues({ owner: 'octo', repo: 'hello', includePullRequests: false, correlationId }, syncer);
 * ```
 */
export async function syncIssues(request: SyncRequest, syncer: IssueSyncer): Promise<SyncReport> {
  const { source, checkpoints, sink, logger } = syncer;
  if (checkpoints === undefined) {
    throw new ConfigurationError(
      'GITHUB_STATE_TABLE is required for sync-issues (checkpoints are kept in it)',
    );
  }
  const now = syncer.now ?? Date.now;
  const repository = `${request.owner}/${request.repo}`;
  const previous = await checkpoints.read(repository);
  const since =
    request.since ?? previous?.since ?? new Date(now() - syncer.lookbackHours * 3_600_000).toISOString();
  const sinceMs = Date.parse(since);
  const alreadySent = new Set(
    previous !== undefined && Date.parse(previous.since) === sinceMs ? previous.boundary : [],
  );
  const seen = new Set<string>();
  let newest: Checkpoint = previous ?? { since, boundary: [] };
  let cursor: string | undefined;
  let pages = 0;
  let handedOn = 0;
  let skipped = 0;
  do {
    if (pages >= syncer.maxPages) {
      throw new ConfigurationError(
        `sync-issues for ${repository} needs more than GITHUB_SYNC_MAX_PAGES (${syncer.maxPages}) pages; ` +
          'raise it or pass a later since',
      );
    }
    const page = await source.listIssues({
      owner: request.owner,
      repo: request.repo,
      state: 'all',
      since,
      sort: 'updated',
      direction: 'desc',
      perPage: syncer.pageSize,
      includePullRequests: request.includePullRequests,
      ...(cursor === undefined ? {} : { cursor }),
    });
    pages += 1;
    for (const issue of page.issues) {
      const deliveryId = deliveryIdOf(repository, issue);
      const updated = Date.parse(issue.updatedAt);
      if (seen.has(deliveryId) || (updated === sinceMs && alreadySent.has(issue.number))) {
        skipped += 1;
        continue;
      }
      seen.add(deliveryId);
      const event: WebhookEvent = {
        provider: 'github',
        name: 'issue-synced',
        event: 'issues',
        action: 'synced',
        deliveryId,
        correlationId: request.correlationId,
        receivedAt: new Date(now()).toISOString(),
        source: repository,
        payload: { repository, issue },
      };
      await sink.publish(event);
      handedOn += 1;
      newest = later(newest, issue);
    }
    cursor = page.nextCursor;
  } while (cursor !== undefined);

  const checkpointOutcome = await checkpoints.advance(repository, previous, newest);
  logger.info('sync-issues finished', { repository, pages, handedOn, skipped, checkpointOutcome });
  return {
    repository,
    since,
    pages,
    handedOn,
    skipped,
    sink: sink.name,
    checkpoint: newest.since,
    checkpointOutcome,
  };
}

/** The checkpoint after handing `issue` on: a later time starts a new boundary, the same time joins it. */
function later(current: Checkpoint, issue: Issue): Checkpoint {
  const updated = Date.parse(issue.updatedAt);
  const at = Date.parse(current.since);
  if (updated > at) return { since: issue.updatedAt, boundary: [issue.number] };
  if (updated === at && !current.boundary.includes(issue.number)) {
    return { since: current.since, boundary: [...current.boundary, issue.number] };
  }
  return current;
}
