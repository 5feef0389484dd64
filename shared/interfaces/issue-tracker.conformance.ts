/**
 * The conformance suite of the issue-tracker interface. Any implementation runs it from its own test file
 * against its real peer (a contract fake for SaaS trackers), so Jira, GitHub and GitLab behave the same
 * for the same input: issues created, read, updated, commented on, moved between open and closed, and
 * searched page by page to the end, with failures classified alike. A test for an optional ability skips
 * where it is not offered, and its refusal counterpart (NotSupportedError) skips where it is.
 */
import { randomUUID } from 'node:crypto';
import { NotFoundError, NotSupportedError, ValidationError } from '@circle-core/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TrackerIssue } from '../models/issue-tracker.ts';
import { skipIfOffered, skipUnlessOffered } from './capability-tests.ts';
import type { IssueTracker } from './issue-tracker.ts';

/** What the suite needs from an implementation's test file. */
export interface IssueTrackerConformanceFixture {
  client: IssueTracker;
  /** A project the client may create issues in. */
  project: string;
  /** A project that does not exist. */
  missingProject: string;
  /** A well-formed key of an issue that does not exist in `project`. */
  missingKey: string;
  /** Someone who may be assigned (required with `assignees`). */
  assignee?: string;
  /** An issue type other than the default (required with `issue-types`). */
  issueType?: string;
  /** A status reachable from a new issue besides open and closed (required with `custom-statuses`). */
  status?: string;
  close?: () => Promise<void>;
}

/**
 * Registers the issue-tracker conformance tests for one implementation.
 *
 * @example
 * ```ts
 * describeIssueTrackerConformance('Jira', async () => {
 *   const fake = await startJiraFake({ projects: [{ key: 'OPS', name: 'Operations' }] });
 *   return { client: new JiraClient(options(fake)), project: 'OPS', missingProject: 'NOPE',
 *     missingKey: 'OPS-99999', assignee: 'acc-1', issueType: 'Bug', status: 'In Progress',
 *     close: () => fake.close() };
 * });
 * ```
 */
export function describeIssueTrackerConformance(
  name: string,
  factory: () => Promise<IssueTrackerConformanceFixture>,
): void {
  describe(`Conformance: issue tracker (${name})`, () => {
    let fixture: IssueTrackerConformanceFixture;
    beforeAll(async () => {
      fixture = await factory();
    });
    afterAll(async () => {
      await fixture?.close?.();
    });

    const create = (title: string, extra: Record<string, unknown> = {}): Promise<TrackerIssue> =>
      fixture.client.createIssue({ project: fixture.project, title, ...extra });

    describe('Method: createIssue', () => {
      it('creates an open issue with its title and description, readable by getIssue', async () => {
        // Act
        const issue = await create('conformance: create', { description: 'first line\n\nsecond paragraph' });
        const read = await fixture.client.getIssue({ project: fixture.project, key: issue.key });
        // Assess
        expect(issue.key).not.toBe('');
        expect(issue).toMatchObject({
          title: 'conformance: create',
          description: 'first line\n\nsecond paragraph',
          state: 'open',
        });
        expect(Date.parse(issue.createdAt)).not.toBeNaN();
        expect(read).toMatchObject({ key: issue.key, title: issue.title, description: issue.description });
      });

      it('throws ValidationError for an empty title, before calling the provider', async () => {
        await expect(create('')).rejects.toBeInstanceOf(ValidationError);
      });

      it('throws ValidationError for an unknown field', async () => {
        await expect(create('x', { severity: 'high' })).rejects.toBeInstanceOf(ValidationError);
      });

      it('throws NotFoundError when the project does not exist', async () => {
        const attempt = fixture.client.createIssue({ project: fixture.missingProject, title: 'nowhere' });
        await expect(attempt).rejects.toBeInstanceOf(NotFoundError);
      });

      it('sets labels with capability "labels"', async (context) => {
        skipUnlessOffered(context, fixture.client, 'labels');
        const issue = await create('conformance: labelled', { labels: ['conformance', 'bug'] });
        expect([...issue.labels].sort()).toEqual(['bug', 'conformance']);
      });

      it('refuses labels with NotSupportedError without capability "labels"', async (context) => {
        skipIfOffered(context, fixture.client, 'labels');
        await expect(create('conformance: labelled', { labels: ['bug'] })).rejects.toBeInstanceOf(
          NotSupportedError,
        );
      });

      it('assigns with capability "assignees"', async (context) => {
        skipUnlessOffered(context, fixture.client, 'assignees');
        expect(fixture.assignee, 'a client with "assignees" names an assignee').toBeDefined();
        const issue = await create('conformance: assigned', { assignee: fixture.assignee });
        expect(issue.assignee).toBe(fixture.assignee);
      });

      it('refuses an assignee with NotSupportedError without capability "assignees"', async (context) => {
        skipIfOffered(context, fixture.client, 'assignees');
        await expect(create('conformance: assigned', { assignee: 'someone' })).rejects.toBeInstanceOf(
          NotSupportedError,
        );
      });

      it('sets the issue type with capability "issue-types"', async (context) => {
        skipUnlessOffered(context, fixture.client, 'issue-types');
        expect(fixture.issueType, 'a client with "issue-types" names one').toBeDefined();
        const issue = await create('conformance: typed', { issueType: fixture.issueType });
        expect(issue.issueType).toBe(fixture.issueType);
      });

      it('refuses an issue type with NotSupportedError without capability "issue-types"', async (context) => {
        skipIfOffered(context, fixture.client, 'issue-types');
        await expect(create('conformance: typed', { issueType: 'Bug' })).rejects.toBeInstanceOf(
          NotSupportedError,
        );
      });
    });

    describe('Method: getIssue', () => {
      it('throws NotFoundError for an issue that does not exist', async () => {
        const attempt = fixture.client.getIssue({ project: fixture.project, key: fixture.missingKey });
        await expect(attempt).rejects.toBeInstanceOf(NotFoundError);
      });
    });

    describe('Method: updateIssue', () => {
      it('changes the title and description and returns the issue as it now is', async () => {
        // Prepare
        const issue = await create('conformance: before');
        // Act
        const updated = await fixture.client.updateIssue({
          project: fixture.project,
          key: issue.key,
          title: 'conformance: after',
          description: 'changed',
        });
        const read = await fixture.client.getIssue({ project: fixture.project, key: issue.key });
        // Assess
        expect(updated).toMatchObject({
          key: issue.key,
          title: 'conformance: after',
          description: 'changed',
        });
        expect(read).toMatchObject({ title: 'conformance: after', description: 'changed' });
      });

      it('throws ValidationError when nothing would change', async () => {
        const issue = await create('conformance: untouched');
        const attempt = fixture.client.updateIssue({ project: fixture.project, key: issue.key });
        await expect(attempt).rejects.toBeInstanceOf(ValidationError);
      });

      it('throws NotFoundError for an issue that does not exist', async () => {
        const attempt = fixture.client.updateIssue({
          project: fixture.project,
          key: fixture.missingKey,
          title: 'x',
        });
        await expect(attempt).rejects.toBeInstanceOf(NotFoundError);
      });

      it('replaces the labels with capability "labels"', async (context) => {
        skipUnlessOffered(context, fixture.client, 'labels');
        const issue = await create('conformance: relabel', { labels: ['one'] });
        const updated = await fixture.client.updateIssue({
          project: fixture.project,
          key: issue.key,
          labels: ['two'],
        });
        expect(updated.labels).toEqual(['two']);
      });

      it('unassigns with null with capability "assignees"', async (context) => {
        skipUnlessOffered(context, fixture.client, 'assignees');
        const issue = await create('conformance: unassign', { assignee: fixture.assignee });
        const updated = await fixture.client.updateIssue({
          project: fixture.project,
          key: issue.key,
          assignee: null,
        });
        expect(updated.assignee).toBeNull();
      });
    });

    describe('Method: commentOnIssue', () => {
      it('adds a comment and returns its id, issue key and text', async () => {
        const issue = await create('conformance: comment');
        const comment = await fixture.client.commentOnIssue({
          project: fixture.project,
          key: issue.key,
          body: 'a comment\n\nwith two paragraphs',
        });
        expect(comment.id).not.toBe('');
        expect(comment).toMatchObject({ key: issue.key, body: 'a comment\n\nwith two paragraphs' });
      });

      it('throws NotFoundError for an issue that does not exist', async () => {
        const attempt = fixture.client.commentOnIssue({
          project: fixture.project,
          key: fixture.missingKey,
          body: 'x',
        });
        await expect(attempt).rejects.toBeInstanceOf(NotFoundError);
      });

      it('throws ValidationError for an empty body', async () => {
        const issue = await create('conformance: empty comment');
        const attempt = fixture.client.commentOnIssue({
          project: fixture.project,
          key: issue.key,
          body: ' ',
        });
        await expect(attempt).rejects.toBeInstanceOf(ValidationError);
      });
    });

    describe('Method: transitionIssue', () => {
      it('closes and reopens an issue; closing a closed one again is no error', async () => {
        // Prepare
        const issue = await create('conformance: transition');
        const ref = { project: fixture.project, key: issue.key };
        // Act
        const closed = await fixture.client.transitionIssue({ ...ref, state: 'closed' });
        const again = await fixture.client.transitionIssue({ ...ref, state: 'closed' });
        const reopened = await fixture.client.transitionIssue({ ...ref, state: 'open' });
        // Assess
        expect(closed.state).toBe('closed');
        expect(again.state).toBe('closed');
        expect(reopened.state).toBe('open');
        expect((await fixture.client.getIssue(ref)).state).toBe('open');
      });

      it('throws ValidationError without a target, or with both a state and a status', async () => {
        const issue = await create('conformance: no target');
        const ref = { project: fixture.project, key: issue.key };
        await expect(fixture.client.transitionIssue(ref)).rejects.toBeInstanceOf(ValidationError);
        await expect(
          fixture.client.transitionIssue({ ...ref, state: 'closed', status: 'Done' }),
        ).rejects.toBeInstanceOf(ValidationError);
      });

      it('throws NotFoundError for an issue that does not exist', async () => {
        const attempt = fixture.client.transitionIssue({
          project: fixture.project,
          key: fixture.missingKey,
          state: 'closed',
        });
        await expect(attempt).rejects.toBeInstanceOf(NotFoundError);
      });

      it('moves to a named status with capability "custom-statuses"', async (context) => {
        skipUnlessOffered(context, fixture.client, 'custom-statuses');
        expect(fixture.status, 'a client with "custom-statuses" names a status').toBeDefined();
        const issue = await create('conformance: status');
        const moved = await fixture.client.transitionIssue({
          project: fixture.project,
          key: issue.key,
          status: fixture.status ?? '',
        });
        expect(moved).toMatchObject({ status: fixture.status, state: 'open' });
      });

      it('refuses a named status with NotSupportedError without capability "custom-statuses"', async (context) => {
        skipIfOffered(context, fixture.client, 'custom-statuses');
        const issue = await create('conformance: status');
        const attempt = fixture.client.transitionIssue({
          project: fixture.project,
          key: issue.key,
          status: 'In Progress',
        });
        await expect(attempt).rejects.toBeInstanceOf(NotSupportedError);
      });
    });

    describe('Method: searchIssues', () => {
      const searchAll = async (filters: Record<string, unknown>): Promise<TrackerIssue[]> => {
        const issues: TrackerIssue[] = [];
        let page = await fixture.client.searchIssues({ project: fixture.project, ...filters });
        issues.push(...page.issues);
        for (let guard = 0; page.nextCursor !== undefined && guard < 100; guard += 1) {
          page = await fixture.client.searchIssues({
            project: fixture.project,
            ...filters,
            cursor: page.nextCursor,
          });
          issues.push(...page.issues);
        }
        return issues;
      };

      it('follows nextCursor through every page without repeating an issue', async () => {
        // Prepare
        const created = [];
        for (const title of ['conformance: page a', 'conformance: page b', 'conformance: page c']) {
          created.push(await create(title));
        }
        // Act
        const issues = await searchAll({ limit: 2 });
        // Assess
        const keys = issues.map((issue) => issue.key);
        expect(new Set(keys).size).toBe(keys.length);
        for (const issue of created) expect(keys).toContain(issue.key);
      });

      it('lists closed issues only when asked for closed ones', async () => {
        // Prepare
        const issue = await create('conformance: closed for search');
        await fixture.client.transitionIssue({ project: fixture.project, key: issue.key, state: 'closed' });
        // Act
        const closed = await searchAll({ state: 'closed', limit: 100 });
        const open = await searchAll({ state: 'open', limit: 100 });
        // Assess
        expect(closed.map((found) => found.key)).toContain(issue.key);
        expect(closed.every((found) => found.state === 'closed')).toBe(true);
        expect(open.map((found) => found.key)).not.toContain(issue.key);
      });

      it('throws ValidationError for a cursor it did not issue', async () => {
        const attempt = fixture.client.searchIssues({ project: fixture.project, cursor: 'not-a-cursor' });
        await expect(attempt).rejects.toBeInstanceOf(ValidationError);
      });

      it('filters on labels with capability "labels"', async (context) => {
        skipUnlessOffered(context, fixture.client, 'labels');
        const label = `conformance-${randomUUID().slice(0, 8)}`;
        const tagged = await create('conformance: tagged', { labels: [label] });
        await create('conformance: untagged');
        const found = await searchAll({ labels: [label] });
        expect(found.map((issue) => issue.key)).toEqual([tagged.key]);
      });

      it('refuses a label filter with NotSupportedError without capability "labels"', async (context) => {
        skipIfOffered(context, fixture.client, 'labels');
        const attempt = fixture.client.searchIssues({ project: fixture.project, labels: ['bug'] });
        await expect(attempt).rejects.toBeInstanceOf(NotSupportedError);
      });

      it('finds words in titles with capability "text-search"', async (context) => {
        skipUnlessOffered(context, fixture.client, 'text-search');
        const word = `needle${randomUUID().slice(0, 8)}`;
        const match = await create(`conformance: ${word} here`);
        const found = await searchAll({ text: word });
        expect(found.map((issue) => issue.key)).toEqual([match.key]);
      });

      it('refuses text with NotSupportedError without capability "text-search"', async (context) => {
        skipIfOffered(context, fixture.client, 'text-search');
        const attempt = fixture.client.searchIssues({ project: fixture.project, text: 'x' });
        await expect(attempt).rejects.toBeInstanceOf(NotSupportedError);
      });

      it('refuses a native query with NotSupportedError without capability "native-query"', async (context) => {
        skipIfOffered(context, fixture.client, 'native-query');
        const attempt = fixture.client.searchIssues({ project: fixture.project, query: 'x' });
        await expect(attempt).rejects.toBeInstanceOf(NotSupportedError);
      });
    });
  });
}
