/**
 * Console sign-in: the browser sends the local API key once, through the sign-in form; the console answers
 * with a random session id in an `HttpOnly; SameSite=Strict` cookie scoped to `/_console` (page scripts
 * cannot read it, other sites cannot make the browser send it), never the key itself. Every change is a
 * POST carrying the session's CSRF token; the Host/Origin gate in front of the listener already refuses
 * other origins, the token refuses a request the browser did not build from a console page.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** The cookie's name. */
export const SESSION_COOKIE = 'circle_console';
/** Sessions end with the stack, or after this long. */
const SESSION_TTL_MS = 12 * 60 * 60 * 1000;
/** Oldest sessions are dropped past this many. */
const MAX_SESSIONS = 50;

/** A signed-in browser. */
export interface Session {
  id: string;
  csrf: string;
  expiresAt: number;
}

/** Constant-time comparison of two strings of any length. */
export function sameSecret(given: string, expected: string): boolean {
  const digest = (value: string): Buffer => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/** The value of one cookie of a request. */
export function cookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return rest.join('=');
  }
  return undefined;
}

/** The sessions of one console. */
export class Sessions {
  readonly #sessions = new Map<string, Session>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** Starts a session (after the key was checked). */
  create(): Session {
    const session: Session = {
      id: randomBytes(32).toString('base64url'),
      csrf: randomBytes(32).toString('base64url'),
      expiresAt: this.#now() + SESSION_TTL_MS,
    };
    this.#sessions.set(session.id, session);
    while (this.#sessions.size > MAX_SESSIONS) {
      const oldest = this.#sessions.keys().next().value;
      if (oldest === undefined) break;
      this.#sessions.delete(oldest);
    }
    return session;
  }

  /** The session a request's cookie names, when it exists and has not expired. */
  of(req: IncomingMessage): Session | undefined {
    const id = cookie(req, SESSION_COOKIE);
    if (id === undefined || id === '') return undefined;
    const session = this.#sessions.get(id);
    if (session === undefined) return undefined;
    if (session.expiresAt <= this.#now()) {
      this.#sessions.delete(id);
      return undefined;
    }
    return session;
  }

  /** Ends a session. */
  end(session: Session): void {
    this.#sessions.delete(session.id);
  }

  /** The Set-Cookie value that stores a session in the browser. */
  static setCookie(session: Session): string {
    return `${SESSION_COOKIE}=${session.id}; Path=/_console; HttpOnly; SameSite=Strict; Max-Age=${SESSION_TTL_MS / 1000}`;
  }

  /** The Set-Cookie value that removes it. */
  static clearCookie(): string {
    return `${SESSION_COOKIE}=; Path=/_console; HttpOnly; SameSite=Strict; Max-Age=0`;
  }
}
