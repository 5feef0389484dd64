import { describe, expect, it } from 'vitest';
import { FindUserByEmailInput, mailboxProblem } from './notifier.ts';

describe('Function: mailboxProblem', () => {
  it.each([
    'alice@example.com',
    'first.last+tag@sub.example.co.uk',
    'zoë@bücher.de',
    '用户@例子.广告',
    'ops@xn--bcher-kva.de',
  ])('accepts the mailbox %s', (address) => {
    // Act
    const problem = mailboxProblem(address);

    // Assess
    expect(problem).toBeUndefined();
  });

  it('counts the limits in UTF-8 bytes: 64 before the @, 254 in all', () => {
    // Prepare: 32 two-byte letters are 64 bytes; one more is 66.
    const local = 'é'.repeat(32);
    const longDomain = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.example`;

    // Act
    const fits = mailboxProblem(`${local}@example.com`);
    const over = mailboxProblem(`${local}é@example.com`);
    const tooLong = mailboxProblem(`${local}@${longDomain}`);

    // Assess
    expect(fits).toBeUndefined();
    expect(over).toContain('64 bytes');
    expect(tooLong).toContain('254 bytes');
  });

  it('refuses through the model with the reason at /email', () => {
    // Act
    const result = FindUserByEmailInput.safeParse({ email: 'ops@localhost' });

    // Assess
    expect(result.success).toBe(false);
    expect(result.error?.issues).toEqual([
      expect.objectContaining({
        path: ['email'],
        message: expect.stringContaining('domain name with a dot'),
      }),
    ]);
  });
});
