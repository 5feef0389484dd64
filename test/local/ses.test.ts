/**
 * The local stack's SES v2 endpoint (`scripts/local/aws/ses.ts`) as AWS documents the API, spoken to by
 * the real `@aws-sdk/client-sesv2` client: the request checks SES makes, the sandbox and production
 * rules, templates (update, delete, paging, a rendering failure), the account, the routing of unsigned
 * requests; the local account built from the functions' settings; the console's Mail pages.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  CreateEmailTemplateCommand,
  DeleteEmailTemplateCommand,
  GetEmailTemplateCommand,
  ListEmailTemplatesCommand,
  SESv2Client,
  SendEmailCommand,
  UpdateEmailTemplateCommand,
} from '@aws-sdk/client-sesv2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AwsEndpoint, startAwsEndpoint } from '../../scripts/local/aws/server.ts';
import { localMail, SesMail, sesService } from '../../scripts/local/aws/ses.ts';
import type { LocalFunction } from '../../scripts/local/config/model.ts';
import { createConsole } from '../../scripts/local/console/server.ts';
import { createStackLog } from '../../scripts/local/log.ts';

/** A rejection as a value, so a promise that fails before its assertion is never unhandled. */
const caught = (error: unknown) => error;
const log = createStackLog({ pretty: false, write: () => undefined });
let aws: AwsEndpoint;
let mail: SesMail;
let ses: SESv2Client;

const simple = (to: string[], subject = 's') => ({
  FromEmailAddress: 'alerts@example.com',
  Destination: { ToAddresses: to },
  Content: { Simple: { Subject: { Data: subject }, Body: { Text: { Data: 'body' } } } },
});

beforeAll(async () => {
  mail = new SesMail({ region: 'eu-west-1', accountId: '000000000000', identities: ['example.com'] });
  aws = await startAwsEndpoint({
    port: 0,
    log,
    services: { accountId: '000000000000', ses: sesService(mail), mail },
  });
  ses = new SESv2Client({
    endpoint: aws.url,
    region: 'eu-west-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
});

afterAll(async () => {
  ses.destroy();
  await aws.close();
});

describe('Local SES v2 endpoint', () => {
  it('refuses what SES refuses, with its error names and statuses', async () => {
    // Act
    const both = ses.send(
      new SendEmailCommand({
        ...simple(['a@example.com']),
        Content: { Simple: simple([]).Content.Simple, Raw: { Data: Buffer.from('x') } },
      }),
    );
    const noRecipient = ses.send(new SendEmailCommand(simple([])));
    const unverifiedSender = ses.send(
      new SendEmailCommand({ ...simple(['a@example.com']), FromEmailAddress: 'x@elsewhere.example.org' }),
    );
    const tooMany = ses.send(
      new SendEmailCommand(simple(Array.from({ length: 51 }, (_, i) => `r${i}@example.com`))),
    );
    // Assess
    await expect(both).rejects.toMatchObject({
      name: 'BadRequestException',
      $metadata: { httpStatusCode: 400 },
    });
    await expect(noRecipient).rejects.toMatchObject({ name: 'BadRequestException' });
    await expect(unverifiedSender).rejects.toMatchObject({
      name: 'MessageRejected',
      message: expect.stringContaining('EU-WEST-1: x@elsewhere.example.org'),
    });
    await expect(tooMany).rejects.toMatchObject({ name: 'MessageRejected' });
  });

  it('refuses an address that is not ASCII: the domain must be Punycode, the local part ASCII (SES v2 Destination)', async () => {
    // Prepare: SES's reference: "the domain part must be converted to Punycode"; no SMTPUTF8 local parts
    mail.verifyIdentity('xn--bcher-kva.de');
    // Act: each refusal caught as it settles (an unawaited rejection would be reported as unhandled)
    const refusal = (command: SendEmailCommand) =>
      ses.send(command).then(
        () => undefined,
        (error: unknown) => error,
      );
    const refused = [
      await refusal(new SendEmailCommand(simple(['ops@bücher.de']))),
      await refusal(new SendEmailCommand(simple(['zoë@example.com']))),
      await refusal(
        new SendEmailCommand({ ...simple(['a@example.com']), FromEmailAddress: 'alerts@bücher.de' }),
      ),
    ];
    const punycode = await ses.send(
      new SendEmailCommand({
        ...simple(['ops@xn--bcher-kva.de']),
        FromEmailAddress: 'alerts@xn--bcher-kva.de',
      }),
    );
    // Assess
    for (const error of refused) {
      expect(error).toMatchObject({ name: 'BadRequestException', $metadata: { httpStatusCode: 400 } });
    }
    expect(mail.message(punycode.MessageId ?? '')).toMatchObject({
      from: 'alerts@xn--bcher-kva.de',
      to: ['ops@xn--bcher-kva.de'],
    });
  });

  it('sends to any recipient with production access, and only then', async () => {
    // Prepare
    const outside = () => ses.send(new SendEmailCommand(simple(['someone@elsewhere.example.org'])));
    // Act
    const sandboxed = outside();
    await expect(sandboxed).rejects.toMatchObject({ name: 'MessageRejected' });
    mail.productionAccess = true;
    const sent = await outside();
    mail.productionAccess = false;
    // Assess
    expect(mail.message(sent.MessageId ?? '')).toMatchObject({ to: ['someone@elsewhere.example.org'] });
  });

  it('updates, pages, deletes templates, and captures a rendering failure as SES drops it', async () => {
    // Prepare
    for (const name of ['t-a', 't-b', 't-c']) {
      await ses.send(
        new CreateEmailTemplateCommand({
          TemplateName: name,
          TemplateContent: { Subject: `{{who}} ${name}`, Text: 'hi {{who}}' },
        }),
      );
    }
    // Act
    await ses.send(
      new UpdateEmailTemplateCommand({
        TemplateName: 't-a',
        TemplateContent: { Subject: 'new {{who}}', Html: '<b>{{who}}</b>' },
      }),
    );
    const updated = await ses.send(new GetEmailTemplateCommand({ TemplateName: 't-a' }));
    const first = await ses.send(new ListEmailTemplatesCommand({ PageSize: 2 }));
    const second = await ses.send(new ListEmailTemplatesCommand({ PageSize: 2, NextToken: first.NextToken }));
    const badToken = await ses.send(new ListEmailTemplatesCommand({ NextToken: 'bm9wZQ' })).catch(caught);
    await ses.send(new DeleteEmailTemplateCommand({ TemplateName: 't-c' }));
    const gone = await ses.send(new GetEmailTemplateCommand({ TemplateName: 't-c' })).catch(caught);
    const sent = await ses.send(
      new SendEmailCommand({
        FromEmailAddress: 'alerts@example.com',
        Destination: { ToAddresses: ['a@example.com'] },
        Content: { Template: { TemplateName: 't-b', TemplateData: '{}' } },
      }),
    );
    const badData = ses.send(
      new SendEmailCommand({
        FromEmailAddress: 'alerts@example.com',
        Destination: { ToAddresses: ['a@example.com'] },
        Content: { Template: { TemplateName: 't-b', TemplateData: '{not json' } },
      }),
    );
    // Assess
    expect(updated.TemplateContent).toEqual({ Subject: 'new {{who}}', Html: '<b>{{who}}</b>' });
    expect(first.TemplatesMetadata?.map((t) => t.TemplateName)).toEqual(['t-a', 't-b']);
    expect(first.TemplatesMetadata?.[0]?.CreatedTimestamp).toBeInstanceOf(Date);
    expect(second.TemplatesMetadata?.map((t) => t.TemplateName)).toEqual(['t-c']);
    expect(second.NextToken).toBeUndefined();
    expect(badToken).toMatchObject({ name: 'BadRequestException' });
    expect(gone).toMatchObject({
      name: 'NotFoundException',
      $metadata: { httpStatusCode: 404 },
    });
    expect(mail.message(sent.MessageId ?? '')).toMatchObject({
      status: 'rendering-failure',
      failure: "Attribute 'who' is not present in the rendering data.",
    });
    await expect(badData).rejects.toMatchObject({ name: 'BadRequestException' });
  });

  it('leaves requests not signed for SES to the other services', async () => {
    // Act
    const unsigned = await fetch(`${aws.url}/v2/email/account`);
    // Assess
    expect(unsigned.status).toBe(400);
    expect(unsigned.headers.get('x-amzn-errortype')).toBe('UnknownOperationException');
  });
});

describe('Function: localMail', () => {
  it("verifies example.com and each function's sender domain, and creates each configuration set", () => {
    // Prepare
    const fn = (environment: Record<string, string>) => ({ environment }) as unknown as LocalFunction;
    // Act
    const account = localMail(
      {
        region: 'us-east-1',
        functions: [
          fn({ SES_FROM_ADDRESS: 'Ops <ops@corp.example.net>', SES_CONFIGURATION_SET: 'circle-dev-ses' }),
          fn({ OTHER: 'x' }),
        ],
      },
      '000000000000',
    );
    // Assess
    expect(account.verified('a@example.com')).toBe(true);
    expect(account.verified('b@corp.example.net')).toBe(true);
    expect(account.verified('c@other.example.org')).toBe(false);
    expect(() =>
      account.sendEmail({ ...simple(['a@example.com']), ConfigurationSetName: 'circle-dev-ses' }),
    ).not.toThrow();
    expect(() =>
      account.sendEmail({ ...simple(['a@example.com']), ConfigurationSetName: 'missing' }),
    ).toThrow(/does not exist/);
  });
});

describe('Console: Mail pages', () => {
  let server: Server;
  let url: string;
  let cookie: string;

  beforeAll(async () => {
    const handler = createConsole({
      apiUrl: 'http://127.0.0.1:1',
      apiKey: 'local-console-key',
      mail,
      log,
    } as unknown as Parameters<typeof createConsole>[0]);
    server = createServer((req, res) => void handler(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const login = await fetch(`${url}/_console/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: url },
      body: 'apiKey=local-console-key',
      redirect: 'manual',
    });
    cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('lists captured mail and shows one message with its HTML as escaped source', async () => {
    // Prepare
    const sent = mail.sendEmail({
      FromEmailAddress: 'alerts@example.com',
      Destination: { ToAddresses: ['a@example.com'] },
      Content: {
        Simple: {
          Subject: { Data: 'Console check' },
          Body: { Html: { Data: '<script>alert(1)</script>' } },
        },
      },
    });
    // Act
    const list = await (await fetch(`${url}/_console/mail`, { headers: { cookie } })).text();
    const one = await (await fetch(`${url}/_console/mail/${sent.MessageId}`, { headers: { cookie } })).text();
    const missing = await fetch(`${url}/_console/mail/nope`, { headers: { cookie } });
    // Assess
    expect(cookie).toMatch(/=/);
    expect(list).toContain('Console check');
    expect(list).toContain(`/_console/mail/${sent.MessageId}`);
    expect(one).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(one).not.toContain('<script>alert(1)');
    expect(missing.status).toBe(404);
  });
});
