/**
 * Amazon SES v2 on the stack's AWS endpoint: the JSON REST API as the SES API Reference describes it
 * (`POST /v2/email/outbound-emails`, templates under `/v2/email/templates`, `GET /v2/email/account`), with
 * the SES sandbox's rule (a new account sends only from and to verified identities; the mailbox simulator's
 * addresses are always allowed), and every accepted message CAPTURED instead of delivered: listed and read
 * at `GET /_local/ses/messages[/<id>]` on the same endpoint and on the console's Mail page.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LocalModel } from '../config/model.ts';
import { AwsError, type RestService } from './protocol.ts';

/** One attachment of a captured message: its name, type and size, not its bytes. */
export interface CapturedAttachment {
  fileName: string;
  contentType: string;
  size: number;
  sha256: string;
}

/** A message SES accepted, as the local stack keeps it. */
export interface CapturedMail {
  messageId: string;
  receivedAt: string;
  kind: 'simple' | 'template' | 'raw';
  /** `sent`, or `rendering-failure` (SES accepts a templated send, then drops it when a variable is missing). */
  status: 'sent' | 'rendering-failure';
  failure?: string | undefined;
  from: string;
  to: string[];
  cc: string[];
  bcc: string[];
  replyTo: string[];
  subject: string;
  text?: string | undefined;
  html?: string | undefined;
  template?: { name: string; data: Record<string, unknown> } | undefined;
  configurationSet?: string | undefined;
  tags: Record<string, string>;
  attachments: CapturedAttachment[];
  /** The MIME text of a raw message. */
  raw?: string | undefined;
}

interface Template {
  name: string;
  subject: string;
  text?: string | undefined;
  html?: string | undefined;
  createdAt: number;
}

export interface SesMailOptions {
  region: string;
  accountId: string;
  /** Verified identities: addresses and domains (`example.com` verifies every address at it). */
  identities?: string[];
  configurationSets?: string[];
  /** Out of the sandbox: any recipient; default false (the sandbox, as a new account starts). */
  productionAccess?: boolean;
  /** How many messages are kept (oldest dropped first); default 500. */
  maxMessages?: number;
}

const SIMULATOR = '@simulator.amazonses.com';
const TEMPLATE_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_RECIPIENTS = 50;

const bad = (message: string) => new AwsError('BadRequestException', message);
const notFound = (message: string) => new AwsError('NotFoundException', message, { status: 404 });

/** The address of `"Name" <a@b>` or `a@b`, lower-cased. */
export function addressOf(value: string): string {
  const angle = /<([^>]+)>\s*$/.exec(value);
  return (angle?.[1] ?? value).trim().toLowerCase();
}

/**
 * Refuses an address SES refuses: not `local@domain.tld`, or not ASCII. SES v2's reference (Destination,
 * EmailAddress): the domain part must be converted to Punycode, and SES does not support SMTPUTF8 (local
 * parts outside ASCII).
 */
function checkAddress(value: string, field: string): void {
  const address = addressOf(value);
  if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(address)) throw bad(`Invalid address in ${field}`);
  if (!/^[\x21-\x7e]+$/.test(address)) {
    throw bad(`Invalid address in ${field}: the domain must be Punycode and the local part ASCII`);
  }
}

function strings(value: unknown, field: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) {
    throw bad(`${field} must be a list of email addresses`);
  }
  for (const item of value as string[]) checkAddress(item, field);
  return value as string[];
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

function text(value: unknown): string | undefined {
  const data = record(value)['Data'];
  return typeof data === 'string' ? data : undefined;
}

function base64(value: unknown, field: string): Buffer {
  if (typeof value !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) {
    throw new AwsError('SerializationException', `${field} must be base64`);
  }
  return Buffer.from(value, 'base64');
}

function attachmentsOf(value: unknown): CapturedAttachment[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw bad('Attachments must be a list');
  return value.map((raw, index) => {
    const entry = record(raw);
    const bytes = base64(entry['RawContent'], `Attachments[${index}].RawContent`);
    const fileName = entry['FileName'];
    if (typeof fileName !== 'string' || fileName === '')
      throw bad(`Attachments[${index}].FileName is required`);
    // The API reference's Attachment length constraints: FileName at most 255, ContentId 1 to 78.
    if ([...fileName].length > 255) throw bad(`Attachments[${index}].FileName is longer than 255`);
    const contentId = entry['ContentId'];
    if (
      contentId !== undefined &&
      (typeof contentId !== 'string' || ![...contentId].length || [...contentId].length > 78)
    ) {
      throw bad(`Attachments[${index}].ContentId must have length between 1 and 78`);
    }
    return {
      fileName,
      contentType:
        typeof entry['ContentType'] === 'string' ? entry['ContentType'] : 'application/octet-stream',
      size: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'),
    };
  });
}

/** `{{name}}` substitution as SES does for templates; a missing variable is a rendering failure. */
function render(source: string | undefined, data: Record<string, unknown>, missing: Set<string>) {
  if (source === undefined) return undefined;
  return source.replace(/\{\{\s*([\w.]+)\s*\}\}/g, (_match, name: string) => {
    let value: unknown = data;
    for (const part of name.split('.')) value = record(value)[part];
    if (value === undefined || value === null) {
      missing.add(name);
      return '';
    }
    return String(value);
  });
}

interface MimePart {
  headers: Map<string, string>;
  body: string;
}

function parseMime(source: string): MimePart {
  const split = source.search(/\r?\n\r?\n/);
  const head = split < 0 ? source : source.slice(0, split);
  const body = split < 0 ? '' : source.slice(split).replace(/^\r?\n\r?\n/, '');
  const headers = new Map<string, string>();
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { headers, body };
}

function decoded(part: MimePart): Buffer {
  const encoding = (part.headers.get('content-transfer-encoding') ?? '').toLowerCase();
  return encoding === 'base64'
    ? Buffer.from(part.body.replace(/\s+/g, ''), 'base64')
    : Buffer.from(part.body);
}

/** The leaves of a MIME message (multipart parts flattened). */
function leaves(part: MimePart, depth = 0): MimePart[] {
  const type = part.headers.get('content-type') ?? 'text/plain';
  const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
  if (!/^multipart\//i.test(type) || boundary === undefined || depth > 5) return [part];
  return (
    part.body
      .split(`--${boundary}`)
      .slice(1)
      .filter((chunk) => !chunk.startsWith('--'))
      // The line break before a delimiter belongs to the delimiter (RFC 2046), not to the part.
      .flatMap((chunk) => leaves(parseMime(chunk.replace(/^\r?\n/, '').replace(/\r?\n$/, '')), depth + 1))
  );
}

const list = (value: string | undefined) =>
  value === undefined
    ? []
    : value
        .split(',')
        .map((item) => item.trim())
        .filter(Boolean);

/** What a raw message says about itself: headers, text, HTML and attachments. */
function readRaw(source: string) {
  const message = parseMime(source);
  const parts = leaves(message);
  const attachments: CapturedAttachment[] = [];
  let plain: string | undefined;
  let html: string | undefined;
  for (const part of parts) {
    const type = (part.headers.get('content-type') ?? 'text/plain').split(';')[0]?.trim() ?? 'text/plain';
    const disposition = part.headers.get('content-disposition') ?? '';
    const name =
      /filename="?([^";]+)"?/i.exec(disposition)?.[1] ??
      /name="?([^";]+)"?/i.exec(part.headers.get('content-type') ?? '')?.[1];
    const bytes = decoded(part);
    if (/^attachment/i.test(disposition) || name !== undefined) {
      attachments.push({
        fileName: name ?? 'attachment',
        contentType: type,
        size: bytes.length,
        sha256: createHash('sha256').update(bytes).digest('hex'),
      });
    } else if (type === 'text/html') html ??= bytes.toString('utf8');
    else if (type === 'text/plain') plain ??= bytes.toString('utf8');
  }
  const header = (name: string) => message.headers.get(name);
  return {
    from: header('from'),
    to: list(header('to')),
    cc: list(header('cc')),
    subject: header('subject') ?? '',
    text: plain,
    html,
    attachments,
  };
}

function tagsOf(value: unknown): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const tag of Array.isArray(value) ? value : []) {
    const { Name, Value } = record(tag);
    if (typeof Name !== 'string' || typeof Value !== 'string') throw bad('EmailTags need Name and Value');
    tags[Name] = Value;
  }
  return tags;
}

function simpleOf(simple: Record<string, unknown>) {
  const subject = text(simple['Subject']);
  if (subject === undefined) throw bad('Simple.Subject is required');
  const body = record(simple['Body']);
  const plain = text(body['Text']);
  const html = text(body['Html']);
  if (plain === undefined && html === undefined) throw bad('Simple.Body needs Text or Html');
  return { subject, text: plain, html, attachments: attachmentsOf(simple['Attachments']) };
}

/**
 * The local SES account: identities, configuration sets, templates and the captured mail.
 *
 * @example
 * ```ts
 * const mail = new SesMail({ region: 'us-east-1', accountId: '000000000000', identities: ['example.com'] });
 * ```
 */
export class SesMail {
  readonly region: string;
  readonly accountId: string;
  readonly #identities: Set<string>;
  readonly #configurationSets: Set<string>;
  readonly #templates = new Map<string, Template>();
  readonly #messages: CapturedMail[] = [];
  readonly #max: number;
  productionAccess: boolean;

  constructor(options: SesMailOptions) {
    this.region = options.region;
    this.accountId = options.accountId;
    this.#identities = new Set((options.identities ?? []).map((identity) => identity.toLowerCase()));
    this.#configurationSets = new Set(options.configurationSets ?? []);
    this.productionAccess = options.productionAccess ?? false;
    this.#max = options.maxMessages ?? 500;
  }

  verifyIdentity(identity: string): void {
    this.#identities.add(identity.toLowerCase());
  }

  createConfigurationSet(name: string): void {
    this.#configurationSets.add(name);
  }

  /** Whether an address is verified: itself or its domain. */
  verified(address: string): boolean {
    const plain = addressOf(address);
    return this.#identities.has(plain) || this.#identities.has(plain.slice(plain.indexOf('@') + 1));
  }

  /** Captured messages, newest first. */
  messages(): CapturedMail[] {
    return [...this.#messages].reverse();
  }

  message(id: string): CapturedMail | undefined {
    return this.#messages.find((mail) => mail.messageId === id);
  }

  clear(): void {
    this.#messages.length = 0;
  }

  /** SendEmail: checks as SES does, then captures the message. */
  sendEmail(body: Record<string, unknown>): { MessageId: string } {
    const content = record(body['Content']);
    const kinds = (['Simple', 'Raw', 'Template'] as const).filter((kind) => content[kind] !== undefined);
    const kind = kinds[0];
    if (kinds.length !== 1 || kind === undefined) {
      throw bad('Content must contain exactly one of Simple, Raw or Template');
    }
    const destination = record(body['Destination']);
    let to = strings(destination['ToAddresses'], 'ToAddresses');
    let cc = strings(destination['CcAddresses'], 'CcAddresses');
    const bcc = strings(destination['BccAddresses'], 'BccAddresses');
    let from = typeof body['FromEmailAddress'] === 'string' ? body['FromEmailAddress'] : undefined;
    const configurationSet = this.#configurationSet(body['ConfigurationSetName']);
    const parts = this.#contentOf(kind, content);
    if (parts.raw !== undefined) {
      from ??= parts.headers.from;
      if (to.length + cc.length + bcc.length === 0) ({ to, cc } = parts.headers);
    }
    if (from === undefined || from === '') throw bad('FromEmailAddress is required');
    if (typeof body['FromEmailAddress'] === 'string') checkAddress(from, 'FromEmailAddress');
    this.#checkAddresses(from, [...to, ...cc, ...bcc]);
    const captured: CapturedMail = {
      messageId: `${Date.now().toString(16)}-${randomUUID()}-000000`,
      receivedAt: new Date().toISOString(),
      kind: kind === 'Simple' ? 'simple' : kind === 'Raw' ? 'raw' : 'template',
      status: 'sent',
      from,
      to,
      cc,
      bcc,
      replyTo: strings(body['ReplyToAddresses'], 'ReplyToAddresses'),
      configurationSet,
      tags: tagsOf(body['EmailTags']),
      ...parts.mail,
    };
    this.#messages.push(captured);
    if (this.#messages.length > this.#max) this.#messages.shift();
    return { MessageId: captured.messageId };
  }

  #configurationSet(name: unknown): string | undefined {
    if (typeof name !== 'string') return undefined;
    if (!this.#configurationSets.has(name)) throw notFound(`Configuration set <${name}> does not exist.`);
    return name;
  }

  #contentOf(kind: 'Simple' | 'Raw' | 'Template', content: Record<string, unknown>) {
    const none = { from: undefined, to: [] as string[], cc: [] as string[] };
    if (kind === 'Simple')
      return { mail: simpleOf(record(content['Simple'])), headers: none, raw: undefined };
    if (kind === 'Template') {
      return { mail: this.#renderTemplate(record(content['Template'])), headers: none, raw: undefined };
    }
    const raw = base64(record(content['Raw'])['Data'], 'Raw.Data').toString('utf8');
    const { from, to, cc, ...mail } = readRaw(raw);
    return { mail: { ...mail, raw }, headers: { from, to, cc }, raw };
  }

  /** The sender must be verified; in the sandbox every recipient too (the simulator's always are). */
  #checkAddresses(from: string, recipients: string[]): void {
    if (recipients.length === 0) throw bad('Destination needs at least one address');
    if (recipients.length > MAX_RECIPIENTS) {
      throw new AwsError('MessageRejected', `Recipient count exceeds ${MAX_RECIPIENTS}.`);
    }
    const checked = this.productionAccess
      ? []
      : recipients.filter((address) => !addressOf(address).endsWith(SIMULATOR));
    const unverified = [from, ...checked].filter((address) => !this.verified(address));
    if (unverified.length > 0) {
      throw new AwsError(
        'MessageRejected',
        `Email address is not verified. The following identities failed the check in region ${this.region.toUpperCase()}: ${unverified.map(addressOf).join(', ')}`,
      );
    }
  }

  #renderTemplate(template: Record<string, unknown>) {
    const name =
      typeof template['TemplateName'] === 'string'
        ? template['TemplateName']
        : typeof template['TemplateArn'] === 'string'
          ? template['TemplateArn'].slice(template['TemplateArn'].lastIndexOf('/') + 1)
          : undefined;
    if (name === undefined) throw bad('Template needs TemplateName or TemplateArn');
    const stored = this.#templates.get(name);
    if (stored === undefined) throw notFound(`Template ${name} does not exist.`);
    let data: Record<string, unknown> = {};
    if (template['TemplateData'] !== undefined) {
      try {
        data = record(JSON.parse(String(template['TemplateData'])));
      } catch {
        throw bad('TemplateData is not valid JSON');
      }
    }
    const missing = new Set<string>();
    const rendered = {
      subject: render(stored.subject, data, missing) ?? '',
      text: render(stored.text, data, missing),
      html: render(stored.html, data, missing),
    };
    return {
      ...rendered,
      template: { name, data },
      attachments: attachmentsOf(template['Attachments']),
      ...(missing.size === 0
        ? {}
        : {
            status: 'rendering-failure' as const,
            failure: `Attribute '${[...missing][0]}' is not present in the rendering data.`,
          }),
    };
  }

  createTemplate(body: Record<string, unknown>): Record<string, never> {
    const name = body['TemplateName'];
    if (typeof name !== 'string' || !TEMPLATE_NAME.test(name)) {
      throw bad('TemplateName must be 1-64 letters, digits, underscores or hyphens');
    }
    if (this.#templates.has(name)) {
      throw new AwsError('AlreadyExistsException', `Template ${name} already exists.`);
    }
    this.#templates.set(name, { name, ...this.#content(body['TemplateContent']), createdAt: Date.now() });
    return {};
  }

  updateTemplate(name: string, body: Record<string, unknown>): Record<string, never> {
    const stored = this.#templates.get(name);
    if (stored === undefined) throw notFound(`Template ${name} does not exist.`);
    this.#templates.set(name, { ...stored, ...this.#content(body['TemplateContent']) });
    return {};
  }

  #content(raw: unknown): Pick<Template, 'subject' | 'text' | 'html'> {
    const content = record(raw);
    const subject = content['Subject'];
    const plain = typeof content['Text'] === 'string' ? content['Text'] : undefined;
    const html = typeof content['Html'] === 'string' ? content['Html'] : undefined;
    if (typeof subject !== 'string' || subject === '') throw bad('TemplateContent.Subject is required');
    if (plain === undefined && html === undefined) throw bad('TemplateContent needs Text or Html');
    return { subject, text: plain, html };
  }

  getTemplate(name: string) {
    const stored = this.#templates.get(name);
    if (stored === undefined) throw notFound(`Template ${name} does not exist.`);
    const content: Record<string, string> = { Subject: stored.subject };
    if (stored.text !== undefined) content['Text'] = stored.text;
    if (stored.html !== undefined) content['Html'] = stored.html;
    return { TemplateName: name, TemplateContent: content };
  }

  deleteTemplate(name: string): Record<string, never> {
    if (!this.#templates.delete(name)) throw notFound(`Template ${name} does not exist.`);
    return {};
  }

  listTemplates(query: URLSearchParams) {
    const size = Number(query.get('PageSize') ?? '10');
    if (!Number.isInteger(size) || size < 1 || size > 100) throw bad('PageSize must be 1-100');
    const names = [...this.#templates.keys()].sort();
    const token = query.get('NextToken');
    const after = token === null ? undefined : Buffer.from(token, 'base64url').toString('utf8');
    if (token !== null && (after === undefined || !names.includes(after))) throw bad('Invalid NextToken');
    const start = after === undefined ? 0 : names.indexOf(after) + 1;
    const page = names.slice(start, start + size);
    const last = page.at(-1);
    return {
      TemplatesMetadata: page.map((name) => ({
        TemplateName: name,
        CreatedTimestamp: (this.#templates.get(name)?.createdAt ?? 0) / 1000,
      })),
      ...(start + size < names.length && last !== undefined
        ? { NextToken: Buffer.from(last).toString('base64url') }
        : {}),
    };
  }

  account() {
    const day = Date.now() - 86_400_000;
    return {
      DedicatedIpAutoWarmupEnabled: false,
      EnforcementStatus: 'HEALTHY',
      ProductionAccessEnabled: this.productionAccess,
      SendingEnabled: true,
      SendQuota: {
        Max24HourSend: this.productionAccess ? 50_000 : 200,
        MaxSendRate: this.productionAccess ? 14 : 1,
        SentLast24Hours: this.#messages.filter((mail) => Date.parse(mail.receivedAt) > day).length,
      },
    };
  }
}

function json(body: Buffer): Record<string, unknown> {
  if (body.length === 0) return {};
  try {
    return record(JSON.parse(body.toString('utf8')));
  } catch {
    throw new AwsError('SerializationException', 'The request body is not valid JSON');
  }
}

/**
 * The SES v2 routes the local stack serves.
 *
 * @example
 * ```ts
 * services.ses = sesService(new SesMail({ region, accountId, identities: ['example.com'] }));
 * ```
 */
export function sesService(mail: SesMail): RestService {
  return async ({ method, path, query, body }) => {
    const answer = route(mail, method, path, query, body);
    if (answer === undefined) {
      throw new AwsError(
        'UnknownOperationException',
        `SES v2 ${method} ${path} is not served by the local stack`,
        {
          status: 404,
        },
      );
    }
    return { status: 200, body: answer };
  };
}

function route(mail: SesMail, method: string, path: string, query: URLSearchParams, body: Buffer): unknown {
  if (path === '/v2/email/outbound-emails' && method === 'POST') return mail.sendEmail(json(body));
  if (path === '/v2/email/account' && method === 'GET') return mail.account();
  if (path === '/v2/email/templates' && method === 'POST') return mail.createTemplate(json(body));
  if (path === '/v2/email/templates' && method === 'GET') return mail.listTemplates(query);
  const named = /^\/v2\/email\/templates\/([^/]+)$/.exec(path)?.[1];
  if (named === undefined) return undefined;
  const name = decodeURIComponent(named);
  if (method === 'GET') return mail.getTemplate(name);
  if (method === 'PUT') return mail.updateTemplate(name, json(body));
  if (method === 'DELETE') return mail.deleteTemplate(name);
  return undefined;
}

/**
 * The local-only routes over the captured mail: `GET /_local/ses/messages` (newest first, without bodies),
 * `GET /_local/ses/messages/<id>` (all of it), `DELETE /_local/ses/messages` (forget them). Answers false
 * for any other path.
 *
 * @example
 * ```ts
 * if (await serveLocalMail(req, res, mail)) return;
 * ```
 */
export function serveLocalMail(req: IncomingMessage, res: ServerResponse, mail: SesMail): boolean {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  const method = (req.method ?? 'GET').toUpperCase();
  const reply = (status: number, answer: unknown) => {
    const textBody = JSON.stringify(answer);
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(textBody),
    });
    res.end(textBody);
    return true;
  };
  if (path === '/_local/ses/messages') {
    if (method === 'DELETE') {
      mail.clear();
      return reply(200, { messages: [] });
    }
    if (method !== 'GET') return reply(405, { message: 'GET or DELETE' });
    return reply(200, {
      messages: mail.messages().map(({ raw: _raw, text: _text, html: _html, ...summary }) => summary),
    });
  }
  const id = /^\/_local\/ses\/messages\/([^/]+)$/.exec(path)?.[1];
  if (id === undefined || method !== 'GET') return false;
  const found = mail.message(decodeURIComponent(id));
  return found === undefined
    ? reply(404, { message: `No captured message ${decodeURIComponent(id)}` })
    : reply(200, found);
}

/**
 * The local account from the model: `example.com` and the domain of every function's `SES_FROM_ADDRESS`
 * verified, every `SES_CONFIGURATION_SET` a function names created; in the sandbox, as a new account is.
 *
 * @example
 * ```ts
 * services.ses = sesService((services.mail = localMail(model, LOCAL_ACCOUNT_ID)));
 * ```
 */
export function localMail(model: Pick<LocalModel, 'functions' | 'region'>, accountId: string): SesMail {
  const identities = new Set(['example.com']);
  const sets = new Set<string>();
  for (const fn of model.functions) {
    const from = fn.environment['SES_FROM_ADDRESS'];
    if (from?.includes('@')) identities.add(addressOf(from).split('@')[1] ?? '');
    const set = fn.environment['SES_CONFIGURATION_SET'];
    if (set !== undefined && set !== '') sets.add(set);
  }
  return new SesMail({
    region: model.region,
    accountId,
    identities: [...identities],
    configurationSets: [...sets],
  });
}
