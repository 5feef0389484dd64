/**
 * GitHub's REST response shapes (the fields the connector reads) and their mapping onto the source
 * control models. The core's REST client parses each answer with these schemas: one that does not fit is
 * an UnexpectedResponseError naming the fields, never a crash later on.
 */
import { UnexpectedResponseError } from '@circle-core/core';
import * as z from 'zod';
import type { Issue, IssueComment, RepositoryFile } from '#shared/models/source-control.ts';

const RawUser = z.object({ login: z.string() });

export const RawIssue = z.object({
  number: z.number().int().positive(),
  title: z.string(),
  body: z.string().nullish(),
  state: z.enum(['open', 'closed']),
  labels: z.array(z.union([z.string(), z.object({ name: z.string().nullish() })])).default([]),
  assignees: z.array(RawUser).nullish(),
  user: RawUser.nullish(),
  comments: z.number().int().nonnegative().default(0),
  html_url: z.string(),
  created_at: z.string(),
  updated_at: z.string(),
  closed_at: z.string().nullish(),
  pull_request: z.unknown().optional(),
});

/** The answer of `POST .../issues/{number}/labels`: every label the issue has. */
export const RawLabels = z.array(z.object({ name: z.string() }));

export const RawComment = z.object({
  id: z.number().int().positive(),
  body: z.string().nullish(),
  user: RawUser.nullish(),
  html_url: z.string(),
  created_at: z.string(),
});

export const RawFile = z.object({
  type: z.string(),
  path: z.string(),
  sha: z.string(),
  size: z.number().int().nonnegative(),
  encoding: z.string().optional(),
  content: z.string().optional(),
});

/** The GitHub contents API answer for a file (directories are arrays and never get here). */
export type RawFile = z.infer<typeof RawFile>;

/** The contents API answer for one path: an array for a directory, an entry (file, symlink, ...) otherwise. */
export const ContentAnswer = z.union([z.array(z.unknown()), RawFile]);

/**
 * Maps one GitHub issue onto the {@link Issue} model.
 *
 * @example
 * ```ts
 * const issue = toIssue(await rest.post(path, RawIssue, { json })); // { number: 1, title: 'Bug', ... }
 * ```
 */
export function toIssue(raw: z.infer<typeof RawIssue>): Issue {
  return {
    number: raw.number,
    title: raw.title,
    body: raw.body ?? null,
    state: raw.state,
    labels: raw.labels
      .map((label) => (typeof label === 'string' ? label : (label.name ?? '')))
      .filter((name) => name !== ''),
    assignees: (raw.assignees ?? []).map((user) => user.login),
    author: raw.user?.login ?? null,
    comments: raw.comments,
    url: raw.html_url,
    createdAt: raw.created_at,
    updatedAt: raw.updated_at,
    closedAt: raw.closed_at ?? null,
    isPullRequest: raw.pull_request !== undefined && raw.pull_request !== null,
  };
}

/**
 * Maps a GitHub issue comment onto the {@link IssueComment} model.
 *
 * @example
 * ```ts
 * const comment = toComment(await rest.post(path, RawComment, { json }), 7);
 * ```
 */
export function toComment(raw: z.infer<typeof RawComment>, issueNumber: number): IssueComment {
  return {
    id: raw.id,
    issueNumber,
    body: raw.body ?? '',
    author: raw.user?.login ?? null,
    url: raw.html_url,
    createdAt: raw.created_at,
  };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes GitHub's base64 file content: valid UTF-8 without NUL bytes is returned as text, anything else
 * as base64 (without GitHub's line breaks).
 *
 * @example
 * ```ts
 * decodeFile({ type: 'file', path: 'a.txt', sha: 'abc', size: 2, encoding: 'base64', content: 'aGk=\n' });
 * // { path: 'a.txt', sha: 'abc', size: 2, encoding: 'utf8', content: 'hi' }
 * ```
 */
export function decodeFile(file: RawFile): RepositoryFile {
  const bytes = Buffer.from(file.content ?? '', 'base64');
  if (bytes.length !== file.size) {
    throw new UnexpectedResponseError(`GitHub answered ${bytes.length} bytes for a file of ${file.size}`, {
      details: { provider: 'GitHub' },
    });
  }
  const base = { path: file.path, sha: file.sha, size: file.size };
  if (!bytes.includes(0)) {
    try {
      return { ...base, encoding: 'utf8', content: utf8.decode(bytes) };
    } catch {
      // Not UTF-8: fall through to base64.
    }
  }
  return { ...base, encoding: 'base64', content: bytes.toString('base64') };
}
