import {
  ConflictError,
  ForbiddenError,
  NotFoundError,
  resetCircuitBreakers,
  TimeoutError,
  UnavailableError,
  UnexpectedResponseError,
  ValidationError,
} from '@circle-core/core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { describeNotifierConformance } from '#shared/interfaces/notifier.conformance.ts';
import {
  DEFAULT_SLACK_TOKEN,
  SEED_MESSAGE_TS,
  type SlackFake,
  startSlackFake,
} from '../../../scripts/local/sandboxes/slack.ts';
import { SlackClient } from './client.ts';

describeNotifierConformance('Slack', async () => {
  const fake = await startSlackFake();
  const notifier = new SlackClient({ token: DEFAULT_SLACK_TOKEN, baseUrl: fake.url });
  return {
    notifier,
    channel: 'C0GENERAL',
    missingChannel: 'C0MISSING',
    knownUser: { email: 'alice@example.com', id: 'U0ALICE' },
    readMessage: async (channel, ts) => {
      const message = fake.message(channel, ts);
      return message === undefined
        ? undefined
        : { text: message.text, blocks: message.blocks, threadTs: message.threadTs };
    },
    close: async () => {
      notifier.close();
      await fake.close();
    },
  };
});

describe('Class: SlackClient', () => {
  let fake: SlackFake;
  let slack: SlackClient;

  beforeAll(async () => {
    fake = await startSlackFake();
    slack = new SlackClient({ token: DEFAULT_SLACK_TOKEN, baseUrl: fake.url, timeoutMs: 300 });
  });
  afterAll(async () => {
    slack.close();
    await fake.close();
  });
  beforeEach(() => {
    fake.reset();
    resetCircuitBreakers();
  });

  describe('Method: postMessage', () => {
    it('sends a JSON POST with charset and the bearer token, and maps Slack arguments', async () => {
      // Act
      const posted = await slack.postMessage({ channel: 'C0ALERTS', text: 'disk full', unfurlLinks: false });
      // Assess
      const [request] = fake.requestsFor('chat.postMessage');
      expect(request?.httpMethod).toBe('POST');
      expect(request?.contentType).toBe('application/json; charset=utf-8');
      expect(request?.headers['authorization']).toBe(`Bearer ${DEFAULT_SLACK_TOKEN}`);
      expect(request?.args).toEqual({ channel: 'C0ALERTS', text: 'disk full', unfurl_links: false });
      expect(fake.message('C0ALERTS', posted.ts)).toMatchObject({ text: 'disk full', unfurlLinks: false });
    });

    it('posts blocks alone and returns the thread parent for a reply to a reply', async () => {
      // Prepare
      const blocks = [{ type: 'header', text: { type: 'plain_text', text: 'Incident' } }];
      const parent = await slack.postMessage({ channel: 'C0ALERTS', blocks });
      const reply = await slack.postMessage({ channel: 'C0ALERTS', text: 'first', threadTs: parent.ts });
      // Act
      const nested = await slack.postMessage({ channel: 'C0ALERTS', text: 'second', threadTs: reply.ts });
      // Assess
      expect(fake.message('C0ALERTS', parent.ts)?.blocks).toEqual(blocks);
      expect(nested.threadTs).toBe(parent.ts);
    });

    it('counts the 40 000-character text limit in characters: emoji-heavy text at the limit is posted whole', async () => {
      // Prepare: 40 000 characters, 80 000 UTF-16 units; 39 999 letters and an emoji (40 001 units).
      const emoji = '🔥'.repeat(40_000);
      const mixed = `${'a'.repeat(39_999)}😀`;
      // Act
      const first = await slack.postMessage({ channel: 'C0ALERTS', text: emoji });
      const second = await slack.postMessage({ channel: 'C0ALERTS', text: mixed });
      const over = slack.postMessage({ channel: 'C0ALERTS', text: `${emoji}x` });
      // Assess
      expect(fake.message('C0ALERTS', first.ts)?.text).toBe(emoji);
      expect(fake.message('C0ALERTS', second.ts)?.text).toBe(mixed);
      await expect(over).rejects.toMatchObject({ name: 'ValidationError', issues: [{ pointer: '/text' }] });
      expect(fake.requestsFor('chat.postMessage')).toHaveLength(2);
    });

    it('refuses a lone surrogate (half an emoji) in the text, the channel or the blocks, naming it, before any call', async () => {
      // Prepare: text cut with slice() inside an emoji; JSON carries it as \ud83d, which Slack garbles
      const half = '🔥'.slice(0, 1);
      const posted = await slack.postMessage({ channel: 'C0ALERTS', text: 'before' });
      const section = (text: string) => [{ type: 'section', text: { type: 'mrkdwn', text } }];
      // Act
      const attempts = [
        slack.postMessage({ channel: 'C0ALERTS', text: `disk full ${half}` }),
        slack.postMessage({ channel: `#alerts${half}`, text: 'disk full' }),
        slack.postMessage({ channel: 'C0ALERTS', text: 'x', blocks: section(half) }),
        slack.postMessage({ channel: 'C0ALERTS', blocks: [{ type: 'section', [`k${half}`]: 'v' }] }),
        slack.updateMessage({ channel: 'C0ALERTS', ts: posted.ts, text: `after ${half}` }),
        slack.updateMessage({ channel: 'C0ALERTS', ts: posted.ts, blocks: section(half) }),
      ];
      // Assess
      const pointers = [
        '/text',
        '/channel',
        '/blocks/0/text/text',
        `/blocks/0/k${half}`,
        '/text',
        '/blocks/0/text/text',
      ];
      for (const [index, attempt] of attempts.entries()) {
        await expect(attempt).rejects.toBeInstanceOf(ValidationError);
        await expect(attempt).rejects.toMatchObject({
          issues: [
            { pointer: pointers[index], message: 'expected well-formed Unicode (no lone surrogates)' },
          ],
        });
      }
      expect(fake.requestsFor('chat.postMessage')).toHaveLength(1);
      expect(fake.requestsFor('chat.update')).toHaveLength(0);
      expect(fake.message('C0ALERTS', posted.ts)?.text).toBe('before');
    });

    it('counts a section text in characters (3 000 as Slack reads it): 3 000 emoji pass, 3 001 are invalid_blocks', async () => {
      // Prepare
      const section = (text: string) => [{ type: 'section', text: { type: 'mrkdwn', text } }];
      // Act
      const fits = await slack.postMessage({ channel: 'C0ALERTS', blocks: section('🔥'.repeat(3_000)) });
      const over = slack.postMessage({ channel: 'C0ALERTS', blocks: section('🔥'.repeat(3_001)) });
      // Assess
      expect(fake.message('C0ALERTS', fits.ts)?.blocks).toEqual(section('🔥'.repeat(3_000)));
      await expect(over).rejects.toBeInstanceOf(ValidationError);
      await expect(over).rejects.toMatchObject({ details: { slackError: 'invalid_blocks' } });
    });

    it('opens a direct message when the channel is a user id', async () => {
      // Act
      const posted = await slack.postMessage({ channel: 'U0BOB', text: 'hi Bob' });
      // Assess
      expect(posted.channel).toBe('D0BOB');
    });

    it('throws ValidationError for blocks without a type, before calling Slack', async () => {
      // Act
      const attempt = slack.postMessage({ channel: 'C0ALERTS', blocks: [{ text: 'no type' } as never] });
      // Assess
      await expect(attempt).rejects.toBeInstanceOf(ValidationError);
      await expect(attempt).rejects.toMatchObject({ issues: [{ pointer: '/blocks/0/type' }] });
      expect(fake.requests).toEqual([]);
    });

    it('throws ForbiddenError naming not_in_channel when the bot is not a member', async () => {
      // Act
      const attempt = slack.postMessage({ channel: 'C0OUTSIDE', text: 'hello?' });
      // Assess
      await expect(attempt).rejects.toBeInstanceOf(ForbiddenError);
      await expect(attempt).rejects.toMatchObject({
        message: expect.stringContaining('(not_in_channel)'),
        details: { slackError: 'not_in_channel', method: 'chat.postMessage' },
      });
    });

    it('throws ConflictError for an archived channel', async () => {
      // Act
      const attempt = slack.postMessage({ channel: 'C0ARCHIVE', text: 'anyone?' });
      // Assess
      await expect(attempt).rejects.toBeInstanceOf(ConflictError);
    });

    it('throws NotFoundError for a thread parent that does not exist', async () => {
      // Act
      const attempt = slack.postMessage({ channel: 'C0ALERTS', text: 'reply', threadTs: '1.000001' });
      // Assess
      await expect(attempt).rejects.toMatchObject({
        name: 'NotFoundError',
        details: { slackError: 'thread_not_found' },
      });
    });

    it('sends a write once: a 5xx is not retried, since Slack has no idempotency keys', async () => {
      // Prepare
      fake.failNext('chat.postMessage', { status: 500 });
      // Act
      const attempt = slack.postMessage({ channel: 'C0ALERTS', text: 'once' });
      // Assess
      await expect(attempt).rejects.toBeInstanceOf(UnavailableError);
      expect(fake.requestsFor('chat.postMessage')).toHaveLength(1);
      expect(fake.messages.filter((message) => message.text === 'once')).toEqual([]);
    });

    it('throws TimeoutError when Slack does not answer in time', async () => {
      // Prepare
      fake.failNext('chat.postMessage', { hang: true });
      // Act
      const attempt = slack.postMessage({ channel: 'C0ALERTS', text: 'slow' });
      // Assess
      await expect(attempt).rejects.toBeInstanceOf(TimeoutError);
    });
  });

  describe('Method: updateMessage', () => {
    it('replaces the content of a message the bot posted', async () => {
      // Prepare
      const posted = await slack.postMessage({ channel: 'C0ALERTS', text: 'deploying' });
      const blocks = [{ type: 'section', text: { type: 'mrkdwn', text: '*deployed*' } }];
      // Act
      const updated = await slack.updateMessage({ channel: 'C0ALERTS', ts: posted.ts, blocks });
      // Assess
      expect(updated).toEqual({ channel: 'C0ALERTS', ts: posted.ts });
      expect(fake.message('C0ALERTS', posted.ts)).toMatchObject({ blocks, edited: { user: 'U0BOT' } });
    });

    it('throws ForbiddenError for a message someone else posted', async () => {
      // Act
      const attempt = slack.updateMessage({ channel: 'C0GENERAL', ts: SEED_MESSAGE_TS, text: 'edited' });
      // Assess
      await expect(attempt).rejects.toMatchObject({
        name: 'ForbiddenError',
        details: { slackError: 'cant_update_message' },
      });
    });

    it('throws NotFoundError for an unknown ts', async () => {
      // Act
      const attempt = slack.updateMessage({ channel: 'C0GENERAL', ts: '1.000009', text: 'edited' });
      // Assess
      await expect(attempt).rejects.toBeInstanceOf(NotFoundError);
    });
  });

  describe('Method: listChannels', () => {
    it('sends a GET with the Slack query arguments and maps the conversations', async () => {
      // Act
      const page = await slack.listChannels({
        types: ['public_channel', 'private_channel'],
        excludeArchived: true,
        limit: 50,
      });
      // Assess
      const [request] = fake.requestsFor('conversations.list');
      expect(request?.httpMethod).toBe('GET');
      expect(request?.args).toEqual({
        limit: '50',
        types: 'public_channel,private_channel',
        exclude_archived: 'true',
      });
      expect(page.nextCursor).toBeUndefined();
      expect(page.channels.map((channel) => channel.id)).toEqual([
        'C0GENERAL',
        'C0RANDOM',
        'C0ALERTS',
        'G0PRIVATE',
        'C0OUTSIDE',
      ]);
      expect(page.channels[0]).toEqual({
        id: 'C0GENERAL',
        name: 'general',
        isPrivate: false,
        isArchived: false,
        isMember: true,
        topic: 'Company-wide announcements',
        memberCount: 4,
      });
      expect(page.channels.find((channel) => channel.id === 'G0PRIVATE')?.isPrivate).toBe(true);
    });

    it('reports direct messages as private, joined and without a name', async () => {
      // Prepare
      await slack.postMessage({ channel: 'U0ALICE', text: 'hi Alice' });
      // Act
      const page = await slack.listChannels({ types: ['im'] });
      // Assess
      expect(page.channels).toEqual([{ id: 'D0ALICE', isPrivate: true, isArchived: false, isMember: true }]);
    });

    it('throws ValidationError for a cursor Slack does not know', async () => {
      // Act
      const attempt = slack.listChannels({ cursor: 'bm90LWEtY3Vyc29y' });
      // Assess
      await expect(attempt).rejects.toMatchObject({
        name: 'ValidationError',
        details: { slackError: 'invalid_cursor' },
      });
    });

    it('retries a read after a 5xx and then succeeds', async () => {
      // Prepare
      fake.failNext('conversations.list', { status: 502 });
      // Act
      const page = await slack.listChannels({ limit: 1 });
      // Assess
      expect(page.channels).toHaveLength(1);
      expect(fake.requestsFor('conversations.list')).toHaveLength(2);
    });
  });

  describe('Method: findUserByEmail', () => {
    it('returns the user with email and real name', async () => {
      // Act
      const user = await slack.findUserByEmail({ email: 'Alice@Example.com' });
      // Assess
      expect(user).toEqual({
        id: 'U0ALICE',
        name: 'alice',
        realName: 'Alice Example',
        email: 'alice@example.com',
      });
      expect(fake.requestsFor('users.lookupByEmail')[0]?.httpMethod).toBe('GET');
    });

    it('falls back to the display name, then the handle, when Slack has no real name', async () => {
      // Prepare
      fake.users.push(
        { id: 'U0CAROL', name: 'carol', displayName: 'Caz', email: 'carol@example.com' },
        { id: 'U0DAVE', name: 'dave', email: 'dave@example.com' },
      );
      // Act
      const carol = await slack.findUserByEmail({ email: 'carol@example.com' });
      const dave = await slack.findUserByEmail({ email: 'dave@example.com' });
      // Assess
      expect(carol.realName).toBe('Caz');
      expect(dave.realName).toBe('dave');
    });
  });

  describe('Method: authTest', () => {
    it('returns the identity of the token', async () => {
      // Act
      const identity = await slack.authTest();
      // Assess
      expect(identity).toEqual({
        url: 'https://circle-test.slack.com/',
        team: 'Circle Test',
        teamId: 'T0CIRCLE',
        user: 'circle-bot',
        userId: 'U0BOT',
        botId: 'B0BOT',
      });
    });

    it('throws UnexpectedResponseError when an ok answer lacks the fields it needs', async () => {
      // Prepare
      fake.failNext('auth.test', { body: { ok: true, team: 'Circle Test' } });
      // Act
      const attempt = slack.authTest();
      // Assess
      await expect(attempt).rejects.toBeInstanceOf(UnexpectedResponseError);
      await expect(attempt).rejects.toThrow(
        /auth\.test without the expected fields \(url, user, team_id, user_id\)/,
      );
    });

    it('throws UnexpectedResponseError for a JSON content-type that does not parse', async () => {
      // Prepare
      fake.failNext('auth.test', { body: '{"ok": tru', contentType: 'application/json; charset=utf-8' });
      // Act
      const attempt = slack.authTest();
      // Assess
      await expect(attempt).rejects.toBeInstanceOf(UnexpectedResponseError);
      expect(fake.requestsFor('auth.test')).toHaveLength(1);
    });
  });
});
