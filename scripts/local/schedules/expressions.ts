/**
 * EventBridge schedule expressions: `rate(5 minutes)` and the six-field AWS `cron(min hour dom month dow
 * year)` with `* ? , - /`, names (`JAN`, `MON`), `L`, `W` and `#`, evaluated in UTC as EventBridge does.
 */

/** A parsed expression that can tell when it fires next. */
export interface Schedule {
  readonly expression: string;
  /** The first firing strictly after `after` (epoch ms), or undefined when there is none. */
  next(after: number): number | undefined;
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

/** An invalid expression, with the reason. */
export class ScheduleExpressionError extends Error {
  constructor(expression: string, reason: string) {
    super(`invalid schedule expression "${expression}": ${reason}`);
    this.name = 'ScheduleExpressionError';
  }
}

function rate(expression: string, body: string, start: number): Schedule {
  const match = /^(\d+)\s+(minute|minutes|hour|hours|day|days)$/.exec(body.trim());
  if (match === null)
    throw new ScheduleExpressionError(
      expression,
      'expected rate(<value> minute|minutes|hour|hours|day|days)',
    );
  const value = Number(match[1]);
  const unit = match[2] ?? 'minutes';
  if (value < 1) throw new ScheduleExpressionError(expression, 'the value must be positive');
  if (value === 1 && unit.endsWith('s'))
    throw new ScheduleExpressionError(expression, `use "${unit.slice(0, -1)}" for 1`);
  if (value > 1 && !unit.endsWith('s'))
    throw new ScheduleExpressionError(expression, `use "${unit}s" for values above 1`);
  const periodMs =
    value * (unit.startsWith('minute') ? 60_000 : unit.startsWith('hour') ? 3_600_000 : 86_400_000);
  return {
    expression,
    // A rate rule fires one period after it was created, then every period.
    next: (after) => start + (Math.floor((after - start) / periodMs) + 1) * periodMs,
  };
}

function parseValue(token: string, names: string[] | undefined, offset: number, expression: string): number {
  const upper = token.toUpperCase();
  if (names !== undefined) {
    const index = names.indexOf(upper);
    if (index >= 0) return index + offset;
  }
  if (!/^\d+$/.test(token)) throw new ScheduleExpressionError(expression, `unexpected "${token}"`);
  return Number(token);
}

/** The set of values a plain field (`*`, lists, ranges, steps) allows within [min, max]. */
function parseField(
  field: string,
  min: number,
  max: number,
  expression: string,
  names?: string[],
  offset = min,
): Set<number> {
  const values = new Set<number>();
  for (const part of field.split(',')) {
    const [range = '', stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1)
      throw new ScheduleExpressionError(expression, `bad step in "${part}"`);
    let from: number;
    let to: number;
    if (range === '*') {
      from = min;
      to = max;
    } else if (range.includes('-')) {
      const [a = '', b = ''] = range.split('-');
      from = parseValue(a, names, offset, expression);
      to = parseValue(b, names, offset, expression);
    } else {
      from = parseValue(range, names, offset, expression);
      to = stepText === undefined ? from : max;
    }
    if (from < min || to > max || from > to) {
      throw new ScheduleExpressionError(expression, `"${part}" is outside ${min}-${max}`);
    }
    for (let value = from; value <= to; value += step) values.add(value);
  }
  return values;
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

type DayMatcher = (year: number, month: number, day: number) => boolean;

function dayOfMonthMatcher(field: string, expression: string): DayMatcher {
  if (field === 'L') return (year, month, day) => day === daysInMonth(year, month);
  const nearest = /^(\d{1,2})W$/.exec(field);
  if (nearest !== null) {
    const target = Number(nearest[1]);
    return (year, month, day) => {
      const last = daysInMonth(year, month);
      const wanted = Math.min(target, last);
      const weekday = new Date(Date.UTC(year, month - 1, wanted)).getUTCDay();
      let shifted = wanted;
      if (weekday === 6) shifted = wanted === 1 ? 3 : wanted - 1;
      if (weekday === 0) shifted = wanted === last ? wanted - 2 : wanted + 1;
      return day === shifted;
    };
  }
  const allowed = parseField(field, 1, 31, expression);
  return (_year, _month, day) => allowed.has(day);
}

function dayOfWeekMatcher(field: string, expression: string): DayMatcher {
  const weekday = (year: number, month: number, day: number): number =>
    new Date(Date.UTC(year, month - 1, day)).getUTCDay() + 1;
  if (field === 'L') return (year, month, day) => weekday(year, month, day) === 7;
  const last = /^(\w+)L$/.exec(field);
  if (last?.[1] !== undefined) {
    const wanted = parseValue(last[1], DAYS, 1, expression);
    return (year, month, day) => weekday(year, month, day) === wanted && day + 7 > daysInMonth(year, month);
  }
  const nth = /^(\w+)#([1-5])$/.exec(field);
  if (nth?.[1] !== undefined) {
    const wanted = parseValue(nth[1], DAYS, 1, expression);
    const index = Number(nth[2]);
    return (year, month, day) => weekday(year, month, day) === wanted && Math.ceil(day / 7) === index;
  }
  const allowed = parseField(field, 1, 7, expression, DAYS, 1);
  return (year, month, day) => allowed.has(weekday(year, month, day));
}

function cron(expression: string, body: string): Schedule {
  const fields = body.trim().split(/\s+/);
  if (fields.length !== 6)
    throw new ScheduleExpressionError(
      expression,
      'cron() takes six fields: minutes hours day-of-month month day-of-week year',
    );
  const [minuteField = '', hourField = '', domField = '', monthField = '', dowField = '', yearField = ''] =
    fields;
  if ((domField === '?') === (dowField === '?')) {
    throw new ScheduleExpressionError(expression, 'exactly one of day-of-month and day-of-week must be "?"');
  }
  const minutes = parseField(minuteField, 0, 59, expression);
  const hours = parseField(hourField, 0, 23, expression);
  const months = parseField(monthField, 1, 12, expression, MONTHS, 1);
  const years = parseField(yearField, 1970, 2199, expression);
  const dayMatches =
    domField === '?' ? dayOfWeekMatcher(dowField, expression) : dayOfMonthMatcher(domField, expression);
  /** The time itself when it matches, else the earliest time that could (skipping whole years, months, ...). */
  const advance = (time: number): number => {
    const date = new Date(time);
    const year = date.getUTCFullYear();
    const month = date.getUTCMonth() + 1;
    const day = date.getUTCDate();
    if (!years.has(year)) return Date.UTC(year + 1, 0, 1);
    if (!months.has(month)) return Date.UTC(year, month, 1);
    if (!dayMatches(year, month, day)) return Date.UTC(year, month - 1, day + 1);
    if (!hours.has(date.getUTCHours())) return Date.UTC(year, month - 1, day, date.getUTCHours() + 1);
    if (!minutes.has(date.getUTCMinutes())) return time + 60_000;
    return time;
  };
  const lastYear = Date.UTC(2200, 0, 1);
  return {
    expression,
    next: (after) => {
      let time = Math.floor(after / 60_000) * 60_000 + 60_000;
      for (let steps = 0; steps < 500_000 && time < lastYear; steps += 1) {
        const candidate = advance(time);
        if (candidate === time) return time;
        time = candidate;
      }
      return undefined;
    },
  };
}

/**
 * Parses a schedule expression. `start` anchors rate rules (they fire one period after it).
 *
 * @example
 * ```ts
 * const schedule = parseSchedule('cron(0 9 ? * MON-FRI *)');
 * new Date(schedule.next(Date.now()) ?? 0).toISOString(); // next weekday at 09:00 UTC
 * ```
 */
export function parseSchedule(expression: string, start: number = Date.now()): Schedule {
  const match = /^(rate|cron)\((.*)\)$/.exec(expression.trim());
  if (match === null) throw new ScheduleExpressionError(expression, 'expected rate(...) or cron(...)');
  return match[1] === 'rate' ? rate(expression, match[2] ?? '', start) : cron(expression, match[2] ?? '');
}
