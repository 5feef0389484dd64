import { describe, expect, it } from 'vitest';
import type { ScheduleRule } from '../../scripts/local/config/model.ts';
import type { InvokeOutcome } from '../../scripts/local/functions/function-process.ts';
import { createStackLog } from '../../scripts/local/log.ts';
import { parseSchedule } from '../../scripts/local/schedules/expressions.ts';
import { Scheduler, scheduledEvent } from '../../scripts/local/schedules/scheduler.ts';

const at = (iso: string): number => Date.parse(iso);
const iso = (time: number | undefined): string | undefined =>
  time === undefined ? undefined : new Date(time).toISOString();

describe('Function: parseSchedule', () => {
  it('fires a rate rule one period after it starts, then every period', () => {
    // Prepare
    const start = at('2025-01-01T00:00:00Z');
    const schedule = parseSchedule('rate(15 minutes)', start);

    // Act
    const first = schedule.next(start);
    const later = schedule.next(at('2025-01-01T00:20:00Z'));

    // Assess
    expect(iso(first)).toBe('2025-01-01T00:15:00.000Z');
    expect(iso(later)).toBe('2025-01-01T00:30:00.000Z');
  });

  it('evaluates cron fields in UTC: ranges, names, steps, L, W and #', () => {
    // Prepare
    const after = at('2025-01-01T10:00:00Z'); // a Wednesday

    // Act
    const weekdays = parseSchedule('cron(0 9 ? * MON-FRI *)').next(after);
    const everyTen = parseSchedule('cron(0/10 * * * ? *)').next(after);
    const lastDay = parseSchedule('cron(30 23 L * ? *)').next(after);
    const lastFriday = parseSchedule('cron(0 12 ? * 6L *)').next(after);
    const secondTuesday = parseSchedule('cron(0 8 ? JAN 3#2 2025)').next(after);
    const nearestWeekday = parseSchedule('cron(0 6 1W FEB ? *)').next(after); // 2025-02-01 is a Saturday

    // Assess
    expect(iso(weekdays)).toBe('2025-01-02T09:00:00.000Z');
    expect(iso(everyTen)).toBe('2025-01-01T10:10:00.000Z');
    expect(iso(lastDay)).toBe('2025-01-31T23:30:00.000Z');
    expect(iso(lastFriday)).toBe('2025-01-31T12:00:00.000Z');
    expect(iso(secondTuesday)).toBe('2025-01-14T08:00:00.000Z');
    expect(iso(nearestWeekday)).toBe('2025-02-03T06:00:00.000Z');
  });

  it('answers no next firing once the year field is over', () => {
    // Act
    const next = parseSchedule('cron(0 0 1 1 ? 2020)').next(at('2025-01-01T00:00:00Z'));

    // Assess
    expect(next).toBeUndefined();
  });

  it('refuses malformed expressions with the reason', () => {
    // Act
    const attempts = [
      'rate(1 minutes)',
      'rate(5 minute)',
      'cron(0 9 * * * *)',
      'cron(0 9 * *)',
      'every day',
      'cron(99 * * * ? *)',
    ].map((expression) => {
      try {
        parseSchedule(expression);
        return 'accepted';
      } catch (error) {
        return (error as Error).name;
      }
    });

    // Assess
    expect(attempts).toEqual(Array(6).fill('ScheduleExpressionError'));
  });
});

describe('Function: scheduledEvent', () => {
  const rule: ScheduleRule = {
    kind: 'function',
    target: 'fn',
    name: 'fn-schedule-1',
    expression: 'rate(1 hour)',
    enabled: true,
  };

  it('sends the rule input as it is, or the EventBridge scheduled event', () => {
    // Act
    const withInput = scheduledEvent(
      { ...rule, input: { operation: 'sync', input: {} } },
      { region: 'us-east-1', accountId: '1' },
    );
    const plain = scheduledEvent(rule, {
      region: 'us-east-1',
      accountId: '1',
      time: new Date('2025-01-01T00:00:00Z'),
    });
    const cut = scheduledEvent(
      { ...rule, inputPath: '$.detail-type' },
      { region: 'us-east-1', accountId: '1' },
    );

    // Assess
    expect(withInput).toEqual({ operation: 'sync', input: {} });
    expect(plain).toMatchObject({
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      time: '2025-01-01T00:00:00Z',
      resources: ['arn:aws:events:us-east-1:1:rule/fn-schedule-1'],
    });
    expect(cut).toBe('Scheduled Event');
  });
});

describe('Class: Scheduler', () => {
  describe('Method: fire', () => {
    it('fires the rules of a target now, disabled ones included, and describes them', async () => {
      // Prepare
      const calls: { key: string; event: unknown }[] = [];
      const scheduler = new Scheduler(
        [
          {
            kind: 'function',
            target: 'a',
            name: 'a-1',
            expression: 'rate(5 minutes)',
            enabled: false,
            input: { n: 1 },
          },
          {
            kind: 'stateMachine',
            target: 'flow',
            name: 'b-1',
            expression: 'cron(0 0 * * ? *)',
            enabled: true,
          },
        ],
        {
          invoke: async (rule, event): Promise<InvokeOutcome> => {
            calls.push({ key: `${rule.kind}:${rule.target}`, event });
            return { requestId: 'r', durationMs: 0, logTail: '', payload: 'null' };
          },
          region: 'us-east-1',
          accountId: '0',
          log: createStackLog({ pretty: false, write: () => undefined }),
        },
      );
      scheduler.start();

      // Act
      const fired = await scheduler.fire('a');
      const started = await scheduler.fire('flow');
      const described = scheduler.describe();
      scheduler.stop();

      // Assess
      expect(fired.map((entry) => entry.rule)).toEqual(['a-1']);
      expect(started.map((entry) => entry.rule)).toEqual(['b-1']);
      expect(calls[0]).toEqual({ key: 'function:a', event: { n: 1 } });
      expect(calls[1]).toMatchObject({
        key: 'stateMachine:flow',
        event: { 'detail-type': 'Scheduled Event' },
      });
      expect(described[0]).toMatchObject({ rule: 'a-1', enabled: false, input: { n: 1 } });
      expect(described[0]?.next).toBeUndefined();
      expect(described[1]?.next).toMatch(/T00:00:00\.000Z$/);
    });
  });
});
