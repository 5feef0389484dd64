/** The issue-tracker conformance suite against the GitLab client and the GitLab contract fake. */
import { describeIssueTrackerConformance } from '#shared/interfaces/issue-tracker.conformance.ts';
import { GITLAB_SANDBOX_TOKEN, startGitlabFake } from '../../../scripts/local/sandboxes/gitlab.ts';
import { GitlabClient } from './client.ts';

describeIssueTrackerConformance('GitLab', async () => {
  const fake = await startGitlabFake();
  const client = new GitlabClient({ baseUrl: `${fake.url}/api/v4`, token: GITLAB_SANDBOX_TOKEN });
  return {
    client,
    project: 'ops/web',
    missingProject: 'ops/nope',
    missingKey: '99999',
    assignee: 'alice',
    issueType: 'incident',
    close: async () => {
      client.close();
      await fake.close();
    },
  };
});
