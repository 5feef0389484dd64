import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { utcSeconds, utcTimestamp } from './timestamps.ts';

describe('Function: utcTimestamp', () => {
  it('answers the same instant in UTC, keeping the fractional digits', () => {
    expect(utcTimestamp('2026-01-02T03:04:05-05:00')).toBe('2026-01-02T08:04:05Z');
    expect(utcTimestamp('2026-01-02T03:04:05.081+0100')).toBe('2026-01-02T02:04:05.081Z');
    expect(utcTimestamp('2026-01-01T00:30:00.123456+05:30')).toBe('2025-12-31T19:00:00.123456Z');
    expect(utcTimestamp('2026-01-02T03:04:05Z')).toBe('2026-01-02T03:04:05Z');
  });

  it('leaves text that names no instant as it is, rather than rolling it over', () => {
    for (const text of [
      '2026-01-02',
      '2026-01-02T03:04:05',
      '2026-02-30T00:00:00Z',
      '2026-01-02T24:00:01Z',
      'soon',
    ])
      expect(utcTimestamp(text)).toBe(text);
  });

  it('does not depend on the process time zone', () => {
    const module = fileURLToPath(new URL('./timestamps.ts', import.meta.url));
    const script = `import { utcTimestamp, utcSeconds } from ${JSON.stringify(module)};
      console.log(utcTimestamp('2026-03-08T01:30:00-08:00'), utcSeconds('2026-11-01T01:30:00.9-07:00'));`;
    const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, TZ: 'America/Los_Angeles' },
      encoding: 'utf8',
    });
    expect(output.trim()).toBe('2026-03-08T09:30:00Z 2026-11-01T08:30:00Z');
  });
});

describe('Function: utcSeconds', () => {
  it('writes YYYY-MM-DDTHH:MM:SSZ, the fraction dropped', () => {
    expect(utcSeconds('2026-01-02T03:04:05.999+01:00')).toBe('2026-01-02T02:04:05Z');
    expect(utcSeconds('2026-01-02T03:04:05Z')).toBe('2026-01-02T03:04:05Z');
  });
});
