/**
 * Timestamps as connectors answer them: RFC 3339 in UTC. Providers write ISO 8601 with the account's or
 * shop's offset (PagerDuty renders in the account time zone, a self-managed GitLab in its configured
 * one); {@link utcTimestamp} turns such a time into the same instant in UTC, keeping its fractional
 * digits, so every connector of an interface answers one form. {@link utcSeconds} writes the
 * `YYYY-MM-DDTHH:MM:SSZ` form some filters document (GitHub's `since`). Neither uses the process's time
 * zone: a time without an offset is not read as local time but left as it is.
 */

const ISO_8601 = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:?\d{2})$/i;

/**
 * The instant `text` names, in RFC 3339 UTC with its own fractional digits; text that is not an ISO 8601
 * date-time with a time zone (or names no real instant) is answered unchanged.
 *
 * @example
 * ```ts
 * utcTimestamp('2026-01-02T03:04:05-05:00'); // '2026-01-02T08:04:05Z'
 * utcTimestamp('2026-01-02T03:04:05.081+0100'); // '2026-01-02T02:04:05.081Z'
 * ```
 */
export function utcTimestamp(text: string): string {
  const match = ISO_8601.exec(text);
  if (match === null) return text;
  const [, date = '', time = '', fraction = '', zone = 'Z'] = match;
  const offset = zone.toUpperCase() === 'Z' ? 'Z' : `${zone.slice(0, 3)}:${zone.slice(-2)}`;
  const epochMs = Date.parse(`${date}T${time}${offset}`);
  // Date.parse rolls 2026-02-30 over to March 2: only an instant whose fields were real is converted.
  if (
    Number.isNaN(epochMs) ||
    new Date(Date.parse(`${date}T${time}Z`)).toISOString().slice(0, 19) !== `${date}T${time}`
  )
    return text;
  return `${new Date(epochMs).toISOString().slice(0, 19)}${fraction}Z`;
}

/**
 * The second `text` falls in, as `YYYY-MM-DDTHH:MM:SSZ` (fractions dropped, so an inclusive lower bound
 * still includes the instant given); text that is not an ISO 8601 date-time with a time zone is unchanged.
 *
 * @example
 * ```ts
 * utcSeconds('2026-01-02T03:04:05.999+01:00'); // '2026-01-02T02:04:05Z'
 * ```
 */
export function utcSeconds(text: string): string {
  return utcTimestamp(text).replace(/^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\.\d+Z$/, '$1Z');
}
