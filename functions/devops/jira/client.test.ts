/** inspectJiraResponse and searchJql: Jira's 400 bodies and the JQL a search sends. */
import { describe, expect, it } from 'vitest';
import { checkJqlQuery, inspectJiraResponse, searchJql } from './client.ts';

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

describe('Function: checkJqlQuery', () => {
  const refusal = (query: string): unknown => {
    try {
      checkJqlQuery(query);
      return undefined;
    } catch (error) {
      return { name: (error as Error).name, issues: (error as { issues?: unknown }).issues };
    }
  };

  it('refuses a query that closes the parentheses it is ANDed in, naming /query', () => {
    expect(refusal('statusCategory = Done) OR (project = WEB')).toEqual({
      name: 'ValidationError',
      issues: [
        { pointer: '/query', message: 'expected balanced parentheses: a ) closes more than was opened' },
      ],
    });
    expect(refusal('a = 1) OR project = WEB OR (b = 2')).toMatchObject({ name: 'ValidationError' });
    expect(() =>
      searchJql({ project: 'OPS', state: 'all', query: 'a = 1) OR (project = WEB', limit: 5 }),
    ).toThrow(/\/query/);
  });

  it('refuses unbalanced parentheses, an unended string, an escaped parenthesis and ORDER BY', () => {
    const messages = [
      '(a = 1',
      'a in (1, 2',
      'summary ~ "x',
      "summary ~ 'x",
      'a = b\\)',
      'a = 1 ORDER BY key',
      'a = 1 order\n by created',
    ].map((query) => (refusal(query) as { issues: { message: string }[] } | undefined)?.issues[0]?.message);
    expect(messages).toEqual([
      'expected balanced parentheses: a ( is never closed',
      'expected balanced parentheses: a ( is never closed',
      'expected every string literal to end',
      'expected every string literal to end',
      'expected no escaped parenthesis outside a string literal; quote the value',
      'expected no ORDER BY; issues come newest first',
      'expected no ORDER BY; issues come newest first',
    ]);
  });

  it('reads parentheses, quotes and ORDER BY inside string literals as text', () => {
    for (const query of [
      'summary ~ "a) OR (b"',
      "summary ~ 'a) OR (b'",
      'summary ~ "say \\"hi) \\" there"',
      "summary ~ 'it\\'s (fine'",
      'summary ~ "order by" AND (labels in (a, b) OR assignee = "x")',
      'ordered = 1 AND border = "by"',
    ]) {
      expect(refusal(query)).toBeUndefined();
    }
  });
});
