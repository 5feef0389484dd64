/** The source control conformance suite against GitLab (owner/repo projects) and the GitLab contract fake. */
import { NotSupportedError, ValidationError } from '@circle-core/core';
import { describe, expect, it } from 'vitest';
import { describeSourceControlConformance } from '#shared/interfaces/source-control.conformance.ts';
import { GITLAB_SANDBOX_TOKEN, startGitlabFake } from '../../../scripts/local/sandboxes/gitlab.ts';
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
