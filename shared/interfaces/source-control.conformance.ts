/**
 * The conformance suite of the source control interface. Any implementation runs it from its own test
 * file against its real peer (a contract fake for SaaS providers), so every provider behaves the same
 * for the same input: issues created and listed alike, pages followed to the end, files decoded, and
 * failures classified the same way.
 */
import { NotFoundError, ValidationError } from '@circle-core/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Issue, RepositoryRef } from '../models/source-control.ts';
import { supports } from './capabilities.ts';
import type { SourceControl } from './source-control.ts';

/** What the suite needs from an implementation's test file. */
export interface SourceControlConformanceFixture {
  client: SourceControl;
  /** A repository the client may create issues and comments in; the suite adds issues to it. */
  repository: RepositoryRef;
  /** A repository that does not exist. */
  missingRepository: RepositoryRef;
  /** A UTF-8 file on the default branch. */
  textFile: { path: string; content: string };
  /** A binary file on the default branch (needed with the `binary-files` capability). */
  binaryFile?: { path: string; bytes: Uint8Array };
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
 *     textFile: { path: 'a.txt', content: 'hi' }, directory: 'docs', close: () => fake.close() };
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

    const listAll = async (filters: {
      state?: 'open' | 'closed' | 'all';
      perPage?: number;
    }): Promise<Issue[]> => {
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

      it('sets labels and assignees when the capabilities say so', async () => {
        // Prepare
        const withLabels = supports(fixture.client, 'labels');
        const withAssignees = supports(fixture.client, 'assignees') && fixture.assignee !== undefined;
        // Act
        const issue = await fixture.client.createIssue({
          ...fixture.repository,
          title: 'conformance: labelled',
          ...(withLabels ? { labels: ['conformance', 'bug'] } : {}),
          ...(withAssignees && fixture.assignee !== undefined ? { assignees: [fixture.assignee] } : {}),
        });
        // Assess
        if (withLabels) expect([...issue.labels].sort()).toEqual(['bug', 'conformance']);
        if (withAssignees) expect(issue.assignees).toEqual([fixture.assignee]);
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

      it('lists no open issue when asked for closed ones', async () => {
        // Act
        const issues = await listAll({ state: 'closed' });
        // Assess
        expect(issues.every((issue) => issue.state === 'closed')).toBe(true);
      });

      it('honours since when the since-filter capability is offered', async () => {
        // Prepare
        if (!supports(fixture.client, 'since-filter')) return;
        const future = new Date(Date.now() + 86_400_000).toISOString();
        // Act
        const page = await fixture.client.listIssues({ ...fixture.repository, state: 'all', since: future });
        // Assess
        expect(page.issues).toEqual([]);
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

      it('returns a binary file base64 encoded when the binary-files capability is offered', async () => {
        // Prepare
        if (!supports(fixture.client, 'binary-files') || fixture.binaryFile === undefined) return;
        // Act
        const file = await fixture.client.getFile({ ...fixture.repository, path: fixture.binaryFile.path });
        // Assess
        expect(file.encoding).toBe('base64');
        expect(Buffer.from(file.content, 'base64').equals(Buffer.from(fixture.binaryFile.bytes))).toBe(true);
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
