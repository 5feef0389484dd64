/**
 * File paths, refs and labels that are not plain ASCII, or hold characters URLs reserve, through the GitLab
 * connector to the GitLab contract fake. GitLab's REST reference: `:id` is the project ID or its URL-encoded
 * path (`ops%2Fplatform`), `:file_path` the URL-encoded full path (`docs%2Frunbook.md`, `/` included);
 * query parameters are form-encoded, `labels` a comma-separated list (a GitLab label has no comma).
 */
import { bearerAuth, ValidationError } from '@circle-core/core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  GITLAB_SANDBOX_TOKEN,
  type GitlabFakeState,
  startGitlabFake,
} from '../../../scripts/local/sandboxes/gitlab.ts';
import type { FakeServer } from '../../../scripts/local/sandboxes/kit/index.ts';
import { GitlabClient } from './client.ts';
import { GetFileInput, PutFileInput } from './models.ts';
import { GitlabSourceControl } from './source-control.ts';

const PATHS = [
  'docs/ünï cødé/日本語 #1?.md',
  'c++/a%2Fb+c.txt',
  "odd/[x] (y) {z} 'q' !*;=&@:$,.md",
  'nfc/caf\u00e9.md',
  'nfc/cafe\u0301.md',
];

let fake: FakeServer<GitlabFakeState>;
let client: GitlabClient;
let sourceControl: GitlabSourceControl;

/** The connector's file calls, on input parsed as the runtime parses it. */
const getFile = (input: Record<string, unknown>) => client.api.getFile(GetFileInput.parse(input));
const putFile = (input: Record<string, unknown>) => client.api.putFile(PutFileInput.parse(input));

beforeAll(async () => {
  fake = await startGitlabFake();
});

beforeEach(() => {
  fake.reset();
  client = new GitlabClient({ baseUrl: `${fake.url}/api/v4`, token: GITLAB_SANDBOX_TOKEN });
  sourceControl = new GitlabSourceControl({
    baseUrl: `${fake.url}/api/v4`,
    auth: bearerAuth({ token: GITLAB_SANDBOX_TOKEN }),
  });
});

afterAll(async () => {
  client?.close();
  sourceControl?.close();
  await fake?.close();
});

describe('Module: GitLab names beyond plain ASCII', () => {
  it.each(PATHS)(
    'writes and reads %j: project and file path each encoded once, slashes included',
    async (path) => {
      // Act
      const put = await putFile({
        project: 'ops/platform',
        path,
        branch: 'main',
        content: `content of ${path}`,
        commitMessage: 'add',
      });
      const got = await getFile({ project: 'ops/platform', path, ref: 'main' });
      // Assess
      expect(put).toMatchObject({ path, created: true });
      expect(got).toMatchObject({ path, encoding: 'utf-8', content: `content of ${path}` });
      const expected = `/api/v4/projects/ops%2Fplatform/repository/files/${encodeURIComponent(path)}`;
      expect([...fake.logFor('write-file'), ...fake.logFor('get-file')].map((entry) => entry.path)).toEqual([
        expected,
        expected,
      ]);
    },
  );

  it('keeps NFC and NFD spellings apart, and a literal "%2F" a literal ("%252F", never a separator)', async () => {
    // Prepare
    for (const [path, content] of [
      ['nfc/caf\u00e9.md', 'composed'],
      ['nfc/cafe\u0301.md', 'decomposed'],
      ['x%2Fy.md', 'literal'],
    ]) {
      await putFile({ project: 'ops/platform', path, branch: 'main', content, commitMessage: 'add' });
    }
    // Act
    const composed = await getFile({ project: 'ops/platform', path: 'nfc/caf\u00e9.md' });
    const decomposed = await getFile({ project: 'ops/platform', path: 'nfc/cafe\u0301.md' });
    const literal = await getFile({ project: 'ops/platform', path: 'x%2Fy.md', ref: 'main' });
    const slash = await getFile({ project: 'ops/platform', path: 'x/y.md', ref: 'main' }).catch(
      (e: unknown) => e,
    );
    // Assess
    expect([composed.content, decomposed.content, literal.content]).toEqual([
      'composed',
      'decomposed',
      'literal',
    ]);
    expect(fake.logFor('get-file').map((entry) => entry.path)).toContain(
      '/api/v4/projects/ops%2Fplatform/repository/files/x%252Fy.md',
    );
    expect((slash as Error).name).toBe('NotFoundError');
  });

  it('sends a ref with "+" as one query value, not a space', async () => {
    // Prepare
    const platform = fake.state.projects.find((p) => p.path === 'ops/platform');
    platform?.branches.set(
      'feature/a+b',
      new Map([['README.md', { content: Buffer.from('plus'), last_commit_id: 'abc1234' }]]),
    );
    // Act
    const file = await getFile({ project: 'ops/platform', path: 'README.md', ref: 'feature/a+b' });
    // Assess
    expect(file).toMatchObject({ ref: 'feature/a+b', content: 'plus' });
    expect(fake.logFor('get-file')[0]?.query).toEqual({ ref: 'feature/a+b' });
  });

  it('filters and creates issues with non-ASCII labels, joined with commas', async () => {
    // Act
    const created = await sourceControl.createIssue({
      owner: 'ops',
      repo: 'platform',
      title: 'Ünïcode',
      labels: ['priorité: haute', '🐛 bug', 'c++'],
    });
    const page = await sourceControl.listIssues({
      owner: 'ops',
      repo: 'platform',
      labels: ['🐛 bug', 'c++'],
    });
    // Assess
    expect(created.labels).toEqual(['priorité: haute', '🐛 bug', 'c++']);
    expect(page.issues.map((issue) => issue.number)).toEqual([created.number]);
    expect(fake.logFor('list-issues')[0]?.query['labels']).toBe('🐛 bug,c++');
  });

  it('keeps non-ASCII labels through the next-page cursor, encoded once', async () => {
    // Prepare
    for (const title of ['Première', 'Deuxième']) {
      await sourceControl.createIssue({ owner: 'ops', repo: 'platform', title, labels: ['état: ouvert'] });
    }
    // Act
    const first = await sourceControl.listIssues({
      owner: 'ops',
      repo: 'platform',
      labels: ['état: ouvert'],
      perPage: 1,
    });
    const second = await sourceControl.listIssues({
      owner: 'ops',
      repo: 'platform',
      cursor: first.nextCursor ?? '',
    });
    // Assess
    expect(first.nextCursor).toBeDefined();
    expect([...first.issues, ...second.issues].map((issue) => issue.title).sort()).toEqual([
      'Deuxième',
      'Première',
    ]);
    expect(fake.logFor('list-issues').map((entry) => entry.query['labels'])).toEqual([
      'état: ouvert',
      'état: ouvert',
    ]);
  });

  it('refuses a label with a comma, naming it, before any call: GitLab would split it into two labels', async () => {
    // Act
    const create = await sourceControl
      .createIssue({ owner: 'ops', repo: 'platform', title: 'x', labels: ['ok', 'a,b'] })
      .catch((error: unknown) => error);
    const list = await sourceControl
      .listIssues({ owner: 'ops', repo: 'platform', labels: ['a,b'] })
      .catch((error: unknown) => error);
    // Assess
    expect(create).toBeInstanceOf(ValidationError);
    expect((create as ValidationError).issues.map((issue) => issue.pointer)).toEqual(['/labels/1']);
    expect(list).toBeInstanceOf(ValidationError);
    expect((list as ValidationError).issues.map((issue) => issue.pointer)).toEqual(['/labels/0']);
    expect(fake.log).toEqual([]);
  });
});
