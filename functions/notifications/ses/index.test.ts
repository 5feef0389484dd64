/**
 * The Amazon SES connector against the local stack's own SES v2 endpoint (`scripts/local/aws/ses.ts`, the
 * REST JSON API, in the SES sandbox), spoken to by the real AWS SDK client, with attachments and raw
 * messages read from s3rver (claim check): the notifier conformance suite (what arrived read back from
 * the captured mail), each operation on each trigger, the local capture routes, and the failure paths.
 */
import { createHash } from 'node:crypto';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { SESv2Client } from '@aws-sdk/client-sesv2';
import {
  type CapturedLogs,
  captureLogs,
  httpEvent,
  lambdaContext,
  sqsEvent,
} from '@circle-core/core/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { describeNotifierConformance } from '#shared/interfaces/notifier.conformance.ts';
import { type AwsEndpoint, startAwsEndpoint } from '../../../scripts/local/aws/server.ts';
import { SesMail, sesService } from '../../../scripts/local/aws/ses.ts';
import { createStackLog } from '../../../scripts/local/log.ts';
import { type S3rverPeer, startS3rver } from '../../../test/peers/s3rver.ts';
import { SesMailer, type SesOptions, subjectOf } from './client.ts';

const BUCKET = 'ses-attachments';
const OTHER_BUCKET = 'someone-elses';
const CONFIGURATION_SET = 'circle-core-test-ses';
const FROM = 'alerts@example.com';
const TO = 'oncall@example.com';
/** A body marker the log checks search for: message content never reaches a log line. */
const BODY_MARKER = 'ses-body-marker-7d41';

interface HttpResult {
  statusCode: number;
  body: string;
}

let aws: AwsEndpoint;
let s3rver: S3rverPeer;
let s3: S3Client;
let mail: SesMail;
let logs: CapturedLogs;
let connector: typeof import('./index.ts')['connector'];
const savedEnv = { ...process.env };

async function call(operation: string, body: unknown): Promise<HttpResult> {
  const event = httpEvent({ path: `/ses/${operation}`, body });
  return (await connector.handler(event, lambdaContext())) as HttpResult;
}

const parsed = (response: HttpResult): Record<string, unknown> => JSON.parse(response.body);

async function put(key: string, body: string | Buffer, contentType?: string): Promise<void> {
  await s3.send(
    new PutObjectCommand({
      Bucket: BUCKET,
      Key: key,
      Body: body,
      ...(contentType === undefined ? {} : { ContentType: contentType }),
    }),
  );
}

const sha256 = (body: string | Buffer) => createHash('sha256').update(body).digest('hex');

function options(overrides: Partial<SesOptions> = {}): SesOptions {
  return {
    from: FROM,
    configurationSet: CONFIGURATION_SET,
    attachmentBuckets: [BUCKET],
    attachmentMaxBytes: 1_000,
    s3ForcePathStyle: true,
    timeoutMs: 2_000,
    maxAttempts: 1,
    ...overrides,
  };
}

function failingSdk(name: string, status: number, message = `${name} from the test`): SESv2Client {
  const error = Object.assign(new Error(message), {
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status, requestId: 'req-1' },
    $response: { headers: { 'retry-after': '2' } },
  });
  return { send: async () => Promise.reject(error) } as unknown as SESv2Client;
}

beforeAll(async () => {
  s3rver = await startS3rver({ buckets: [BUCKET, OTHER_BUCKET] });
  s3 = new S3Client({
    endpoint: s3rver.endpoint,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  mail = new SesMail({
    region: 'us-east-1',
    accountId: '000000000000',
    identities: ['example.com'],
    configurationSets: [CONFIGURATION_SET],
  });
  aws = await startAwsEndpoint({
    port: 0,
    log: createStackLog({ pretty: false, write: () => undefined }),
    services: { accountId: '000000000000', ses: sesService(mail), mail },
  });
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: aws.url,
    AWS_ENDPOINT_URL_S3: s3rver.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    SES_FROM_ADDRESS: FROM,
    SES_CONFIGURATION_SET: CONFIGURATION_SET,
    SES_ATTACHMENT_BUCKETS: BUCKET,
    SES_ATTACHMENT_MAX_BYTES: '4096',
    SES_S3_FORCE_PATH_STYLE: 'true',
    SES_TIMEOUT_MS: '3000',
  });
  ({ connector } = await import('./index.ts'));
});

afterAll(async () => {
  process.env = savedEnv;
  s3.destroy();
  await aws.close();
  await s3rver.close();
});

beforeEach(() => {
  logs = captureLogs();
});

afterEach(() => {
  logs.restore();
});

describeNotifierConformance('Amazon SES', async () => ({
  notifier: await SesMailer.create(options()),
  channel: TO,
  // Not a verified identity: in the SES sandbox it cannot receive.
  missingChannel: 'nobody@unverified.example.org',
  readMessage: async (_channel, ts) => {
    const found = mail.message(ts);
    return found === undefined ? undefined : { text: found.text };
  },
}));

describe('Connector: ses', () => {
  describe('Operation: send-email', () => {
    it('sends text, HTML and S3 attachments through the configuration set, captured as sent', async () => {
      // Prepare
      await put('reports/summary.pdf', '%PDF-1.4 tiny', 'application/pdf');
      await put('logo.png', Buffer.from([0x89, 0x50, 0x4e, 0x47]));
      // Act
      const response = await call('send-email', {
        to: [TO],
        cc: ['team@example.com'],
        replyTo: ['noreply@example.com'],
        subject: 'Disk full on db-1',
        text: `db-1 is at 97% ${BODY_MARKER}`,
        html: '<p>db-1 is at 97%</p><img src="cid:logo.png">',
        tags: { campaign: 'incident' },
        attachments: [
          { key: 'reports/summary.pdf' },
          { bucket: BUCKET, key: 'logo.png', contentType: 'image/png', inline: true },
        ],
      });
      // Assess
      expect(response.statusCode).toBe(200);
      const { messageId, configurationSet } = parsed(response);
      expect(configurationSet).toBe(CONFIGURATION_SET);
      expect(mail.message(String(messageId))).toMatchObject({
        kind: 'simple',
        from: FROM,
        to: [TO],
        cc: ['team@example.com'],
        replyTo: ['noreply@example.com'],
        subject: 'Disk full on db-1',
        configurationSet: CONFIGURATION_SET,
        tags: { campaign: 'incident' },
        attachments: [
          {
            fileName: 'summary.pdf',
            contentType: 'application/pdf',
            size: 13,
            sha256: sha256('%PDF-1.4 tiny'),
          },
          { fileName: 'logo.png', contentType: 'image/png', size: 4 },
        ],
      });
      expect(logs.lines.join('\n')).not.toContain(BODY_MARKER);
    });

    it('refuses bad input with a 400 naming the field, before any call', async () => {
      // Prepare
      const before = mail.messages().length;
      // Act
      const typo = await call('send-email', { to: [TO], subject: 's', text: 't', sbject: 'x' });
      const nobody = await call('send-email', { subject: 's', text: 't' });
      const noBody = await call('send-email', { to: [TO], subject: 's' });
      const badAddress = await call('send-email', { to: ['not-an-address'], subject: 's', text: 't' });
      // Assess
      expect(typo.statusCode).toBe(400);
      expect(parsed(typo)['errors']).toEqual([{ pointer: '/sbject', message: 'unknown field' }]);
      expect(parsed(nobody)['errors']).toEqual([{ pointer: '/to', message: 'Give at least one recipient' }]);
      expect(parsed(noBody)['errors']).toEqual([{ pointer: '/text', message: 'Provide text, html or both' }]);
      expect(badAddress.statusCode).toBe(400);
      expect(JSON.stringify(parsed(badAddress)['errors'])).toContain('/to/0');
      expect(mail.messages()).toHaveLength(before);
    });

    it('refuses a subject with a line break or another control character with a 400 naming /subject, before any call', async () => {
      // Prepare
      const before = mail.messages().length;
      // Act
      const refused = await Promise.all(
        ['x\r\nBcc: evil@example.org', 'a\nb', 'a\rb', 'nul\u0000', 'del\u007f', 'c1\u0085'].map((subject) =>
          call('send-email', { to: [TO], subject, text: 't' }),
        ),
      );
      const template = await call('create-template', { name: 'crlf-subject', subject: 'a\r\nb', text: 't' });
      const stored = await call('get-template', { name: 'crlf-subject' });
      const tab = await call('send-email', { to: [TO], subject: 'Disk\tfull', text: 't' });
      // Assess
      for (const response of refused) {
        expect(response.statusCode).toBe(400);
        expect(parsed(response)['errors']).toEqual([
          { pointer: '/subject', message: expect.stringContaining('one header line') },
        ]);
      }
      expect(parsed(refused[0] as HttpResult)['errors']).toEqual([
        { pointer: '/subject', message: expect.stringContaining('U+000D at character 2') },
      ]);
      expect(template.statusCode).toBe(400);
      expect(parsed(template)['errors']).toEqual([{ pointer: '/subject', message: expect.any(String) }]);
      expect(stored.statusCode).toBe(404);
      expect(tab.statusCode).toBe(200);
      expect(mail.messages()).toHaveLength(before + 1);
      expect(subjectOf('first\rsecond')).toBe('first');
      expect(subjectOf('bell\u0007 and\u0000nul')).toBe('bell  and nul');
    });

    it('answers 404 for a recipient that is not verified while the account is in the SES sandbox', async () => {
      // Act
      const response = await call('send-email', {
        to: ['stranger@elsewhere.example.org'],
        subject: 's',
        text: 't',
      });
      const simulator = await call('send-email', {
        to: ['success@simulator.amazonses.com'],
        subject: 's',
        text: 't',
      });
      // Assess
      expect(response.statusCode).toBe(404);
      expect(parsed(response)['detail']).toContain('not a verified identity');
      expect(parsed(response)['detail']).not.toContain('stranger');
      expect(simulator.statusCode).toBe(200);
    });

    it('reads attachments from allowed buckets only, within the byte budget', async () => {
      // Prepare
      await put('big.bin', Buffer.alloc(3_000, 1));
      await s3.send(new PutObjectCommand({ Bucket: OTHER_BUCKET, Key: 'x.txt', Body: 'x' }));
      const before = mail.messages().length;
      const send = (attachments: unknown) =>
        call('send-email', { to: [TO], subject: 's', text: 't', attachments });
      // Act
      const other = await send([{ bucket: OTHER_BUCKET, key: 'x.txt' }]);
      const missing = await send([{ key: 'never/written.pdf' }]);
      const tooMuch = await send([{ key: 'big.bin' }, { key: 'big.bin', fileName: 'again.bin' }]);
      const climbing = await send([{ key: '../x.txt' }]);
      // Assess
      expect(other.statusCode).toBe(403);
      expect(parsed(other)['detail']).toContain('SES_ATTACHMENT_BUCKETS');
      expect(missing.statusCode).toBe(404);
      expect(parsed(missing)['detail']).toBe(
        `object "never/written.pdf" in bucket "${BUCKET}" does not exist`,
      );
      expect(tooMuch.statusCode).toBe(413);
      expect(climbing.statusCode).toBe(400);
      expect(mail.messages()).toHaveLength(before);
    });
  });

  describe('Text that is not ASCII', () => {
    it('posts an emoji-heavy first line as a well-formed subject of at most 78 characters', async () => {
      // Prepare
      const notifier = await SesMailer.create(options());
      const text = `${'🔥'.repeat(90)}\nbody`;
      // Act
      const { ts } = await notifier.postMessage({ channel: TO, text });
      // Assess: what SES received, as the SDK sent it.
      const subject = mail.message(ts)?.subject ?? '';
      expect(subject.isWellFormed()).toBe(true);
      expect(subject).toBe(`${'🔥'.repeat(77)}…`);
      expect(mail.message(ts)?.text).toBe(text);
    });

    it('sends a subject and an attachment name in any script, as UTF-8 SES encodes', async () => {
      // Prepare
      await put('reports/plain.txt', 'x', 'text/plain');
      const subject = 'Zoë: 日本 disk full 🔥';
      // Act
      const response = await call('send-email', {
        to: [TO],
        subject,
        text: 'Grüße 🔥',
        attachments: [{ key: 'reports/plain.txt', fileName: 'Zoë 日本 🔥.txt' }],
      });
      // Assess
      expect(response.statusCode).toBe(200);
      const captured = mail.message(String(parsed(response)['messageId']));
      expect(captured).toMatchObject({
        subject,
        text: 'Grüße 🔥',
        attachments: [{ fileName: 'Zoë 日本 🔥.txt' }],
      });
    });

    it('sends an address with an internationalized domain as Punycode, as SES requires, from every address field', async () => {
      // Prepare: SES v2 (Destination, EmailAddress): "the domain part must be converted to Punycode"
      mail.verifyIdentity('xn--bcher-kva.de');
      const notifier = await SesMailer.create(options());
      // Act
      const response = await call('send-email', {
        from: 'alerts@bücher.de',
        to: ['ops@bücher.de'],
        cc: ['Team@BÜCHER.de'],
        replyTo: ['noreply@bücher.de'],
        subject: 's',
        text: 't',
      });
      const posted = await notifier.postMessage({ channel: 'ops@bücher.de', text: 'Disk full' });
      // Assess: what SES received, as the SDK sent it
      expect(response.statusCode).toBe(200);
      expect(mail.message(String(parsed(response)['messageId']))).toMatchObject({
        from: 'alerts@xn--bcher-kva.de',
        to: ['ops@xn--bcher-kva.de'],
        cc: ['Team@xn--bcher-kva.de'],
        replyTo: ['noreply@xn--bcher-kva.de'],
      });
      expect(posted.channel).toBe('ops@xn--bcher-kva.de');
      expect(mail.message(posted.ts)).toMatchObject({ to: ['ops@xn--bcher-kva.de'] });
    });

    it('refuses a local part that is not ASCII (SES has no SMTPUTF8) with a 400 naming the field, before any call', async () => {
      // Prepare
      const before = mail.messages().length;
      const notifier = await SesMailer.create(options());
      // Act
      const to = await call('send-email', { to: [TO, 'zoë@example.com'], subject: 's', text: 't' });
      const from = await call('send-email', { from: 'jürgen@bücher.de', to: [TO], subject: 's', text: 't' });
      const post = notifier.postMessage({ channel: '日本@example.com', text: 't' });
      // Assess
      expect(to.statusCode).toBe(400);
      expect(parsed(to)['errors']).toEqual([
        { pointer: '/to/1', message: expect.stringContaining('SMTPUTF8') },
      ]);
      expect(parsed(from)['errors']).toEqual([
        { pointer: '/from', message: expect.stringContaining('before the @ must be ASCII') },
      ]);
      await expect(post).rejects.toMatchObject({
        status: 400,
        issues: [{ pointer: '/channel', message: expect.stringContaining('SMTPUTF8') }],
      });
      expect(mail.messages()).toHaveLength(before);
    });

    it('refuses an inline attachment whose name cannot be its Content-ID (over 78 characters, or not ASCII), naming the field', async () => {
      // Prepare
      await put('img/logo.png', Buffer.from([0x89, 0x50]), 'image/png');
      const before = mail.messages().length;
      const send = (fileName: string) =>
        call('send-email', {
          to: [TO],
          subject: 's',
          html: `<img src="cid:${fileName}">`,
          attachments: [{ key: 'img/logo.png', fileName, inline: true }],
        });
      // Act
      const long = await send(`${'l'.repeat(80)}.png`);
      const wide = await send('日本.png');
      const fine = await send(`${'l'.repeat(74)}.png`);
      // Assess
      for (const refused of [long, wide]) {
        expect(refused.statusCode).toBe(400);
        expect(parsed(refused)['errors']).toEqual([
          expect.objectContaining({ pointer: '/attachments/0/fileName' }),
        ]);
      }
      expect(fine.statusCode).toBe(200);
      expect(mail.messages()).toHaveLength(before + 1);
    });
  });

  describe('Operations: templates', () => {
    it('creates, reads, lists in pages and sends a template SES renders', async () => {
      // Act
      const created = await call('create-template', {
        name: 'incident-opened',
        subject: '{{service}} is down',
        text: 'Incident on {{service}} since {{since}}',
        html: '<b>{{service}}</b>',
      });
      await call('create-template', { name: 'incident-resolved', subject: 'ok', text: 'ok' });
      await call('create-template', { name: 'weekly-report', subject: 'r', html: '<p>r</p>' });
      const duplicate = await call('create-template', { name: 'incident-opened', subject: 'x', text: 'y' });
      const read = await call('get-template', { name: 'incident-opened' });
      const missing = await call('get-template', { name: 'never-made' });
      const names: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = parsed(
          await call('list-templates', cursor === undefined ? { pageSize: 2 } : { pageSize: 2, cursor }),
        );
        names.push(...(page['templates'] as { name: string }[]).map((template) => template.name));
        cursor = page['nextCursor'] as string | undefined;
        pages += 1;
      } while (cursor !== undefined && pages < 10);
      const sent = await call('send-templated-email', {
        to: [TO],
        template: 'incident-opened',
        data: { service: 'db-1', since: '09:00' },
      });
      const unknown = await call('send-templated-email', { to: [TO], template: 'never-made' });
      // Assess
      expect(created.statusCode).toBe(200);
      expect(parsed(created)).toEqual({ name: 'incident-opened' });
      expect(duplicate.statusCode).toBe(409);
      expect(parsed(duplicate)['detail']).toBe('template "incident-opened" already exists');
      expect(parsed(read)).toEqual({
        name: 'incident-opened',
        subject: '{{service}} is down',
        text: 'Incident on {{service}} since {{since}}',
        html: '<b>{{service}}</b>',
      });
      expect(missing.statusCode).toBe(404);
      expect(names).toEqual(['incident-opened', 'incident-resolved', 'weekly-report']);
      expect(pages).toBe(2);
      expect(sent.statusCode).toBe(200);
      expect(mail.message(String(parsed(sent)['messageId']))).toMatchObject({
        kind: 'template',
        status: 'sent',
        subject: 'db-1 is down',
        text: 'Incident on db-1 since 09:00',
        template: { name: 'incident-opened', data: { service: 'db-1', since: '09:00' } },
        configurationSet: CONFIGURATION_SET,
      });
      expect(unknown.statusCode).toBe(404);
    });

    it('answers 400 naming /cursor for a cursor SES does not know as a page token', async () => {
      // Act
      const response = await call('list-templates', { pageSize: 2, cursor: 'not-a-next-cursor' });
      // Assess
      expect(response.statusCode).toBe(400);
      expect(parsed(response)).toMatchObject({
        code: 'validation_error',
        errors: [{ pointer: '/cursor', message: expect.stringContaining('nextCursor') }],
      });
    });
  });

  describe('Operation: send-raw-email', () => {
    it('sends a MIME message read from S3 as it is, to the addresses of its headers', async () => {
      // Prepare
      const mime = [
        `From: Alerts <${FROM}>`,
        `To: ${TO}`,
        'Subject: Raw report',
        'MIME-Version: 1.0',
        'Content-Type: multipart/mixed; boundary="b1"',
        '',
        '--b1',
        'Content-Type: text/plain; charset=UTF-8',
        '',
        'See the attached CSV.',
        '--b1',
        'Content-Type: text/csv; name="rows.csv"',
        'Content-Disposition: attachment; filename="rows.csv"',
        'Content-Transfer-Encoding: base64',
        '',
        Buffer.from('a,b\n1,2\n').toString('base64'),
        '--b1--',
        '',
      ].join('\r\n');
      await put('outbox/report.eml', mime, 'message/rfc822');
      // Act
      const response = await call('send-raw-email', { source: { key: 'outbox/report.eml' } });
      // Assess
      expect(response.statusCode).toBe(200);
      expect(mail.message(String(parsed(response)['messageId']))).toMatchObject({
        kind: 'raw',
        from: FROM,
        to: [TO],
        subject: 'Raw report',
        text: 'See the attached CSV.',
        attachments: [
          { fileName: 'rows.csv', contentType: 'text/csv', size: 8, sha256: sha256('a,b\n1,2\n') },
        ],
      });
    });
  });

  describe('Local capture routes', () => {
    it('lists captured mail without bodies and shows one in full', async () => {
      // Prepare
      const sent = parsed(await call('post-message', { channel: TO, text: 'Captured\nsecond line' }));
      // Act
      const listed = (await (await fetch(`${aws.url}/_local/ses/messages`)).json()) as {
        messages: Record<string, unknown>[];
      };
      const one = (await (
        await fetch(`${aws.url}/_local/ses/messages/${String(sent['ts'])}`)
      ).json()) as Record<string, unknown>;
      const none = await fetch(`${aws.url}/_local/ses/messages/nope`);
      // Assess
      expect(listed.messages[0]).toMatchObject({ messageId: sent['ts'], subject: 'Captured', to: [TO] });
      expect(listed.messages[0]).not.toHaveProperty('text');
      expect(one).toMatchObject({ subject: 'Captured', text: 'Captured\nsecond line' });
      expect(none.status).toBe(404);
    });
  });

  describe('Class: SesMailer', () => {
    it('maps throttling to RateLimitedError with the wait AWS asked for, and a 5xx to UnavailableError', async () => {
      // Act
      const throttled = new SesMailer(failingSdk('TooManyRequestsException', 429), options()).account();
      const down = new SesMailer(failingSdk('InternalFailure', 500), options()).ping();
      // Assess
      await expect(throttled).rejects.toMatchObject({ name: 'RateLimitedError', retryAfterMs: 2_000 });
      await expect(down).rejects.toMatchObject({ name: 'UnavailableError', retryable: true });
    });

    it('answers LimitExceededException (too many of a resource, SES v2 API reference: 400) as a 409 conflict, not a retried 429', async () => {
      // Act
      const full = new SesMailer(failingSdk('LimitExceededException', 400), options()).createTemplate({
        name: 'one-too-many',
        subject: 's',
        text: 't',
      });
      // Assess
      await expect(full).rejects.toMatchObject({ name: 'ConflictError', retryable: false });
      await expect(full).rejects.toThrow(/template "one-too-many".*quota/);
    });

    it('maps a suspended account, a paused set and refused content to the right classes', async () => {
      // Prepare
      const send = (sdk: SESv2Client) =>
        new SesMailer(sdk, options()).sendEmail({ to: [TO], subject: 's', text: 't' });
      // Act
      const suspended = send(failingSdk('AccountSuspendedException', 400));
      const paused = send(failingSdk('SendingPausedException', 400));
      const virus = send(failingSdk('MessageRejected', 400, 'Message contains a virus'));
      // Assess
      await expect(suspended).rejects.toMatchObject({ name: 'ConfigurationError' });
      await expect(paused).rejects.toMatchObject({
        name: 'ConfigurationError',
        message: expect.stringContaining('SES_CONFIGURATION_SET'),
      });
      await expect(virus).rejects.toMatchObject({ name: 'ValidationError' });
    });

    it('refuses a send without a sender when none is configured, and attachments when no bucket is', async () => {
      // Prepare
      const bare = await SesMailer.create(options({ from: undefined, attachmentBuckets: [] }));
      // Act
      const noFrom = bare.sendEmail({ to: [TO], subject: 's', text: 't' });
      const noBucket = bare.sendEmail({
        from: FROM,
        to: [TO],
        subject: 's',
        text: 't',
        attachments: [{ key: 'a' }],
      });
      // Assess
      await expect(noFrom).rejects.toMatchObject({ name: 'ValidationError' });
      await expect(noBucket).rejects.toMatchObject({ name: 'ForbiddenError' });
    });

    it('answers 404 for a configuration set the account does not have', async () => {
      // Prepare
      const mailer = await SesMailer.create(options({ configurationSet: 'not-created' }));
      // Act
      const attempt = mailer.sendEmail({ to: [TO], subject: 's', text: 't' });
      // Assess
      await expect(attempt).rejects.toMatchObject({ name: 'NotFoundError' });
    });

    it('makes the subject of a post from the first line, cut at 78 characters', () => {
      expect(subjectOf('\nFirst line\nsecond')).toBe('First line');
      expect(subjectOf('x'.repeat(100))).toHaveLength(78);
    });

    it('counts the subject of a post in characters and never cuts inside an emoji or a combining sequence', () => {
      // 78 characters, 80 UTF-16 units: it fits, whole.
      expect(subjectOf(`${'a'.repeat(76)}😀😀`)).toBe(`${'a'.repeat(76)}😀😀`);
      // Over 78: cut before a whole character, never leaving half of a surrogate pair.
      const emoji = subjectOf('😀'.repeat(100));
      expect(emoji.isWellFormed()).toBe(true);
      expect(emoji).toBe(`${'😀'.repeat(77)}…`);
      const accents = subjectOf(`${'a'.repeat(76)}e\u0301e\u0301`);
      expect(accents).toBe(`${'a'.repeat(76)}…`);
    });
  });

  describe('Triggers', () => {
    it('runs a queued request, a Step Functions task and health', async () => {
      // Act
      const queued = await connector.handler(
        sqsEvent([{ body: { operation: 'post-message', input: { channel: TO, text: 'queued' } } }]),
        lambdaContext(),
      );
      const task = await connector.handler({ operation: 'get-account', input: {} }, lambdaContext());
      const health = (await connector.handler(
        httpEvent({ method: 'GET', path: '/ses/health' }),
        lambdaContext(),
      )) as HttpResult;
      // Assess
      expect(queued).toEqual({ batchItemFailures: [] });
      expect(mail.messages()[0]).toMatchObject({ subject: 'queued', to: [TO] });
      expect(task).toMatchObject({ sendingEnabled: true, productionAccess: false, max24HourSend: 200 });
      expect(health.statusCode).toBe(200);
    });
  });
});
