/**
 * The conformance suite of the notifier interface. Any implementation runs it from its own test file
 * against its real peer (a contract fake for SaaS providers), so every notifier behaves the same for the
 * same input: ids returned, errors classified, optional abilities either working or refused with
 * NotSupportedError.
 */
import { NotFoundError, NotSupportedError, ValidationError } from '@circle-core/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Notifier } from './notifier.ts';

/** What a message looks like when read back from the peer. */
export interface StoredMessageView {
  text?: string | undefined;
  threadTs?: string | undefined;
}

/** What the suite needs from an implementation's test file. */
export interface NotifierConformanceFixture {
  notifier: Notifier;
  /** A channel id that exists, that the notifier may post in, and that `listChannels` reports. */
  channel: string;
  /** A channel id that does not exist. */
  missingChannel: string;
  /** For `user-lookup`: a person the peer knows. */
  knownUser?: { email: string; id: string };
  /** Reads a posted message back from the peer, when the peer allows it (a contract fake does). */
  readMessage?: (channel: string, ts: string) => Promise<StoredMessageView | undefined>;
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
 *     missingChannel: 'C0MISSING', close: () => fake.close() };
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
        if (fixture.readMessage !== undefined) {
          await expect(fixture.readMessage(first.channel, first.ts)).resolves.toMatchObject({
            text: 'conformance 1',
          });
        }
      });

      it('throws ValidationError when neither text nor blocks is given', async () => {
        // Act
        const attempt = fixture.notifier.postMessage({ channel: fixture.channel });
        // Assess
        await expect(attempt).rejects.toBeInstanceOf(ValidationError);
      });

      it('throws NotFoundError when the channel does not exist', async () => {
        // Act
        const attempt = fixture.notifier.postMessage({ channel: fixture.missingChannel, text: 'lost' });
        // Assess
        await expect(attempt).rejects.toBeInstanceOf(NotFoundError);
      });

      it('posts blocks with capability "blocks", else throws NotSupportedError', async () => {
        // Prepare
        const blocks = [{ type: 'section', text: { type: 'mrkdwn', text: '*conformance*' } }];
        // Act
        const attempt = fixture.notifier.postMessage({ channel: fixture.channel, blocks });
        // Assess
        if (fixture.notifier.capabilities.has('blocks')) {
          await expect(attempt).resolves.toMatchObject({ channel: fixture.channel });
        } else {
          await expect(attempt).rejects.toBeInstanceOf(NotSupportedError);
        }
      });

      it('replies in a thread with capability "threads", else throws NotSupportedError', async () => {
        // Prepare
        const parent = await fixture.notifier.postMessage({ channel: fixture.channel, text: 'parent' });
        // Act
        const attempt = fixture.notifier.postMessage({
          channel: fixture.channel,
          text: 'reply',
          threadTs: parent.ts,
        });
        // Assess
        if (!fixture.notifier.capabilities.has('threads')) {
          await expect(attempt).rejects.toBeInstanceOf(NotSupportedError);
          return;
        }
        const reply = await attempt;
        expect(reply.threadTs).toBe(parent.ts);
        expect(reply.ts).not.toBe(parent.ts);
        if (fixture.readMessage !== undefined) {
          await expect(fixture.readMessage(reply.channel, reply.ts)).resolves.toMatchObject({
            threadTs: parent.ts,
          });
        }
      });
    });

    describe('Method: updateMessage', () => {
      it('replaces the text with capability "update", else throws NotSupportedError', async () => {
        // Prepare
        const posted = await fixture.notifier.postMessage({ channel: fixture.channel, text: 'before' });
        // Act
        const attempt = fixture.notifier.updateMessage({
          channel: posted.channel,
          ts: posted.ts,
          text: 'after',
        });
        // Assess
        if (!fixture.notifier.capabilities.has('update')) {
          await expect(attempt).rejects.toBeInstanceOf(NotSupportedError);
          return;
        }
        await expect(attempt).resolves.toEqual({ channel: posted.channel, ts: posted.ts });
        if (fixture.readMessage !== undefined) {
          await expect(fixture.readMessage(posted.channel, posted.ts)).resolves.toMatchObject({
            text: 'after',
          });
        }
      });
    });

    describe('Method: listChannels', () => {
      it('pages through every channel with capability "channels", else throws NotSupportedError', async () => {
        // Prepare
        if (!fixture.notifier.capabilities.has('channels')) {
          await expect(fixture.notifier.listChannels({ limit: 1 })).rejects.toBeInstanceOf(NotSupportedError);
          return;
        }
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
        expect(ids).toContain(fixture.channel);
        expect(new Set(ids).size).toBe(ids.length);
      });
    });

    describe('Method: findUserByEmail', () => {
      it('finds a known person and throws NotFoundError for an unknown address', async () => {
        // Prepare
        const known = fixture.knownUser;
        if (!fixture.notifier.capabilities.has('user-lookup')) {
          await expect(
            fixture.notifier.findUserByEmail({ email: 'nobody@example.com' }),
          ).rejects.toBeInstanceOf(NotSupportedError);
          return;
        }
        expect(known, 'a notifier with "user-lookup" must name a knownUser in its fixture').toBeDefined();
        const email = known?.email ?? '';
        // Act
        const user = await fixture.notifier.findUserByEmail({ email });
        const missing = fixture.notifier.findUserByEmail({ email: 'nobody.at.all@example.invalid' });
        // Assess
        expect(user.id).toBe(known?.id);
        await expect(missing).rejects.toBeInstanceOf(NotFoundError);
      });

      it('throws ValidationError for something that is not an email address', async () => {
        // Act
        const attempt = fixture.notifier.findUserByEmail({ email: 'not-an-address' });
        // Assess
        const expected = fixture.notifier.capabilities.has('user-lookup')
          ? ValidationError
          : NotSupportedError;
        await expect(attempt).rejects.toBeInstanceOf(expected);
      });
    });
  });
}
