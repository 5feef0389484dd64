import {
  ConnectorError,
  NotSupportedError,
  PayloadTooLargeError,
  parseInput,
  RateLimitedError,
  UnavailableError,
  ValidationError,
} from '@circle-core/core';
import { describe, expect, it } from 'vitest';
import { PublishInput } from '../models/message-publisher.ts';
import {
  checkBatch,
  checkMessage,
  checkReceive,
  entryFailure,
  type MessagePublisher,
  messageSize,
  publishEach,
} from './message-publisher.ts';
import { inMemoryPublisher } from './testing/in-memory-publisher.ts';
import { messagePublisherWithoutCapabilities } from './testing/without-capabilities.ts';

const limits = { maxBatchEntries: 3, maxMessageBytes: 20, maxBatchBytes: 30, maxReceive: 5 };
const full: MessagePublisher = inMemoryPublisher(['q'], limits);
const plain: MessagePublisher = messagePublisherWithoutCapabilities(inMemoryPublisher(['q'], limits));

describe('Function: messageSize', () => {
  it('counts UTF-8 bytes of the body and of every attribute name and value', () => {
    // Act
    const size = messageSize({ body: 'héllo', attributes: { kind: 'x' } });
    // Assess
    expect(size).toBe(6 + 4 + 1);
  });
});

describe('Function: checkMessage', () => {
  it('refuses attributes, ordering key and deduplication id without their capability', () => {
    // Act
    const attempts = [
      { body: 'x', attributes: { a: 'b' } },
      { body: 'x', orderingKey: 'g' },
      { body: 'x', deduplicationId: 'd' },
    ].map((message) => {
      try {
        return checkMessage(plain, message, 'Plain');
      } catch (error) {
        return error;
      }
    });
    // Assess
    for (const attempt of attempts) expect(attempt).toBeInstanceOf(NotSupportedError);
    expect(checkMessage(plain, { body: 'x', attributes: {} }, 'Plain')).toBe(1);
  });

  it('names the entry and the limit of an oversized message', () => {
    // Act
    const error = (() => {
      try {
        return checkMessage(full, { body: 'x'.repeat(21) }, 'Memory', '/entries/2');
      } catch (caught) {
        return caught;
      }
    })();
    // Assess
    expect(error).toBeInstanceOf(PayloadTooLargeError);
    expect((error as Error).message).toBe(
      'The message at /entries/2 is 21 bytes (body and attributes); Memory takes at most 20',
    );
  });
});

describe('Function: checkBatch', () => {
  it('refuses too many entries naming /entries, and a batch over its byte limit', () => {
    // Act
    const many = (() => {
      try {
        return checkBatch(full, [{ body: 'a' }, { body: 'b' }, { body: 'c' }, { body: 'd' }], 'Memory');
      } catch (caught) {
        return caught;
      }
    })();
    const heavy = (() => {
      try {
        return checkBatch(full, [{ body: 'x'.repeat(20) }, { body: 'x'.repeat(11) }], 'Memory');
      } catch (caught) {
        return caught;
      }
    })();
    // Assess
    expect((many as ValidationError).issues).toEqual([
      { pointer: '/entries', message: 'expected at most 3 entries, got 4' },
    ]);
    expect(heavy).toBeInstanceOf(PayloadTooLargeError);
    expect(() =>
      checkBatch(full, [{ body: 'x'.repeat(20) }, { body: 'x'.repeat(10) }], 'Memory'),
    ).not.toThrow();
  });
});

describe('Function: checkReceive', () => {
  it('refuses a pull over maxReceive, and any pull without capability "pull"', () => {
    // Assess
    expect(() => checkReceive(full, 6, 'Memory')).toThrow(ValidationError);
    expect(() => checkReceive(full, 5, 'Memory')).not.toThrow();
    expect(() => checkReceive(plain, 1, 'Plain')).toThrow(NotSupportedError);
  });
});

describe('Function: entryFailure', () => {
  it('keeps an exposed message and hides an internal one', () => {
    // Act
    const exposed = entryFailure(new RateLimitedError('Slow down', { retryAfterMs: 1000 }));
    const hidden = entryFailure(new Error('socket to 10.0.0.7 with password hunter2 failed'));
    // Assess
    expect(exposed).toEqual({
      name: 'RateLimitedError',
      code: 'rate_limited',
      message: 'Slow down',
      retryable: true,
    });
    expect(hidden).toEqual({
      name: 'ConnectorError',
      code: 'internal_error',
      message: 'The provider refused the entry',
      retryable: false,
    });
  });
});

describe('Function: publishEach', () => {
  it('reports entry failures per entry and throws a failure that ends the batch', async () => {
    // Prepare
    const entries = [{ body: 'a' }, { body: 'b' }, { body: 'c' }];
    const isEntryFailure = (error: unknown) => !(error instanceof UnavailableError);
    // Act
    const out = await publishEach(
      entries,
      async (entry) => {
        if (entry.body === 'b') throw new ConnectorError('refused');
        return { messageId: entry.body };
      },
      isEntryFailure,
    );
    const fatal = publishEach(
      entries,
      async () => {
        throw new UnavailableError('connection closed');
      },
      isEntryFailure,
    );
    // Assess
    expect(out).toMatchObject({ succeeded: 2, failed: 1 });
    expect(out.results.map((result) => result.ok)).toEqual([true, false, true]);
    await expect(fatal).rejects.toBeInstanceOf(UnavailableError);
  });
});

describe('Model: PublishInput', () => {
  it.each([
    ['AWS.Trace', 'reserved'],
    ['amazon.x', 'reserved'],
    ['Nats-Msg-Id', 'reserved'],
    ['a..b', '".."'],
    ['.dot', 'letters'],
    ['with space', 'letters'],
  ])('refuses the attribute name %s', (name, words) => {
    // Act
    const error = (() => {
      try {
        return parseInput(PublishInput, { body: 'x', attributes: { [name]: 'v' } });
      } catch (caught) {
        return caught;
      }
    })() as ValidationError;
    // Assess
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.issues[0]?.pointer.startsWith('/attributes')).toBe(true);
    expect(error.issues[0]?.message).toContain(words);
  });

  it('refuses more than ten attributes and keeps ten', () => {
    // Prepare
    const ten = Object.fromEntries(Array.from({ length: 10 }, (_, index) => [`a${index}`, 'v']));
    // Assess
    expect(parseInput(PublishInput, { body: 'x', attributes: ten }).attributes).toEqual(ten);
    expect(() => parseInput(PublishInput, { body: 'x', attributes: { ...ten, a10: 'v' } })).toThrow(
      ValidationError,
    );
  });
});
