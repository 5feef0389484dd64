/** The issue-tracker conformance suite against the Jira client and the Jira contract fake. */
import { basicAuth } from '@circle-core/core';
import { describeIssueTrackerConformance } from '#shared/interfaces/issue-tracker.conformance.ts';
import {
  JIRA_SANDBOX_ACCOUNT,
  JIRA_SANDBOX_EMAIL,
  JIRA_SANDBOX_TOKEN,
  startJiraFake,
} from '../../../scripts/local/sandboxes/jira.ts';
import { JiraClient } from './client.ts';

describeIssueTrackerConformance('Jira', async () => {
  const fake = await startJiraFake();
  const client = new JiraClient({
    baseUrl: fake.url,
    auth: basicAuth({ credentials: { username: JIRA_SANDBOX_EMAIL, password: JIRA_SANDBOX_TOKEN } }),
  });
  return {
    client,
    project: 'WEB',
    missingProject: 'NOPE',
    missingKey: 'WEB-99999',
    assignee: JIRA_SANDBOX_ACCOUNT,
    issueType: 'Bug',
    status: 'In Progress',
    close: async () => {
      client.close();
      await fake.close();
    },
  };
});
