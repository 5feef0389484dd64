/**
 * The conformance suite of the notifier interface. Any implementation runs it from its own test file
 * against its real peer (a contract fake for SaaS providers), so every notifier behaves the same for the
 * same input: ids returned, what was posted readable back from the peer, errors classified, optional
 * abilities either working or refused with NotSupportedError. A test for an ability skips where the
 * ability is not offered, and its refusal test skips where it is: test/conformance runs the suite once
 * against a notifier without any optional ability, so both halves run.
 */
import { NotFoundError, NotSupportedError, ValidationError } from '@circle-core/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NOT_WELL_FORMED } from '../models/paths.ts';
import { skipIfOffered, skipUnlessOffered } from './capability-tests.ts';
import type { Notifier } from './notifier.ts';

/** What a message looks like when read back from the peer. */
export interface StoredMessageView {
  text?: string | undefined;
  blocks?: unknown[] | undefined;
  threadTs?: string | undefined;
}

/** What the suite needs from an implementation's test file. */
export interface NotifierConformanceFixture {
  notifier: Notifier;
  /**
   * A channel id that exists, that the notifier may post in, and that `listChannels` reports (among at
   * least one other, so paging is exercised).
   */
  channel: string;
  /** A channel id that does not exist. */
  missingChannel: string;
  /** For `user-lookup`: a person the peer knows. */
  knownUser?: { email: string; id: string };
  /**
   * Reads a posted message back from the peer (a contract fake can; the interface has no read of its
   * own), so the suite checks what arrived, not only what the notifier answered.
   */
  readMessage: (channel: string, ts: string) => Promise<StoredMessageView | undefined>;
  close?: () => Promise<void>;
}

/**
 * Registers the notifier conformance tests for one implementation.
 *
 * @example
 * ```ts
 * describeNotifierConformance('Slack', async () => {
 *   const fake = await startSlackFake();
 *   return { notifier: new SlackClient({ token: 'xoxb-test', baseUrl: fake.url }), channel: 'C0GENERAL',
 *     missingChannel: 'C0MISSING', readMessage: async (channel, ts) => fake.message(channel, ts),
 *     close: () => fake.close() };
 * });
 * ```
 */
export function describeNotifierConformance(
  name: string,
  factory: () => Promise<NotifierConformanceFixture>,
): void {
  describe(`Conformance: notifier (${name})`, () => {
    let fixture: NotifierConformanceFixture;
    beforeAll(async () => {
      fixture = await factory();
    });
    afterAll(async () => {
      await fixture?.close?.();
    });

    describe('Method: postMessage', () => {
      it('returns the channel and a new message id for each message', async () => {
        // Act
        const first = await fixture.notifier.postMessage({ channel: fixture.channel, text: 'conformance 1' });
        const second = await fixture.notifier.postMessage({
          channel: fixture.channel,
          text: 'conformance 2',
        });
        // Assess
        expect(first.channel).toBe(fixture.channel);
        expect(first.ts).not.toBe('');
        expect(second.ts).not.toBe(first.ts);
        expect(first.threadTs).toBeUndefined();
        await expect(fixture.readMessage(first.channel, first.ts)).resolves.toMatchObject({
          text: 'conformance 1',
        });
        await expect(fixture.readMessage(second.channel, second.ts)).resolves.toMatchObject({
          text: 'conformance 2',
        });
      });

      it('throws ValidationError when neither text nor blocks is given', async () => {
        // Act
        const attempt = fixture.notifier.postMessage({ channel: fixture.channel });
        // Assess
        await expect(attempt).rejects.toBeInstanceOf(ValidationError);
      });

      it('throws ValidationError naming /text for a lone surrogate (half an emoji), which providers garble', async () => {
        // Prepare: text cut with slice() in the middle of an emoji; no UTF-8 encoder can write it
        const half = '\u{1F525}'.slice(0, 1);
        // Act
        const attempt = fixture.notifier.postMessage({ channel: fixture.channel, text: `disk full ${half}` });
        // Assess
        await expect(attempt).rejects.toBeInstanceOf(ValidationError);
        await expect(attempt).rejects.toMatchObject({
          issues: [{ pointer: '/text', message: NOT_WELL_FORMED }],
        });
      });

      it('throws NotFoundError when the channel does not exist', async () => {
        // Act
        const attempt = fixture.notifier.postMessage({ channel: fixture.missingChannel, text: 'lost' });
        // Assess
        await expect(attempt).rejects.toBeInstanceOf(NotFoundError);
      });

      it('posts blocks with capability "blocks", read back as posted', async (context) => {
        // Prepare
        skipUnlessOffered(context, fixture.notifier, 'blocks');
        const blocks = [{ type: 'section', text: { type: 'mrkdwn', text: '*conformance*' } }];
        // Act
        const posted = await fixture.notifier.postMessage({ channel: fixture.channel, blocks });
        // Assess
        expect(posted.channel).toBe(fixture.channel);
        const stored = await fixture.readMessage(posted.channel, posted.ts);
        expect(stored?.blocks).toEqual(blocks);
      });

      it('throws ValidationError naming the string in the blocks that holds a lone surrogate, with capability "blocks"', async (context) => {
        // Prepare
        skipUnlessOffered(context, fixture.notifier, 'blocks');
        const blocks = [
          { type: 'section', text: { type: 'mrkdwn', text: `*disk* ${'\u{1F525}'.slice(1)}` } },
        ];
        // Act
        const attempt = fixture.notifier.postMessage({ channel: fixture.channel, blocks });
        // Assess
        await expect(attempt).rejects.toBeInstanceOf(ValidationError);
        await expect(attempt).rejects.toMatchObject({
          issues: [{ pointer: '/blocks/0/text/text', message: NOT_WELL_FORMED }],
        });
      });

      it('refuses blocks with NotSupportedError without capability "blocks"', async (context) => {
        // Prepare
        skipIfOffered(context, fixture.notifier, 'blocks');
        const blocks = [{ type: 'section', text: { type: 'mrkdwn', text: '*conformance*' } }];
        // Act
        const attempt = fixture.notifier.postMessage({ channel: fixture.channel, text: 'plain', blocks });
        // Assess
        await expect(attempt).rejects.toBeInstanceOf(NotSupportedError);
      });

      it('replies in a thread with capability "threads"', async (context) => {
        // Prepare
        skipUnlessOffered(context, fixture.notifier, 'threads');
        const parent = await fixture.notifier.postMessage({ channel: fixture.channel, text: 'parent' });
        // Act
        const reply = await fixture.notifier.postMessage({
          channel: fixture.channel,
          text: 'reply',
          threadTs: parent.ts,
        });
        // Assess
        expect(reply.threadTs).toBe(parent.ts);
        expect(reply.ts).not.toBe(parent.ts);
        await expect(fixture.readMessage(reply.channel, reply.ts)).resolves.toMatchObject({
          text: 'reply',
          threadTs: parent.ts,
        });
      });

      it('refuses a thread reply with NotSupportedError without capability "threads"', async (context) => {
        // Prepare
        skipIfOffered(context, fixture.notifier, 'threads');
        const parent = await fixture.notifier.postMessage({ channel: fixture.channel, text: 'parent' });
        // Act
        const attempt = fixture.notifier.postMessage({
          channel: fixture.channel,
          text: 'reply',
          threadTs: parent.ts,
        });
        // Assess
        await expect(attempt).rejects.toBeInstanceOf(NotSupportedError);
      });
    });

    describe('Method: updateMessage', () => {
      it('replaces the text with capability "update"', async (context) => {
        // Prepare
        skipUnlessOffered(context, fixture.notifier, 'update');
        const posted = await fixture.notifier.postMessage({ channel: fixture.channel, text: 'before' });
        // Act
        const updated = await fixture.notifier.updateMessage({
          channel: posted.channel,
          ts: posted.ts,
          text: 'after',
        });
        // Assess
        expect(updated).toEqual({ channel: posted.channel, ts: posted.ts });
        await expect(fixture.readMessage(posted.channel, posted.ts)).resolves.toMatchObject({
          text: 'after',
        });
      });

      it('throws ValidationError naming /text for a lone surrogate with capability "update", leaving the message as it was', async (context) => {
        // Prepare
        skipUnlessOffered(context, fixture.notifier, 'update');
        const posted = await fixture.notifier.postMessage({ channel: fixture.channel, text: 'before' });
        // Act
        const attempt = fixture.notifier.updateMessage({
          channel: posted.channel,
          ts: posted.ts,
          text: `after ${'\u{1F525}'.slice(0, 1)}`,
        });
        // Assess
        await expect(attempt).rejects.toMatchObject({
          issues: [{ pointer: '/text', message: NOT_WELL_FORMED }],
        });
        await expect(fixture.readMessage(posted.channel, posted.ts)).resolves.toMatchObject({
          text: 'before',
        });
      });

      it('refuses with NotSupportedError without capability "update", leaving the message as it was', async (context) => {
        // Prepare
        skipIfOffered(context, fixture.notifier, 'update');
        const posted = await fixture.notifier.postMessage({ channel: fixture.channel, text: 'before' });
        // Act
        const attempt = fixture.notifier.updateMessage({
          channel: posted.channel,
          ts: posted.ts,
          text: 'after',
        });
        // Assess
        await expect(attempt).rejects.toBeInstanceOf(NotSupportedError);
        await expect(fixture.readMessage(posted.channel, posted.ts)).resolves.toMatchObject({
          text: 'before',
        });
      });
    });

    describe('Method: listChannels', () => {
      it('pages through every channel with capability "channels"', async (context) => {
        // Prepare
        skipUnlessOffered(context, fixture.notifier, 'channels');
        const ids: string[] = [];
        let cursor: string | undefined;
        let pages = 0;
        // Act
        do {
          const page = await fixture.notifier.listChannels(
            cursor === undefined ? { limit: 1 } : { limit: 1, cursor },
          );
          expect(page.channels.length).toBeLessThanOrEqual(1);
          ids.push(...page.channels.map((channel) => channel.id));
          cursor = page.nextCursor;
          pages += 1;
        } while (cursor !== undefined && pages < 1000);
        // Assess
        expect(cursor).toBeUndefined();
        expect(pages).toBeGreaterThan(1);
        expect(ids).toContain(fixture.channel);
        expect(new Set(ids).size).toBe(ids.length);
      });

      it('refuses with NotSupportedError without capability "channels"', async (context) => {
        // Prepare
        skipIfOffered(context, fixture.notifier, 'channels');
        // Act
        const attempt = fixture.notifier.listChannels({ limit: 1 });
        // Assess
        await expect(attempt).rejects.toBeInstanceOf(NotSupportedError);
      });
    });

    describe('Method: findUserByEmail', () => {
      it('finds a known person and throws NotFoundError for an unknown address', async (context) => {
        // Prepare
        skipUnlessOffered(context, fixture.notifier, 'user-lookup');
        const known = fixture.knownUser;
        expect(known, 'a notifier with "user-lookup" must name a knownUser in its fixture').toBeDefined();
        const email = known?.email ?? '';
        // Act
        const user = await fixture.notifier.findUserByEmail({ email });
        const missing = fixture.notifier.findUserByEmail({ email: 'nobody.at.all@example.invalid' });
        // Assess
        expect(user.id).toBe(known?.id);
        await expect(missing).rejects.toBeInstanceOf(NotFoundError);
      });

      it('throws ValidationError for something that is not an email address', async (context) => {
        // Prepare
        skipUnlessOffered(context, fixture.notifier, 'user-lookup');
        // Act
        const attempt = fixture.notifier.findUserByEmail({ email: 'not-an-address' });
        // Assess
        await expect(attempt).rejects.toBeInstanceOf(ValidationError);
      });

      it('refuses with NotSupportedError without capability "user-lookup"', async (context) => {
        // Prepare
        skipIfOffered(context, fixture.notifier, 'user-lookup');
        // Act
        const attempt = fixture.notifier.findUserByEmail({ email: 'nobody@example.com' });
        // Assess
        await expect(attempt).rejects.toBeInstanceOf(NotSupportedError);
      });
    });
  });
}
