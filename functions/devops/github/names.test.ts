/**
 * Paths, refs and labels that are not plain ASCII, or hold characters URLs reserve, through GitHubClient to
 * the GitHub contract fake. The REST reference: `GET /repos/{owner}/{repo}/contents/{path}` takes the path
 * with `/` as the separator and every other reserved byte percent-encoded (UTF-8); `ref` and `labels` are
 * query parameters, form-encoded (a `+` is `%2B`; `labels` is a comma-separated list).
 */
import { bearerAuth, resetCircuitBreakers, ValidationError } from '@circle-core/core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type GitHubFake, startGitHubFake } from '../../../scripts/local/sandboxes/github.ts';
import { GitHubClient } from './client.ts';

const TOKEN = 'ghp_names_test_token';
const REPO = { owner: 'octo', repo: 'hello' };

const FILES = [
  'docs/ünï cødé/日本語 #1?.md',
  'c++/a%2Fb+c.txt',
  "odd/[x] (y) {z} 'q' !*;=&@:$,.md",
  'emoji/🎉 party.txt',
  'nfc/caf\u00e9.md',
  'nfc/cafe\u0301.md',
];

/** The path part GitHub expects: each segment percent-encoded as UTF-8, `/` kept. */
const pathPart = (path: string): string => path.split('/').map(encodeURIComponent).join('/');

let github: GitHubFake;
const client = (): GitHubClient =>
  new GitHubClient({ baseUrl: github.baseUrl, auth: bearerAuth({ token: TOKEN }) });

beforeAll(async () => {
  github = await startGitHubFake({
    tokens: [TOKEN],
    repos: {
      'octo/hello': {
        files: Object.fromEntries(FILES.map((path) => [path, `content of ${path}`])),
        issues: [
          { title: 'C++ one', labels: ['c++', 'good first issue'] },
          { title: 'Accented', labels: ['priorité: haute', '🐛 bug'] },
          { title: 'Plain', labels: ['c'] },
          { title: 'Spaced', labels: ['c  ', 'good first issue'] },
        ],
      },
    },
  });
  github.putFile('octo/hello', 'README.md', '# On a non-ASCII branch\n', 'feature/ünï+x');
});

afterAll(async () => {
  await github.close();
});

beforeEach(() => {
  github.clearFaults();
  github.requests.length = 0;
  resetCircuitBreakers();
});

describe('Class: GitHubClient, names beyond plain ASCII', () => {
  it.each(FILES)('reads %j: each segment encoded once, the path answered as stored', async (path) => {
    // Act
    const file = await client().getFile({ ...REPO, path });
    // Assess
    expect(file).toMatchObject({ path, encoding: 'utf8', content: `content of ${path}` });
    expect(github.requests.map((request) => request.path)).toEqual([
      `/repos/octo/hello/contents/${pathPart(path)}`,
    ]);
  });

  it('keeps a literal "%2F" a literal: "%252F" on the wire, never a separator', async () => {
    // Act
    const file = await client().getFile({ ...REPO, path: 'c++/a%2Fb+c.txt' });
    // Assess
    expect(file.path).toBe('c++/a%2Fb+c.txt');
    expect(github.requests[0]?.path).toBe('/repos/octo/hello/contents/c%2B%2B/a%252Fb%2Bc.txt');
  });

  it('sends a ref with "+" and non-ASCII as one query value, not a space', async () => {
    // Act
    const file = await client().getFile({ ...REPO, path: 'README.md', ref: 'feature/ünï+x' });
    // Assess
    expect(file.content).toBe('# On a non-ASCII branch\n');
    expect(github.requests[0]?.query).toEqual({ ref: 'feature/ünï+x' });
  });

  it('filters by labels with "+", spaces, a colon and emoji, and keeps them across the cursor', async () => {
    // Act
    const plus = await client().listIssues({ ...REPO, labels: ['c++', 'good first issue'], perPage: 1 });
    const accented = await client().listIssues({ ...REPO, labels: ['priorité: haute', '🐛 bug'] });
    // Assess
    expect(plus.issues.map((issue) => issue.title)).toEqual(['C++ one']);
    expect(accented.issues.map((issue) => issue.title)).toEqual(['Accented']);
    expect(github.requests.map((request) => request.query['labels'])).toEqual([
      'c++,good first issue',
      'priorité: haute,🐛 bug',
    ]);
  });

  it('keeps non-ASCII and "+" labels through the next-page cursor, encoded once', async () => {
    // Prepare: two issues carry "good first issue"; one page each.
    const first = await client().listIssues({
      ...REPO,
      labels: ['good first issue'],
      perPage: 1,
      state: 'all',
    });
    // Act
    const second = await client().listIssues({ ...REPO, cursor: first.nextCursor ?? '' });
    // Assess
    expect(first.nextCursor).toBeDefined();
    expect(new Set([...first.issues, ...second.issues].map((issue) => issue.title))).toEqual(
      new Set(['C++ one', 'Spaced']),
    );
    expect(github.requests.map((request) => request.query['labels'])).toEqual([
      'good first issue',
      'good first issue',
    ]);
  });

  it('refuses a label filter with a comma, naming it, before any call: GitHub would read two labels', async () => {
    // Act
    const error = await client()
      .listIssues({ ...REPO, labels: ['bug', 'needs, triage'] })
      .catch((e: unknown) => e);
    // Assess
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues.map((issue) => issue.pointer)).toEqual(['/labels/1']);
    expect(github.requests).toEqual([]);
  });
});
