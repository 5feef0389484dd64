/**
 * The event-pattern matcher the local EventBridge and SNS share, against the examples of EventBridge's
 * "Content filtering in event patterns" and SNS's "Filter policy constraints" pages.
 */
import { describe, expect, it } from 'vitest';
import { matchesPattern, PatternError, parsePattern } from '../../scripts/local/aws/event-pattern.ts';

const ec2 = {
  version: '0',
  id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
  'detail-type': 'EC2 Instance State-change Notification',
  source: 'aws.ec2',
  account: '111122223333',
  time: '2017-12-22T18:43:48Z',
  region: 'us-west-1',
  resources: ['arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0'],
  detail: {
    'instance-id': 'i-1234567890abcdef0',
    state: 'terminated',
    'source-ip': '10.0.0.123',
    'c-count': 5,
    'd-count': 3,
    'x-limit': 301.8,
    location: ['eu-west', 'us-east'],
  },
};

const matches = (pattern: unknown, subject: unknown = ec2) => matchesPattern(parsePattern(pattern), subject);

describe('Function: matchesPattern', () => {
  it.each([
    ['a literal', { source: ['aws.ec2'] }, true],
    ['a literal that differs', { source: ['aws.s3'] }, false],
    ['any of several literals', { detail: { state: ['running', 'terminated'] } }, true],
    ['a prefix', { time: [{ prefix: '2017-12-22' }] }, true],
    ['a prefix ignoring case', { source: [{ prefix: { 'equals-ignore-case': 'AWS.' } }] }, true],
    ['a suffix', { detail: { 'instance-id': [{ suffix: 'def0' }] } }, true],
    [
      'equals-ignore-case',
      { 'detail-type': [{ 'equals-ignore-case': 'ec2 instance state-change notification' }] },
      true,
    ],
    ['a wildcard', { resources: [{ wildcard: 'arn:aws:ec2:*:instance/*' }] }, true],
    ['anything-but a value', { detail: { state: [{ 'anything-but': 'initializing' }] } }, true],
    [
      'anything-but a listed value',
      { detail: { state: [{ 'anything-but': ['stopped', 'terminated'] }] } },
      false,
    ],
    ['anything-but a prefix', { detail: { state: [{ 'anything-but': { prefix: 'term' } }] } }, false],
    ['numeric within a range', { detail: { 'c-count': [{ numeric: ['>', 0, '<=', 5] }] } }, true],
    ['numeric outside', { detail: { 'd-count': [{ numeric: ['<', 3] }] } }, false],
    ['numeric equality', { detail: { 'x-limit': [{ numeric: ['=', 301.8] }] } }, true],
    ['exists true', { detail: { state: [{ exists: true }] } }, true],
    ['exists false on an absent field', { detail: { 'no-such-field': [{ exists: false }] } }, true],
    ['exists false on a present field', { detail: { state: [{ exists: false }] } }, false],
    ['an array value where any item matches', { detail: { location: ['us-east'] } }, true],
    ['a cidr block', { detail: { 'source-ip': [{ cidr: '10.0.0.0/24' }] } }, true],
    ['a cidr block it is outside of', { detail: { 'source-ip': [{ cidr: '10.0.1.0/24' }] } }, false],
    [
      '$or of two alternatives, one matching',
      { detail: { $or: [{ 'c-count': [{ numeric: ['>', 10] }] }, { 'd-count': [{ numeric: ['<', 10] }] }] } },
      true,
    ],
    ['a field that is absent', { detail: { missing: ['x'] } }, false],
    ['anything-but on an absent field', { detail: { missing: [{ 'anything-but': 'x' }] } }, false],
  ])('%s', (_name, pattern, expected) => {
    expect(matches(pattern)).toBe(expected);
  });

  it('matches SNS attribute values: numbers by value, string arrays by any item', () => {
    // Prepare
    const attributes = { price_usd: 420, customer_interests: ['rugby', 'football'], store: 'example_corp' };
    // Act
    const outcomes = [
      matches({ price_usd: [{ numeric: ['>=', 100] }], store: ['example_corp'] }, attributes),
      matches({ customer_interests: ['baseball', 'rugby'] }, attributes),
      matches({ price_usd: [420] }, attributes),
      matches({ store: [{ prefix: 'other' }] }, attributes),
    ];
    // Assess
    expect(outcomes).toEqual([true, true, true, false]);
  });

  it.each([
    ['not JSON', '{"source": ['],
    ['a leaf that is not an array', { source: 'aws.ec2' }],
    ['an unknown match type', { source: [{ regex: 'a.*' }] }],
    ['a malformed numeric', { size: [{ numeric: ['>>', 1] }] }],
    ['exists with a string', { size: [{ exists: 'yes' }] }],
    ['a $or with one branch', { $or: [{ a: ['b'] }] }],
  ])('refuses %s with a PatternError', (_name, pattern) => {
    expect(() => parsePattern(pattern)).toThrow(PatternError);
  });
});
