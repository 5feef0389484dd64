/** The source control conformance suite against GitLab (owner/repo projects) and the GitLab contract fake. */
import { bearerAuth, NotSupportedError, ValidationError } from '@circle-core/core';
import { describe, expect, it } from 'vitest';
import { describeSourceControlConformance } from '#shared/interfaces/source-control.conformance.ts';
import { GITLAB_SANDBOX_TOKEN, startGitlabFake } from '../../../scripts/local/sandboxes/gitlab.ts';
import { json } from '../../../scripts/local/sandboxes/kit/index.ts';
import { GitlabClient } from './client.ts';
import { GitlabSourceControl } from './source-control.ts';

const PNG = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0xff]);

describeSourceControlConformance('GitLab', async () => {
  const fake = await startGitlabFake();
  const platform = fake.state.projects.find((p) => p.path === 'ops/platform');
  // A binary file, and an open merge request whose iid no issue has (GitLab numbers them apart).
  platform?.branches.get('main')?.set('logo.png', { content: Buffer.from(PNG), last_commit_id: 'a1b2c3d' });
  const mergeRequest = platform?.mergeRequests[0];
  if (mergeRequest !== undefined) platform?.mergeRequests.push({ ...mergeRequest, id: 901, iid: 999 });
  const client = new GitlabSourceControl({ baseUrl: `${fake.url}/api/v4`, token: GITLAB_SANDBOX_TOKEN });
  return {
    client,
    repository: { owner: 'ops', repo: 'platform' },
    missingRepository: { owner: 'ops', repo: 'nope' },
    textFile: { path: 'docs/oncall.md', content: '# On-call\n\nalice this week.\n' },
    binaryFile: { path: 'logo.png', bytes: PNG },
    pullRequest: { number: 999 },
    directory: 'docs',
    assignee: 'alice',
    close: async () => {
      client.close();
      await fake.close();
    },
  };
});

describe('Class: GitlabSourceControl', () => {
  it("refuses a sort GitLab lacks, links a comment to its issue page, and reads another ref's file", async () => {
    // Prepare
    const fake = await startGitlabFake();
    const client = new GitlabSourceControl({ baseUrl: `${fake.url}/api/v4`, token: GITLAB_SANDBOX_TOKEN });
    const repository = { owner: 'ops', repo: 'platform' };

    // Act
    const sorted = await client
      .listIssues({ ...repository, sort: 'comments' })
      .catch((error: unknown) => error);
    const comment = await client.commentOnIssue({ ...repository, issueNumber: 2, body: 'Looking' });
    const file = await client.getFile({ ...repository, path: '/alerts.yml', ref: 'feature/alerts' });
    const unknown = await client
      .createIssue({ ...repository, title: 'x', assignees: ['mallory'] })
      .catch((error: unknown) => error);

    // Assess
    expect(sorted).toBeInstanceOf(NotSupportedError);
    expect(comment.url).toBe(`${fake.url}/ops/platform/-/issues/2#note_${comment.id}`);
    expect(file).toMatchObject({ path: 'alerts.yml', encoding: 'utf8', content: 'disk: 90%\n' });
    expect(unknown).toBeInstanceOf(ValidationError);
    client.close();
    await fake.close();
  });
});

describe('Class: GitlabSourceControl (answers that differ, other auth)', () => {
  const repository = { owner: 'ops', repo: 'platform' };
  const answer = (value: unknown) => ({ kind: 'answer' as const, answer: json(200, value) });

  it('calls with a ready auth (OAuth bearer) given instead of a token, and sorts by update time', async () => {
    // Prepare
    const fake = await startGitlabFake();
    const client = new GitlabSourceControl({
      baseUrl: `${fake.url}/api/v4`,
      auth: bearerAuth({ token: GITLAB_SANDBOX_TOKEN }),
    });

    const tracker = new GitlabClient({
      baseUrl: `${fake.url}/api/v4`,
      auth: bearerAuth({ token: GITLAB_SANDBOX_TOKEN }),
    });

    // Act
    const { issues } = await client.listIssues({ ...repository, state: 'all', sort: 'updated' });
    const issue = await tracker.getIssue({ project: 'ops/platform', key: '1' });

    // Assess
    const [request] = fake.logFor('list-issues');
    expect(request?.query).toMatchObject({ order_by: 'updated_at' });
    // No token was given: the calls authenticated through the auth alone.
    expect(request?.token).toBe(GITLAB_SANDBOX_TOKEN);
    const updated = issues.map((issue) => issue.updatedAt);
    expect(updated).toEqual([...updated].sort().reverse());
    expect(issue.key).toBe('1');
    expect(fake.logFor('get-issue')[0]?.token).toBe(GITLAB_SANDBOX_TOKEN);
    client.close();
    await fake.close();
  });

  it('answers times in UTC when the instance writes them in its own time zone, and sends since in UTC', async () => {
    // Prepare: a self-managed GitLab configured with time_zone Europe/Paris writes +01:00 in November.
    const fake = await startGitlabFake();
    fake.state.timeZoneOffset = '+01:00';
    const stored = fake.state.projects
      .find((p) => p.path === 'ops/platform')
      ?.issues.find((i) => i.iid === 1);
    const client = new GitlabSourceControl({ baseUrl: `${fake.url}/api/v4`, token: GITLAB_SANDBOX_TOKEN });
    const tracker = new GitlabClient({ baseUrl: `${fake.url}/api/v4`, token: GITLAB_SANDBOX_TOKEN });

    // Act
    const { issues } = await client.listIssues({
      ...repository,
      state: 'all',
      since: '2026-11-01T10:00:00+01:00',
    });
    const closed = fake.state.projects
      .find((p) => p.path === 'ops/platform')
      ?.issues.find((i) => i.closed_at !== null);
    const one = await tracker.getIssue({ project: 'ops/platform', key: '1' });
    const comment = await client.commentOnIssue({ ...repository, issueNumber: 1, body: 'Seen.' });

    // Assess
    expect(fake.logFor('list-issues')[0]?.query['updated_after']).toBe('2026-11-01T09:00:00Z');
    const listed = issues.find((issue) => issue.number === 1);
    expect(listed).toMatchObject({ createdAt: stored?.created_at, updatedAt: stored?.updated_at });
    expect(stored?.created_at).toMatch(/Z$/);
    expect(issues.find((issue) => issue.number === closed?.iid)?.closedAt).toBe(closed?.closed_at);
    expect(one).toMatchObject({ createdAt: stored?.created_at });
    expect(comment.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    client.close();
    tracker.close();
    await fake.close();
  });

  it('reads issues and notes without an author as null, a file without blob_id by its content sha, NUL text as base64', async () => {
    // Prepare
    const fake = await startGitlabFake();
    const client = new GitlabSourceControl({ baseUrl: `${fake.url}/api/v4`, token: GITLAB_SANDBOX_TOKEN });
    const at = '2026-01-02T03:04:05Z';
    fake.inject(
      answer([
        {
          id: 1,
          iid: 1,
          title: 'x',
          state: 'opened',
          user_notes_count: 0,
          web_url: 'u',
          created_at: at,
          updated_at: at,
        },
      ]),
      { route: 'list-issues' },
    );
    fake.inject(answer({ id: 8, body: 'Looking', created_at: at }), { route: 'create-note' });
    const nul = Buffer.from('a\u0000b');
    fake.inject(
      answer({
        file_path: 'x.bin',
        size: 3,
        encoding: 'base64',
        content: nul.toString('base64'),
        content_sha256: 'c0ffee',
        ref: 'main',
        last_commit_id: 'a1b2c3d',
      }),
      { route: 'get-file' },
    );

    // Act
    const { issues } = await client.listIssues(repository);
    const comment = await client.commentOnIssue({ ...repository, issueNumber: 1, body: 'Looking' });
    const file = await client.getFile({ ...repository, path: 'x.bin', ref: 'main' });

    // Assess
    expect(issues[0]?.author).toBeNull();
    expect(comment.author).toBeNull();
    expect(file).toEqual({
      path: 'x.bin',
      sha: 'c0ffee',
      size: 3,
      encoding: 'base64',
      content: nul.toString('base64'),
    });
    client.close();
    await fake.close();
  });

  it('passes on a failure of the tree lookup that tells a directory from a missing file', async () => {
    // Prepare: the file is missing and the tree API then fails
    const fake = await startGitlabFake();
    const client = new GitlabSourceControl({ baseUrl: `${fake.url}/api/v4`, token: GITLAB_SANDBOX_TOKEN });
    fake.inject({ kind: 'forbidden' }, { route: 'list-tree' });

    // Act
    const failure = await client
      .getFile({ ...repository, path: 'missing.md', ref: 'main' })
      .catch((e: unknown) => e);

    // Assess
    expect(failure).toMatchObject({ name: 'ForbiddenError', status: 403 });
    expect(fake.logFor('list-tree')).toHaveLength(1);
    client.close();
    await fake.close();
  });
});
