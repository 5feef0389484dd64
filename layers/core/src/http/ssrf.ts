/**
 * The SSRF guard for URLs that come from input: only http(s), and never an address inside the network
 * (loopback, private, link-local, cloud metadata, the Lambda runtime API on localhost, reserved ranges).
 * The address check runs inside the socket's DNS lookup, so the address that is checked is the address
 * that is connected to: a name that resolves publicly once and privately the next time (DNS rebinding)
 * is caught on the lookup that matters.
 */
import type { LookupAddress } from 'node:dns';
import { lookup as dnsLookup } from 'node:dns/promises';
import type { BlockList, LookupFunction } from 'node:net';
import { isIP } from 'node:net';
import { UnavailableError, ValidationError } from '../errors.ts';

const BLOCKED_V4: ReadonlyArray<readonly [string, number]> = [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, incl. the 169.254.169.254 metadata endpoint
  ['172.16.0.0', 12],
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // TEST-NET-1
  ['192.88.99.0', 24], // 6to4 relay anycast
  ['192.168.0.0', 16],
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // TEST-NET-2
  ['203.0.113.0', 24], // TEST-NET-3
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, incl. broadcast
];

const BLOCKED_V6: ReadonlyArray<readonly [string, number]> = [
  ['::', 96], // unspecified, loopback, deprecated IPv4-compatible
  ['64:ff9b:1::', 48], // local-use NAT64
  ['100::', 64], // discard-only
  ['2001::', 23], // IETF protocol assignments, incl. Teredo
  ['2001:db8::', 32], // documentation
  ['3fff::', 20], // documentation
  ['fc00::', 7], // unique-local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // deprecated site-local
  ['ff00::', 8], // multicast
];

function blockList(ranges: ReadonlyArray<readonly [string, number]>, type: 'ipv4' | 'ipv6'): BlockList {
  const list = new (process.getBuiltinModule('node:net').BlockList)();
  for (const [network, prefix] of ranges) list.addSubnet(network, prefix, type);
  return list;
}

/**
 * The blocked ranges, built on the first check: `node:net` (and the streams it loads) stays out of the cold
 * start of every function that never checks an address (the layer loads `isIP` on first call too).
 */
let blocked: { readonly v4: BlockList; readonly v6: BlockList } | undefined;
function blockedRanges(): { readonly v4: BlockList; readonly v6: BlockList } {
  blocked ??= { v4: blockList(BLOCKED_V4, 'ipv4'), v6: blockList(BLOCKED_V6, 'ipv6') };
  return blocked;
}

/** The eight 16-bit groups of a valid IPv6 address (a trailing dotted quad is folded into two groups). */
function hextets(address: string): number[] {
  let text = address;
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted !== null) {
    const [a = 0, b = 0, c = 0, d = 0] = dotted.slice(1).map(Number);
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const fill = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...fill, ...right].map((group) => Number.parseInt(group, 16));
}

/** The IPv4 address an IPv6 address carries (v4-mapped, SIIT, NAT64 well-known prefix, 6to4), if any. */
function embeddedIPv4(address: string): string | undefined {
  const h = hextets(address);
  const quad = (hi: number | undefined, lo: number | undefined): string =>
    [(hi ?? 0) >> 8, (hi ?? 0) & 0xff, (lo ?? 0) >> 8, (lo ?? 0) & 0xff].join('.');
  const zeros = (from: number, to: number): boolean => h.slice(from, to).every((group) => group === 0);
  if (zeros(0, 5) && h[5] === 0xffff) return quad(h[6], h[7]); // ::ffff:a.b.c.d
  if (zeros(0, 4) && h[4] === 0xffff && h[5] === 0) return quad(h[6], h[7]); // ::ffff:0:a.b.c.d
  if (h[0] === 0x64 && h[1] === 0xff9b && zeros(2, 6)) return quad(h[6], h[7]); // 64:ff9b::a.b.c.d
  if (h[0] === 0x2002) return quad(h[1], h[2]); // 2002:aabb:ccdd::
  return undefined;
}

/**
 * True when `address` is not a public unicast IP: loopback, private, carrier-grade NAT, link-local,
 * unique-local, multicast, reserved or documentation ranges, and IPv6 forms that embed such an IPv4
 * address. Anything that is not an IP address at all is refused too.
 *
 * @example
 * ```ts
 * isBlockedAddress('169.254.169.254'); // true
 * isBlockedAddress('::ffff:7f00:1'); // true
 * isBlockedAddress('93.184.215.14'); // false
 * ```
 */
export function isBlockedAddress(address: string): boolean {
  const ip = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const family = isIP(ip);
  const { v4, v6 } = blockedRanges();
  if (family === 4) return v4.check(ip, 'ipv4');
  if (family !== 6) return true;
  if (v6.check(ip, 'ipv6')) return true;
  const embedded = embeddedIPv4(ip);
  return embedded !== undefined && v4.check(embedded, 'ipv4');
}

/** Resolves a host name to all its addresses (`family` 0 = both). Injectable so tests need no real DNS. */
export type Resolver = (hostname: string, family: 0 | 4 | 6) => Promise<LookupAddress[]>;

/** How the guard resolves names and which addresses it refuses. */
export interface GuardOptions {
  /** Defaults to the system resolver (`dns.lookup`, the resolver sockets use). */
  resolve?: Resolver;
  /** Defaults to {@link isBlockedAddress}. */
  isBlocked?: (address: string) => boolean;
}

const systemResolver: Resolver = (hostname, family) => dnsLookup(hostname, { all: true, family });

function refused(host: string, reason: string): ValidationError {
  return new ValidationError(`URL refused: ${host} ${reason}`);
}

function isLocalHostname(hostname: string): boolean {
  const name = hostname.toLowerCase().replace(/\.+$/, '');
  return name === 'localhost' || name.endsWith('.localhost');
}

/** Resolves `hostname` and returns its addresses only when every one of them is allowed. */
async function resolveAllowed(
  hostname: string,
  family: 0 | 4 | 6,
  options: GuardOptions,
): Promise<LookupAddress[]> {
  const isBlocked = options.isBlocked ?? isBlockedAddress;
  if (isLocalHostname(hostname)) throw refused(hostname, 'is a local host name');
  const literal = isIP(hostname);
  if (literal !== 0) {
    if (isBlocked(hostname)) throw refused(hostname, 'is a private or reserved address');
    return [{ address: hostname, family: literal }];
  }
  const addresses = await (options.resolve ?? systemResolver)(hostname, family);
  if (addresses.length === 0) {
    throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
  }
  // One bad address is enough: the socket may pick any of them (happy eyeballs tries several).
  if (addresses.some((entry) => isBlocked(entry.address))) {
    throw refused(hostname, 'resolves to a private or reserved address');
  }
  return addresses;
}

/**
 * Builds a `lookup` for `http.Agent` / `http.request` that resolves like `dns.lookup` but fails with a
 * {@link ValidationError} before any connection opens when a name is local or resolves to a blocked address.
 *
 * @example
 * ```ts
 * const lookup = createGuardedLookup({ resolve: async () => [{ address: '10.0.0.7', family: 4 }] });
 * const agent = new https.Agent({ keepAlive: true, lookup }); // every connection through it is checked
 * ```
 */
export function createGuardedLookup(options: GuardOptions = {}): LookupFunction {
  return (hostname, lookupOptions, callback) => {
    const family = lookupOptions.family === 4 || lookupOptions.family === 6 ? lookupOptions.family : 0;
    resolveAllowed(hostname, family, options).then(
      (addresses) => {
        const [first] = addresses as [LookupAddress, ...LookupAddress[]];
        if (lookupOptions.all === true) callback(null, addresses);
        else callback(null, first.address, first.family);
      },
      (error: NodeJS.ErrnoException) => callback(error, ''),
    );
  };
}

/**
 * The guarded lookup over the system resolver.
 *
 * @example
 * ```ts
 * http.request({ hostname: input.host, lookup: guardedLookup });
 * ```
 */
export const guardedLookup: LookupFunction = createGuardedLookup();

/**
 * Parses `url` and applies every check that needs no DNS: a valid absolute URL, scheme http or https,
 * not a local host name, not a literal IP in a blocked range (sockets never look literal IPs up, so this
 * is the only place they are checked). Returns the parsed URL.
 *
 * @example
 * ```ts
 * const url = assertUrlSyntaxAllowed(input.webhookUrl); // throws ValidationError for http://[::1]/
 * ```
 */
export function assertUrlSyntaxAllowed(url: string | URL, isBlocked = isBlockedAddress): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ValidationError('URL refused: not a valid absolute URL');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ValidationError(`URL refused: scheme ${parsed.protocol} is not allowed (http and https only)`);
  }
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  if (isLocalHostname(host)) throw refused(host, 'is a local host name');
  if (isIP(host) !== 0 && isBlocked(host)) throw refused(host, 'is a private or reserved address');
  return parsed;
}

/**
 * Full check of a URL from input: {@link assertUrlSyntaxAllowed} plus resolving its host and refusing it
 * when any address is blocked. Useful to validate a URL when it is stored (a webhook target); the HTTP
 * client still checks again at connect time through {@link guardedLookup}.
 *
 * @example
 * ```ts
 * await assertUrlAllowed('http://169.254.169.254/latest/meta-data'); // throws ValidationError
 * ```
 */
export async function assertUrlAllowed(url: string | URL, options: GuardOptions = {}): Promise<void> {
  const parsed = assertUrlSyntaxAllowed(url, options.isBlocked);
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  try {
    await resolveAllowed(host, 0, options);
  } catch (error) {
    if (error instanceof ValidationError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOTFOUND' || code === 'ENODATA') throw refused(host, 'does not resolve');
    throw new UnavailableError(`Could not resolve ${host}`, { cause: error });
  }
}
