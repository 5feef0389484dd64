/**
 * The conformance suite of the source control interface. Any implementation runs it from its own test
 * file against its real peer (a contract fake for SaaS providers), so every provider behaves the same
 * for the same input: issues created and listed alike, pages followed to the end, files decoded, and
 * failures classified the same way. A test for an optional ability skips where the ability is not
 * offered, and its counterpart (a NotSupportedError refusal, or no pull requests at all) skips where it
 * is: test/conformance runs the suite once against a client without any optional ability.
 */
import { randomUUID } from 'node:crypto';
import { NotFoundError, NotSupportedError, ValidationError } from '@circle-core/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Issue, ListIssuesInput, RepositoryRef } from '../models/source-control.ts';
import { skipIfOffered, skipUnlessOffered } from './capability-tests.ts';
import type { SourceControl } from './source-control.ts';

/** What the suite needs from an implementation's test file. */
export interface SourceControlConformanceFixture {
  client: SourceControl;
  /**
   * A repository the client may create issues and comments in; the suite adds issues to it. It holds at
   * least one closed issue (the interface cannot close one).
   */
  repository: RepositoryRef;
  /** A repository that does not exist. */
  missingRepository: RepositoryRef;
  /** A UTF-8 file on the default branch. */
  textFile: { path: string; content: string };
  /** A binary file on the default branch: read with `binary-files`, refused without. */
  binaryFile: { path: string; bytes: Uint8Array };
  /** An open pull request of the repository: listed on request with `pull-requests-as-issues`, never without. */
  pullRequest: { number: number };
  /** The path of a directory. */
  directory: string;
  /** Users that may be assigned (for the `assignees` capability). */
  assignee?: string;
  close?: () => Promise<void>;
}

/**
 * Registers the source control conformance tests for one implementation.
 *
 * @example
 * ```ts
 * describeSourceControlConformance('GitHub', async () => {
 *   const fake = await startGitHubFake({ tokens: ['t'], repos: { 'octo/hello': { files: { 'a.txt': 'hi' } } } });
 *   return { client: new GitHubClient({ baseUrl: fake.baseUrl, auth: bearerAuth({ token: 't' }) }),
 *     repository: { owner: 'octo', repo: 'hello' }, missingRepository: { owner: 'octo', repo: 'nope' },
 *     textFile: { path: 'a.txt', content: 'hi' }, binaryFile: { path: 'logo.png', bytes: png },
 *     pullRequest: { number: 2 }, directory: 'docs', close: () => fake.close() };
 * });
 * ```
 */
export function describeSourceControlConformance(
  name: string,
  factory: () => Promise<SourceControlConformanceFixture>,
): void {
  describe(`Conformance: source control (${name})`, () => {
    let fixture: SourceControlConformanceFixture;
    beforeAll(async () => {
      fixture = await factory();
    });
    afterAll(async () => {
      await fixture?.close?.();
    });

    const listAll = async (
      filters: Pick<ListIssuesInput, 'state' | 'perPage' | 'includePullRequests'>,
    ): Promise<Issue[]> => {
      const issues: Issue[] = [];
      let page = await fixture.client.listIssues({ ...fixture.repository, ...filters });
      issues.push(...page.issues);
      for (let guard = 0; page.nextCursor !== undefined && guard < 50; guard += 1) {
        page = await fixture.client.listIssues({ ...fixture.repository, cursor: page.nextCursor });
        issues.push(...page.issues);
      }
      return issues;
    };

    describe('Method: createIssue', () => {
      it('opens an issue and returns it with a number, its title and body, open', async () => {
        // Act
        const issue = await fixture.client.createIssue({
          ...fixture.repository,
          title: 'conformance: create',
          body: 'created by the conformance suite',
        });
        // Assess
        expect(issue.number).toBeGreaterThan(0);
        expect(issue).toMatchObject({
          title: 'conformance: create',
          body: 'created by the conformance suite',
          state: 'open',
          isPullRequest: false,
        });
        expect(Date.parse(issue.createdAt)).not.toBeNaN();
      });

      it('sets labels with capability "labels"', async (context) => {
        // Prepare
        skipUnlessOffered(context, fixture.client, 'labels');
        // Act
        const issue = await fixture.client.createIssue({
          ...fixture.repository,
          title: 'conformance: labelled',
          labels: ['conformance', 'bug'],
        });
        // Assess
        expect([...issue.labels].sort()).toEqual(['bug', 'conformance']);
      });

      it('refuses labels with NotSupportedError without capability "labels"', async (context) => {
        // Prepare
        skipIfOffered(context, fixture.client, 'labels');
        // Act
        const create = fixture.client.createIssue({
          ...fixture.repository,
          title: 'conformance: labelled',
          labels: ['bug'],
        });
        const list = fixture.client.listIssues({ ...fixture.repository, labels: ['bug'] });
        // Assess
        await expect(create).rejects.toBeInstanceOf(NotSupportedError);
        await expect(list).rejects.toBeInstanceOf(NotSupportedError);
      });

      it('assigns users with capability "assignees"', async (context) => {
        // Prepare
        skipUnlessOffered(context, fixture.client, 'assignees');
        const assignee = fixture.assignee;
        expect(assignee, 'a client with "assignees" must name an assignee in its fixture').toBeDefined();
        // Act
        const issue = await fixture.client.createIssue({
          ...fixture.repository,
          title: 'conformance: assigned',
          assignees: [assignee ?? ''],
        });
        // Assess
        expect(issue.assignees).toEqual([assignee]);
      });

      it('refuses assignees with NotSupportedError without capability "assignees"', async (context) => {
        // Prepare
        skipIfOffered(context, fixture.client, 'assignees');
        // Act
        const attempt = fixture.client.createIssue({
          ...fixture.repository,
          title: 'conformance: assigned',
          assignees: [fixture.assignee ?? 'someone'],
        });
        // Assess
        await expect(attempt).rejects.toBeInstanceOf(NotSupportedError);
      });

      it('throws ValidationError for an empty title, before calling the provider', async () => {
        // Act
        const attempt = fixture.client.createIssue({ ...fixture.repository, title: '' });
        // Assess
        await expect(attempt).rejects.toBeInstanceOf(ValidationError);
      });

      it('throws NotFoundError when the repository does not exist', async () => {
        // Act
        const attempt = fixture.client.createIssue({ ...fixture.missingRepository, title: 'nowhere' });
        // Assess
        await expect(attempt).rejects.toBeInstanceOf(NotFoundError);
      });
    });

    describe('Method: commentOnIssue', () => {
      it('adds a comment and returns its id and issue number', async () => {
        // Prepare
        const issue = await fixture.client.createIssue({
          ...fixture.repository,
          title: 'conformance: comment',
        });
        // Act
        const comment = await fixture.client.commentOnIssue({
          ...fixture.repository,
          issueNumber: issue.number,
          body: 'a comment',
        });
        // Assess
        expect(comment.id).toBeGreaterThan(0);
        expect(comment).toMatchObject({ issueNumber: issue.number, body: 'a comment' });
      });

      it('throws NotFoundError when the issue does not exist', async () => {
        // Act
        const attempt = fixture.client.commentOnIssue({
          ...fixture.repository,
          issueNumber: 999_999,
          body: 'x',
        });
        // Assess
        await expect(attempt).rejects.toBeInstanceOf(NotFoundError);
      });
    });

    describe('Method: listIssues', () => {
      it('follows nextCursor through every page without repeating an issue', async () => {
        // Prepare
        const created = [];
        for (const title of ['conformance: page a', 'conformance: page b', 'conformance: page c']) {
          created.push(await fixture.client.createIssue({ ...fixture.repository, title }));
        }
        // Act
        const issues = await listAll({ state: 'all', perPage: 2 });
        // Assess
        const numbers = issues.map((issue) => issue.number);
        expect(new Set(numbers).size).toBe(numbers.length);
        for (const issue of created) expect(numbers).toContain(issue.number);
      });

      it('reports no next page on the last page', async () => {
        // Act
        const page = await fixture.client.listIssues({ ...fixture.repository, state: 'all', perPage: 100 });
        // Assess
        expect(page.nextCursor).toBeUndefined();
        expect(page.nextPage).toBeUndefined();
      });

      it('lists closed issues only, when asked for closed ones', async () => {
        // Act
        const issues = await listAll({ state: 'closed' });
        // Assess
        expect(issues.length, 'the fixture repository holds a closed issue').toBeGreaterThan(0);
        expect(issues.every((issue) => issue.state === 'closed')).toBe(true);
      });

      it('filters on labels with capability "labels"', async (context) => {
        // Prepare
        skipUnlessOffered(context, fixture.client, 'labels');
        const label = `conformance-${randomUUID().slice(0, 8)}`;
        const tagged = await fixture.client.createIssue({
          ...fixture.repository,
          title: 'conformance: filtered',
          labels: [label],
        });
        await fixture.client.createIssue({ ...fixture.repository, title: 'conformance: not filtered' });
        // Act
        const page = await fixture.client.listIssues({
          ...fixture.repository,
          state: 'all',
          labels: [label],
        });
        // Assess
        expect(page.issues.map((issue) => issue.number)).toEqual([tagged.number]);
      });

      it('honours since with capability "since-filter"', async (context) => {
        // Prepare
        skipUnlessOffered(context, fixture.client, 'since-filter');
        const future = new Date(Date.now() + 86_400_000).toISOString();
        const past = new Date(Date.now() - 86_400_000).toISOString();
        const recent = await fixture.client.createIssue({
          ...fixture.repository,
          title: 'conformance: since',
        });
        // Act
        const none = await fixture.client.listIssues({ ...fixture.repository, state: 'all', since: future });
        const some = await fixture.client.listIssues({
          ...fixture.repository,
          state: 'all',
          since: past,
          perPage: 100,
        });
        // Assess
        expect(none.issues).toEqual([]);
        expect(some.issues.map((issue) => issue.number)).toContain(recent.number);
      });

      it('refuses since with NotSupportedError without capability "since-filter"', async (context) => {
        // Prepare
        skipIfOffered(context, fixture.client, 'since-filter');
        // Act
        const attempt = fixture.client.listIssues({
          ...fixture.repository,
          since: new Date(Date.now() + 86_400_000).toISOString(),
        });
        // Assess
        await expect(attempt).rejects.toBeInstanceOf(NotSupportedError);
      });

      it('lists pull requests only when asked to, with capability "pull-requests-as-issues"', async (context) => {
        // Prepare
        skipUnlessOffered(context, fixture.client, 'pull-requests-as-issues');
        // Act
        const plain = await listAll({ state: 'all' });
        const withPulls = await listAll({ state: 'all', includePullRequests: true });
        // Assess
        expect(plain.map((issue) => issue.number)).not.toContain(fixture.pullRequest.number);
        expect(plain.some((issue) => issue.isPullRequest)).toBe(false);
        expect(withPulls.find((issue) => issue.number === fixture.pullRequest.number)).toMatchObject({
          isPullRequest: true,
        });
      });

      it('lists no pull request, even when asked to, without capability "pull-requests-as-issues"', async (context) => {
        // Prepare
        skipIfOffered(context, fixture.client, 'pull-requests-as-issues');
        // Act
        const issues = await listAll({ state: 'all', includePullRequests: true });
        // Assess
        expect(issues.length).toBeGreaterThan(0);
        expect(issues.map((issue) => issue.number)).not.toContain(fixture.pullRequest.number);
        expect(issues.some((issue) => issue.isPullRequest)).toBe(false);
      });

      it('throws ValidationError for a cursor it did not issue', async () => {
        // Act
        const attempt = fixture.client.listIssues({ ...fixture.repository, cursor: 'not-a-cursor' });
        // Assess
        await expect(attempt).rejects.toBeInstanceOf(ValidationError);
      });
    });

    describe('Method: getFile', () => {
      it('returns a text file as UTF-8 with its size and sha', async () => {
        // Act
        const file = await fixture.client.getFile({ ...fixture.repository, path: fixture.textFile.path });
        // Assess
        expect(file).toMatchObject({
          path: fixture.textFile.path,
          encoding: 'utf8',
          content: fixture.textFile.content,
          size: Buffer.byteLength(fixture.textFile.content),
        });
        expect(file.sha).not.toBe('');
      });

      it('returns a binary file base64 encoded with capability "binary-files"', async (context) => {
        // Prepare
        skipUnlessOffered(context, fixture.client, 'binary-files');
        // Act
        const file = await fixture.client.getFile({ ...fixture.repository, path: fixture.binaryFile.path });
        // Assess
        expect(file.encoding).toBe('base64');
        expect(Buffer.from(file.content, 'base64').equals(Buffer.from(fixture.binaryFile.bytes))).toBe(true);
      });

      it('refuses a binary file with NotSupportedError without capability "binary-files"', async (context) => {
        // Prepare
        skipIfOffered(context, fixture.client, 'binary-files');
        // Act
        const attempt = fixture.client.getFile({ ...fixture.repository, path: fixture.binaryFile.path });
        // Assess
        await expect(attempt).rejects.toBeInstanceOf(NotSupportedError);
      });

      it('throws NotFoundError for a path that does not exist', async () => {
        // Act
        const attempt = fixture.client.getFile({ ...fixture.repository, path: 'no/such/file.txt' });
        // Assess
        await expect(attempt).rejects.toBeInstanceOf(NotFoundError);
      });

      it('throws ValidationError for a directory', async () => {
        // Act
        const attempt = fixture.client.getFile({ ...fixture.repository, path: fixture.directory });
        // Assess
        await expect(attempt).rejects.toBeInstanceOf(ValidationError);
      });
    });
  });
}
