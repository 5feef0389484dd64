/**
 * The one gate in front of every local listener (HTTP API, AWS endpoint, embedded stores): it refuses what
 * only a web page sends. A `Host` that is not a loopback name is DNS rebinding (a page whose own name now
 * resolves to 127.0.0.1); an `Origin` that is not the listener's own is a page on another site, another
 * local port, or a sandboxed frame (`null`). The SDKs, the CLIs, curl and the functions send neither.
 */
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';

/** Why a request was refused, in words that name what was refused and never echo anything secret. */
export interface Refusal {
  /** The header that was refused. */
  header: 'host' | 'origin';
  message: string;
}

/** Answers a refusal (403) in the listener's own error shape. */
export type RefusalWriter = (req: IncomingMessage, res: ServerResponse, refusal: Refusal) => void;

const LOOPBACK = 'localhost, *.localhost, 127.x.x.x or [::1] (any port)';
/** `uri-host [":" port]`, the only shape a Host header has; anything else (`a@b`, `a/b`) is refused. */
const HOST = /^(?<name>\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::\d{1,5})?$/i;

/** A header value fit to quote back: short and printable. */
function quote(value: string): string {
  const printable = value.replace(/[^\x20-\x7e]/g, '?');
  return JSON.stringify(printable.length > 100 ? `${printable.slice(0, 100)}...` : printable);
}

/**
 * Whether a `Host` value (name or address, with or without port) names this machine's loopback.
 *
 * @example
 * ```ts
 * isLoopbackHost('localhost:4566'); // true
 * isLoopbackHost('127.0.0.1.evil.example'); // false
 * ```
 */
export function isLoopbackHost(host: string | undefined): boolean {
  const name = HOST.exec(host ?? '')?.groups?.['name']?.toLowerCase();
  if (name === undefined) return false;
  if (name === 'localhost' || name === '[::1]') return true;
  if (name.endsWith('.localhost') && !name.startsWith('.')) return true;
  const octets = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(name);
  return octets?.slice(1).every((octet) => Number(octet) <= 255) === true;
}

/** The listener's own origin: http, a loopback name, and the port the request arrived on. */
function isOwnOrigin(origin: string, port: number | undefined): boolean {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  return (
    url.origin === origin &&
    url.protocol === 'http:' &&
    isLoopbackHost(url.host) &&
    Number(url.port || 80) === port
  );
}

/**
 * Checks one request: undefined when it may pass, else what was refused. `origins` are further origins
 * the listener serves browsers on (the HTTP API's CORS `allowedOrigins`, never `*`).
 *
 * @example
 * ```ts
 * const refusal = checkRequest(req); // { header: 'host', message: 'Refused: Host "evil.example" ...' }
 * ```
 */
export function checkRequest(req: IncomingMessage, origins: readonly string[] = []): Refusal | undefined {
  const host = req.headers.host;
  // An absolute-form target (`POST http://evil.example/...`) names the host that HTTP/1.1 says wins.
  const target = req.url ?? '/';
  const named = target.startsWith('/') || target === '*' ? host : URL.parse(target)?.host;
  for (const value of new Set([host, named])) {
    if (!isLoopbackHost(value)) {
      return {
        header: 'host',
        message:
          `Refused by the local stack: Host ${value === undefined ? '(none)' : quote(value)} is not a loopback ` +
          `name. It answers only ${LOOPBACK}, so a web page cannot reach it through DNS rebinding.`,
      };
    }
  }
  const origin = req.headers.origin;
  if (origin !== undefined && !origins.includes(origin) && !isOwnOrigin(origin, req.socket.localPort)) {
    return {
      header: 'origin',
      message:
        `Refused by the local stack: a request from the web page at ${quote(origin)} (Origin header). ` +
        'It serves browsers on its own origin only; the AWS SDKs, the CLIs and curl send no Origin.',
    };
  }
  return undefined;
}

/**
 * Wraps a request listener so that refused requests never reach it.
 *
 * @example
 * ```ts
 * const server = createServer(guard(serve, (req, res, refusal) => sendProblem(res, 403, refusal.message)));
 * ```
 */
export function guard(
  listener: RequestListener,
  refuse: RefusalWriter,
  options: { origins?: readonly string[] } = {},
): RequestListener {
  return (req, res) => {
    const refusal = checkRequest(req, options.origins);
    if (refusal === undefined) {
      listener(req, res);
      return;
    }
    req.resume();
    refuse(req, res, refusal);
  };
}

/**
 * Puts the gate in front of a server a library created (s3rver, dynalite): its request listeners run only
 * for requests the gate lets through. Call it before the server listens.
 *
 * @example
 * ```ts
 * guardServer(dynalite(settings), (req, res, refusal) => sendJsonError(res, forbidden(refusal), '1.0'));
 * ```
 */
export function guardServer(server: Server, refuse: RefusalWriter): void {
  const listeners = server.listeners('request') as RequestListener[];
  server.removeAllListeners('request');
  server.on(
    'request',
    guard((req, res) => {
      for (const listener of listeners) listener.call(server, req, res);
    }, refuse),
  );
}
