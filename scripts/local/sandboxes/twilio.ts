/**
 * The contract fake of Twilio Programmable Messaging, on the contract-fake kit: what the Twilio
 * connector's tests run against, and its sandbox on the local stack
 * (`npx node scripts/local/sandboxes/twilio.ts [port]`). It follows Twilio's REST reference:
 *
 * - `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, form-encoded `To`, `From` or
 *   `MessagingServiceSid`, `Body`, `StatusCallback`: 201 with the Message resource (`status` queued, or
 *   accepted through a Messaging Service); 400 `21604`/`21602`/`21603` for a missing To/Body/sender,
 *   `21211` for a To that is no phone number (Twilio's test number +15005550001 and anything not E.164),
 *   `21606` for a From the account does not own, `21610` for an unsubscribed recipient (+15005550004),
 *   `21614` for a To that cannot receive SMS (+15005550009), `21408` for a To outside the account's
 *   Messaging Geo Permissions (+15005550003),
 *   `21617` for a body over 1600 characters (UTF-16 units: an emoji counts 2). `num_segments` is
 *   counted as Twilio bills (GSM-7 160/153 septets, else UCS-2 70/67 units: {@link smsSegments}). With a StatusCallback the fake then POSTs `sent` and
 *   `delivered` callbacks there, signed with `X-Twilio-Signature` as Twilio signs them;
 * - `GET .../Messages/{Sid}.json`: the message, or 404 `20404`;
 * - `GET .../Messages.json?To=&From=&DateSent=&PageSize=&Page=&PageToken=`: newest first, `PageSize`
 *   1-1000 (default 50), `next_page_uri` (null on the last page) carrying `Page` and `PageToken`, plus
 *   `first_page_uri`, `previous_page_uri`, `uri`, `page`, `page_size`, `start`, `end`; a PageToken it
 *   does not know (one reused with other filters) is 400 `21481` Invalid PageToken;
 * - HTTP Basic with the Account SID and auth token or an API key SID and secret, else 401 `20003`;
 *   another account's path is 401 too; errors as `{ code, message, more_info, status }`; throttling is
 *   429 `20429` with `Retry-After`. Faults (`fake.inject`) add 5xx, slow, malformed, ... .
 *
 * Seed: account {@link TWILIO_SANDBOX_ACCOUNT_SID} with auth token {@link TWILIO_SANDBOX_AUTH_TOKEN}
 * (the secret {@link TWILIO_SANDBOX_SECRET}), sender {@link TWILIO_SANDBOX_FROM}, Messaging Service
 * {@link TWILIO_SANDBOX_SERVICE_SID}, three messages (`TWILIO_SANDBOX_MESSAGES`).
 *
 * @example
 * ```ts
 * const fake = await startTwilioFake();
 * process.env['TWILIO_API_URL'] = fake.url;
 * fake.inject({ kind: 'throttled', retryAfterSeconds: 1 }, { route: 'list-messages' });
 * ```
 */
import { createHmac, randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import {
  type Answer,
  type ErrorDialect,
  type ErrorKind,
  type FakeDefinition,
  type FakeServer,
  json,
  refuse,
  type StartOptions,
  startFake,
} from './kit/index.ts';

const hex32 = (seed: string): string => seed.padEnd(32, '0');
/** The sandbox account: sandbox credentials, not secrets. */
export const TWILIO_SANDBOX_ACCOUNT_SID = `AC${hex32('c1c1e5a4db0c')}`;
export const TWILIO_SANDBOX_AUTH_TOKEN = 'twilio-sandbox-auth-token';
/** The secret the connector reads, as the local stack stores it. */
export const TWILIO_SANDBOX_SECRET = JSON.stringify({
  accountSid: TWILIO_SANDBOX_ACCOUNT_SID,
  authToken: TWILIO_SANDBOX_AUTH_TOKEN,
});
/** Twilio's magic test sender, owned by the sandbox account. */
export const TWILIO_SANDBOX_FROM = '+15005550006';
export const TWILIO_SANDBOX_SERVICE_SID = `MG${hex32('c1c1e5e0')}`;
/**
 * Twilio's test numbers (https://www.twilio.com/docs/iam/test-credentials, "To"): no phone number (21211),
 * a recipient that replied STOP (21610), a number that cannot receive SMS (21614) and a destination the
 * account's Messaging Geo Permissions do not allow (21408).
 */
export const TWILIO_INVALID_NUMBER = '+15005550001';
export const TWILIO_UNSUBSCRIBED_NUMBER = '+15005550004';
export const TWILIO_NOT_MOBILE_NUMBER = '+15005550009';
export const TWILIO_GEO_BLOCKED_NUMBER = '+15005550003';
/** The seeded messages' SIDs, newest last. */
export const TWILIO_SANDBOX_MESSAGES = [1, 2, 3].map((n) => `SM${hex32(`5eed000${n}`)}`);

/** The GSM 03.38 default alphabet (one septet each) and its extension table (an escape and a septet: 2). */
const GSM7_BASIC =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
const GSM7_EXTENDED = '\f^{}\\[~]|€';

/**
 * The segments Twilio bills for an SMS body (its "How long can a message be?" glossary): GSM-7 when every
 * character is in the GSM alphabet, 160 septets in one segment or 153 each when split (an extension
 * character such as `{` or `€` takes 2); otherwise UCS-2, 70 UTF-16 units in one or 67 each (an emoji 2).
 */
export function smsSegments(body: string): number {
  let septets = 0;
  for (const character of body) {
    if (GSM7_BASIC.includes(character)) septets += 1;
    else if (GSM7_EXTENDED.includes(character)) septets += 2;
    else {
      const units = body.length;
      return units <= 70 ? 1 : Math.ceil(units / 67);
    }
  }
  return septets <= 160 ? 1 : Math.ceil(septets / 153);
}

export interface TwilioFakeMessage {
  sid: string;
  to: string;
  from: string | null;
  messagingServiceSid: string | null;
  body: string;
  status: string;
  direction: string;
  statusCallback: string | null;
  createdAt: Date;
}

export interface TwilioFakeState {
  accountSid: string;
  authToken: string;
  /** `user:password` pairs accepted (Account SID + auth token, API key SID + secret). */
  credentials: Set<string>;
  senders: Set<string>;
  services: Set<string>;
  invalid: Set<string>;
  unsubscribed: Set<string>;
  /** Oldest first. */
  messages: TwilioFakeMessage[];
  /** Whether a StatusCallback gets `sent` and `delivered` after a send (default true). */
  sendCallbacks: boolean;
  /** Each callback sent: where, what, and the status the receiver answered (0: unreachable). */
  callbacks: { url: string; params: Record<string, string>; answered: number }[];
}

const E164 = /^\+[1-9]\d{1,14}$/;
const API = '/2010-04-01/Accounts/:account';

/** Twilio's error body. */
function twilioError(
  status: number,
  code: number,
  message: string,
  headers?: Record<string, string>,
): Answer {
  return json(
    status,
    { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status },
    headers,
  );
}

const CODES: Readonly<Record<ErrorKind, [number, string]>> = {
  unauthorized: [20003, 'Authenticate'],
  forbidden: [20403, 'Forbidden'],
  'not-found': [20404, 'The requested resource was not found'],
  conflict: [20409, 'Conflict'],
  throttled: [20429, 'Too Many Requests'],
  'server-error': [20500, 'Internal Server Error'],
};

/** Twilio's error bodies for the kit's faults. */
export const twilioErrors: ErrorDialect = (kind, { status }) => {
  const [code, message] = CODES[kind];
  return twilioError(status, code, message);
};

/**
 * `X-Twilio-Signature` as Twilio computes it: base64 HMAC-SHA1 under the auth token of the URL followed by
 * each parameter's name and value, sorted by name.
 *
 * @example
 * ```ts
 * signTwilioRequest('https://example.com/twilio/webhook', { MessageSid: 'SM...', MessageStatus: 'sent' }, token);
 * ```
 */
export function signTwilioRequest(url: string, params: Record<string, string>, authToken: string): string {
  const text = Object.keys(params)
    .sort()
    .map((name) => `${name}${params[name]}`)
    .join('');
  return createHmac('sha1', authToken)
    .update(url + text, 'utf8')
    .digest('base64');
}

/** Twilio's RFC 2822 dates: `Sun, 06 Dec 2026 11:25:19 +0000`. */
const rfc2822 = (date: Date): string => date.toUTCString().replace('GMT', '+0000');

function resource(account: string, m: TwilioFakeMessage): Record<string, unknown> {
  const uri = `/2010-04-01/Accounts/${account}/Messages/${m.sid}.json`;
  const sent = ['sent', 'delivered', 'undelivered', 'failed', 'received'].includes(m.status);
  return {
    account_sid: account,
    api_version: '2010-04-01',
    body: m.body,
    date_created: rfc2822(m.createdAt),
    date_sent: sent ? rfc2822(m.createdAt) : null,
    date_updated: rfc2822(m.createdAt),
    direction: m.direction,
    error_code: null,
    error_message: null,
    from: m.from,
    messaging_service_sid: m.messagingServiceSid,
    num_media: '0',
    num_segments: String(smsSegments(m.body)),
    price: sent ? '-0.00790' : null,
    price_unit: 'USD',
    sid: m.sid,
    status: m.status,
    subresource_uris: { media: uri.replace('.json', '/Media.json') },
    to: m.to,
    uri,
  };
}

/**
 * POSTs one status callback, signed as Twilio signs it, and records what the receiver answered.
 *
 * @example
 * ```ts
 * await sendStatusCallback(fake.state, message, 'delivered');
 * ```
 */
export async function sendStatusCallback(
  state: TwilioFakeState,
  message: TwilioFakeMessage,
  status: string,
): Promise<number> {
  if (message.statusCallback === null) return 0;
  message.status = status;
  const params: Record<string, string> = {
    AccountSid: state.accountSid,
    ApiVersion: '2010-04-01',
    From: message.from ?? '',
    MessageSid: message.sid,
    MessageStatus: status,
    SmsSid: message.sid,
    SmsStatus: status,
    To: message.to,
  };
  if (message.messagingServiceSid !== null) params['MessagingServiceSid'] = message.messagingServiceSid;
  const url = message.statusCallback;
  let answered = 0;
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': signTwilioRequest(url, params, state.authToken),
        'user-agent': 'TwilioProxy/1.1',
      },
      body: new URLSearchParams(params).toString(),
      signal: AbortSignal.timeout(5000),
    });
    answered = response.status;
    await response.arrayBuffer();
  } catch {
    // Unreachable: Twilio would retry later; the fake records 0.
  }
  state.callbacks.push({ url, params, answered });
  return answered;
}

function seedMessages(): TwilioFakeMessage[] {
  const bodies = ['Deploy of api started', 'Disk full on db-1', 'Incident INC-42 resolved'];
  return TWILIO_SANDBOX_MESSAGES.map((sid, index) => ({
    sid,
    to: '+15558675310',
    from: TWILIO_SANDBOX_FROM,
    messagingServiceSid: null,
    body: bodies[index] ?? '',
    status: 'delivered',
    direction: 'outbound-api',
    statusCallback: null,
    createdAt: new Date(Date.UTC(2026, 0, 10 + index, 9, 0, 0)),
  }));
}

function form(body: unknown): Record<string, string> {
  if (typeof body !== 'object' || body === null) return {};
  return Object.fromEntries(
    Object.entries(body as Record<string, unknown>).filter(
      (entry): entry is [string, string] => typeof entry[1] === 'string',
    ),
  );
}

/** A valid To that cannot be messaged: not mobile (21614), outside Geo Permissions (21408), unsubscribed (21610). */
function refuseRecipient(state: TwilioFakeState, to: string): void {
  if (to === TWILIO_NOT_MOBILE_NUMBER) {
    refuse(twilioError(400, 21614, `'To' number ${to} is not a valid mobile number`));
  }
  if (to === TWILIO_GEO_BLOCKED_NUMBER) {
    refuse(
      twilioError(
        400,
        21408,
        `Permission to send an SMS has not been enabled for the region indicated by the 'To' number: ${to}`,
      ),
    );
  }
  if (state.unsubscribed.has(to))
    refuse(twilioError(400, 21610, 'Attempt to send to unsubscribed recipient'));
}

function createMessage(state: TwilioFakeState, account: string, fields: Record<string, string>): Answer {
  const to = fields['To'];
  const from = fields['From'];
  const service = fields['MessagingServiceSid'];
  const body = fields['Body'];
  if (to === undefined || to === '') refuse(twilioError(400, 21604, "A 'To' phone number is required."));
  if (!E164.test(to) || state.invalid.has(to)) {
    refuse(twilioError(400, 21211, `The 'To' number ${to.slice(0, 20)} is not a valid phone number.`));
  }
  if (from === undefined && service === undefined) {
    refuse(twilioError(400, 21603, "A 'From' phone number is required."));
  }
  if (from !== undefined && !state.senders.has(from)) {
    refuse(
      twilioError(
        400,
        21606,
        `The From phone number ${from.slice(0, 20)} is not a valid, SMS-capable inbound phone number or short code for your account.`,
      ),
    );
  }
  if (service !== undefined && !state.services.has(service)) {
    refuse(twilioError(404, 20404, `The requested resource /Services/${service.slice(0, 40)} was not found`));
  }
  if (body === undefined || body === '') refuse(twilioError(400, 21602, 'Message body is required.'));
  if (body.length > 1600)
    refuse(twilioError(400, 21617, 'The concatenated message body exceeds the 1600 character limit.'));
  refuseRecipient(state, to);
  const message: TwilioFakeMessage = {
    sid: `SM${randomBytes(16).toString('hex')}`,
    to,
    from: from ?? null,
    messagingServiceSid: service ?? null,
    body,
    status: service === undefined ? 'queued' : 'accepted',
    direction: 'outbound-api',
    statusCallback: fields['StatusCallback'] ?? null,
    createdAt: new Date(),
  };
  state.messages.push(message);
  if (message.statusCallback !== null && state.sendCallbacks) {
    setTimeout(() => {
      void sendStatusCallback(state, message, 'sent').then(() =>
        sendStatusCallback(state, message, 'delivered'),
      );
    }, 20).unref();
  }
  return json(201, resource(account, message));
}

function listMessages(state: TwilioFakeState, account: string, query: Record<string, string>): Answer {
  const size = Number(query['PageSize'] ?? 50);
  if (!Number.isInteger(size) || size < 1 || size > 1000) {
    refuse(twilioError(400, 20001, 'PageSize must be between 1 and 1000'));
  }
  const page = Number(query['Page'] ?? 0);
  const filtered = [...state.messages]
    .reverse()
    .filter((m) => query['To'] === undefined || m.to === query['To'])
    .filter((m) => query['From'] === undefined || m.from === query['From'])
    .filter(
      (m) => query['DateSent'] === undefined || m.createdAt.toISOString().startsWith(query['DateSent'] ?? ''),
    );
  let start = 0;
  const token = query['PageToken'];
  if (token !== undefined) {
    const after = filtered.findIndex((m) => `PA${m.sid}` === token);
    if (after < 0 || !Number.isInteger(page) || page < 1)
      // Twilio's code for a PageToken it does not know (https://www.twilio.com/docs/api/errors/21481);
      // the reference names no HTTP status, 400 is the fake's assumption.
      refuse(twilioError(400, 21481, 'Invalid PageToken'));
    start = after + 1;
  }
  const items = filtered.slice(start, start + size);
  const filters = new URLSearchParams();
  for (const name of ['To', 'From', 'DateSent'])
    if (query[name] !== undefined) filters.set(name, query[name] ?? '');
  const base = `/2010-04-01/Accounts/${account}/Messages.json`;
  const uri = (more: Record<string, string>): string => {
    const params = new URLSearchParams(filters);
    params.set('PageSize', String(size));
    for (const [name, value] of Object.entries(more)) params.set(name, value);
    return `${base}?${params}`;
  };
  const last = items.at(-1);
  const more = start + size < filtered.length && last !== undefined;
  return json(200, {
    messages: items.map((m) => resource(account, m)),
    end: start + items.length - 1,
    first_page_uri: uri({ Page: '0' }),
    next_page_uri: more ? uri({ Page: String(page + 1), PageToken: `PA${last.sid}` }) : null,
    page,
    page_size: size,
    previous_page_uri: page > 0 ? uri({ Page: String(page - 1) }) : null,
    start,
    uri: uri(token === undefined ? { Page: String(page) } : { Page: String(page), PageToken: token }),
  });
}

/** The account a path names must be the authenticated one (Twilio answers 20003 otherwise). */
function own(state: TwilioFakeState, account: string | undefined): string {
  if (account !== state.accountSid) refuse(twilioError(401, 20003, 'Authenticate'));
  return account;
}

/**
 * The fake's definition, for `startFake` or a sandbox.
 *
 * @example
 * ```ts
 * const fake = await startFake(twilioFake());
 * ```
 */
export function twilioFake(): FakeDefinition<TwilioFakeState> {
  return {
    name: 'Twilio',
    seed: () => ({
      accountSid: TWILIO_SANDBOX_ACCOUNT_SID,
      authToken: TWILIO_SANDBOX_AUTH_TOKEN,
      credentials: new Set([`${TWILIO_SANDBOX_ACCOUNT_SID}:${TWILIO_SANDBOX_AUTH_TOKEN}`]),
      senders: new Set([TWILIO_SANDBOX_FROM]),
      services: new Set([TWILIO_SANDBOX_SERVICE_SID]),
      invalid: new Set([TWILIO_INVALID_NUMBER]),
      unsubscribed: new Set([TWILIO_UNSUBSCRIBED_NUMBER]),
      messages: seedMessages(),
      sendCallbacks: true,
      callbacks: [],
    }),
    errors: twilioErrors,
    token: (request) => {
      const basic = /^basic\s+(\S+)$/i.exec(request.headers['authorization']?.trim() ?? '')?.[1];
      return basic === undefined ? undefined : Buffer.from(basic, 'base64').toString('utf8');
    },
    authorize: ({ request, state }) =>
      state.credentials.has(request.token ?? '') ? undefined : 'unauthorized',
    routes: [
      {
        name: 'send-message',
        method: 'POST',
        path: `${API}/Messages.json`,
        handle: ({ request, params, state }) => {
          const account = own(state, params['account']);
          if (!/^application\/x-www-form-urlencoded/i.test(request.headers['content-type'] ?? '')) {
            refuse(twilioError(400, 20001, 'Expected an application/x-www-form-urlencoded body'));
          }
          return createMessage(state, account, form(request.body));
        },
      },
      {
        name: 'list-messages',
        method: 'GET',
        path: `${API}/Messages.json`,
        handle: ({ request, params, state }) =>
          listMessages(state, own(state, params['account']), request.query),
      },
      {
        name: 'get-message',
        method: 'GET',
        path: `${API}/Messages/:file`,
        handle: ({ params, state }) => {
          const account = own(state, params['account']);
          const sid = /^(.+)\.json$/.exec(params['file'] ?? '')?.[1];
          const found = state.messages.find((m) => m.sid === sid);
          if (found === undefined) {
            refuse(
              twilioError(
                404,
                20404,
                `The requested resource /2010-04-01/Accounts/${account}/Messages/${String(sid).slice(0, 40)}.json was not found`,
              ),
            );
          }
          return json(200, resource(account, found));
        },
      },
    ],
  };
}

/**
 * Starts the fake on 127.0.0.1 (an ephemeral port unless told).
 *
 * @example
 * ```ts
 * const fake = await startTwilioFake();
 * ```
 */
export function startTwilioFake(options?: StartOptions): Promise<FakeServer<TwilioFakeState>> {
  return startFake(twilioFake(), options);
}

// As a sandbox: `npx node scripts/local/sandboxes/twilio.ts [port]` serves the fake until stopped.
if (process.argv[1] !== undefined && resolve(process.argv[1]) === import.meta.filename) {
  const fake = await startTwilioFake({ port: Number(process.argv[2] ?? 0) });
  console.log(`Twilio sandbox: TWILIO_API_URL=${fake.url} (secret ${TWILIO_SANDBOX_SECRET})`);
}
