/** inspectJiraResponse and searchJql: Jira's 400 bodies and the JQL a search sends. */
import { describe, expect, it } from 'vitest';
import { inspectJiraResponse, searchJql } from './client.ts';

const response = (status: number, body: unknown) => ({
  status,
  headers: {},
  body,
  url: 'https://x/rest/api/3/issue',
});

describe('Function: inspectJiraResponse', () => {
  it('leaves other statuses to the core', () => {
    expect(inspectJiraResponse(response(404, { errorMessages: ['gone'] }))).toBeUndefined();
  });

  it('names the refused fields, or Jira first message, or the request', () => {
    const fields = inspectJiraResponse(response(400, { errorMessages: [], errors: { summary: 'required' } }));
    const message = inspectJiraResponse(response(400, { errorMessages: ['Error in the JQL Query'] }));
    const neither = inspectJiraResponse(response(400, 'not json'));
    expect(fields?.message).toBe('Jira refused fields summary');
    expect(message?.message).toBe('Jira refused Error in the JQL Query');
    expect(neither?.message).toBe('Jira refused the request');
  });

  it('calls an error on the project field a NotFoundError', () => {
    expect(
      inspectJiraResponse(response(400, { errors: { project: 'valid project is required' } }))?.name,
    ).toBe('NotFoundError');
  });
});

describe('Function: searchJql', () => {
  it('puts labels and a native query after the project, newest first', () => {
    expect(
      searchJql({ project: 'OPS', state: 'all', labels: ['a', 'b'], query: 'priority = High', limit: 5 }),
    ).toBe('project = "OPS" AND labels = "a" AND labels = "b" AND (priority = High) ORDER BY created DESC');
  });
});
