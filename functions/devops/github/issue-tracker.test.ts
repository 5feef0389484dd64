/**
 * GitHub issues as the issue tracker: the interface's conformance suite against the GitHub contract fake,
 * and what is GitHub's own (owner/repo projects, pull requests left out).
 */
import { NotFoundError, ValidationError } from '@circle-core/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeIssueTrackerConformance } from '#shared/interfaces/issue-tracker.conformance.ts';
import { type GitHubFake, startGitHubFake } from '../../../scripts/local/sandboxes/github.ts';
import { GitHubIssueTracker } from './issue-tracker.ts';

const TOKEN = 'ghp_tracker_test_token';

describeIssueTrackerConformance('GitHub', async () => {
  const fake = await startGitHubFake({ tokens: [TOKEN], repos: { 'octo/tracker': {} } });
  const client = new GitHubIssueTracker({ baseUrl: fake.baseUrl, token: TOKEN });
  return {
    client,
    project: 'octo/tracker',
    missingProject: 'octo/nope',
    missingKey: '99999',
    assignee: 'octocat',
    close: async () => {
      client.close();
      await fake.close();
    },
  };
});

describe('Class: GitHubIssueTracker', () => {
  let fake: GitHubFake;
  let tracker: GitHubIssueTracker;
  beforeAll(async () => {
    fake = await startGitHubFake({
      tokens: [TOKEN],
      repos: {
        'octo/hello': {
          issues: [
            { number: 1, title: 'An issue' },
            { number: 2, title: 'A pull request', pullRequest: true },
          ],
        },
      },
    });
    tracker = new GitHubIssueTracker({ baseUrl: fake.baseUrl, token: TOKEN });
  });
  afterAll(async () => {
    tracker.close();
    await fake.close();
  });

  it('refuses a project that is not owner/repo before calling GitHub', async () => {
    const attempt = tracker.getIssue({ project: 'octo/group/hello', key: '1' });
    await expect(attempt).rejects.toBeInstanceOf(ValidationError);
  });

  it('leaves pull requests out of searches and refuses one as an issue', async () => {
    const page = await tracker.searchIssues({ project: 'octo/hello' });
    expect(page.issues.map((issue) => issue.key)).toEqual(['1']);
    await expect(tracker.getIssue({ project: 'octo/hello', key: '2' })).rejects.toBeInstanceOf(
      ValidationError,
    );
  });

  it('answers NotFoundError naming the issue', async () => {
    const attempt = tracker.commentOnIssue({ project: 'octo/hello', key: '404', body: 'x' });
    await expect(attempt).rejects.toBeInstanceOf(NotFoundError);
    await expect(attempt).rejects.toThrow('Issue #404 in octo/hello');
  });
});
