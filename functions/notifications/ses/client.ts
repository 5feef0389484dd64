/**
 * Amazon SES v2 through the core's AWS kit, and the notifier interface: the only file that talks to SES
 * and to S3. One SDK client from `createAwsClient`, every call through `awsCall` (the invocation's time left
 * as an abort signal, failures mapped once with the rows in `errors.ts`). Every send goes through the
 * configured configuration set (SES_CONFIGURATION_SET), so its event destinations see every message.
 * Attachments and raw messages are S3 objects (claim check), read with the function's role from the
 * allowed buckets only, within one byte budget per message.
 */
import { S3Client } from '@aws-sdk/client-s3';
import {
  type Attachment,
  CreateEmailTemplateCommand,
  GetAccountCommand,
  GetEmailTemplateCommand,
  ListEmailTemplatesCommand,
  SESv2Client,
  SendEmailCommand,
  type SendEmailCommandInput,
} from '@aws-sdk/client-sesv2';
import {
  awsCall,
  awsErrorName,
  ConnectorError,
  createAwsClient,
  NotFoundError,
  parseInput,
  ValidationError,
} from '@circle-core/core';
import { allowedBucket, type ReadBudget, readObjectBytes, s3ObjectTarget } from '#shared/data/s3-objects.ts';
import { refuseCapability, requireCapability } from '#shared/interfaces/capabilities.ts';
import type { Notifier, NotifierCapability } from '#shared/interfaces/notifier.ts';
import type {
  FindUserByEmailInput,
  ListChannelsInput,
  ListChannelsOutput,
  NotifierUser,
  PostMessageOutput,
  UpdateMessageInput,
  UpdateMessageOutput,
} from '#shared/models/notifier.ts';
import { truncateText } from '#shared/text/truncate.ts';
import { sesTarget } from './errors.ts';
import {
  type Account,
  type AttachmentRef,
  type CreateTemplateInput,
  type ListTemplatesInput,
  PostEmailInput,
  type SendEmailInput,
  type SendEmailOutput,
  type SendRawEmailInput,
  type SendTemplatedEmailInput,
  type Template,
  type TemplatePage,
  type TemplateRef,
} from './models.ts';

/** What the client needs from the settings. */
export interface SesOptions {
  /** The default sender (a verified identity). */
  from?: string | undefined;
  /** The configuration set every message is sent through. */
  configurationSet?: string | undefined;
  /** Buckets attachments and raw messages may be read from; the first is the default. */
  attachmentBuckets: string[];
  /** Bytes one message may read from S3 in all. */
  attachmentMaxBytes: number;
  s3ForcePathStyle: boolean;
  /** One call's budget including the SDK's retries; the invocation's time left may cut it shorter. */
  timeoutMs: number;
  maxAttempts: number;
}

type Envelope = Pick<SendEmailInput, 'from' | 'to' | 'cc' | 'bcc' | 'replyTo' | 'tags'>;

/** What a header line cannot hold: the control characters (CR and LF among them), tab apart. */
const NOT_HEADER_TEXT = /(?!\t)\p{Cc}/u;

/**
 * Refuses, before any call, a subject that is not one header line: a CR or LF would end the Subject header
 * and start another (a `Bcc:` of the caller's choosing), and other control characters do not belong in a
 * header either. The message names the first such character by code point, never the text.
 */
function checkSubject(subject: string, pointer = '/subject'): void {
  const found = NOT_HEADER_TEXT.exec(subject);
  if (found === null) return;
  const code = (found[0].codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0');
  const message = `expected one header line: no line break or other control character (tab apart); found U+${code} at character ${[...subject.slice(0, found.index)].length + 1}`;
  throw new ValidationError(`Invalid input: ${pointer}: ${message}`, [{ pointer, message }]);
}

/**
 * The notifier's subject: the text's first line (a CR alone ends it too), other control characters as
 * spaces, at most 78 characters (RFC 5322's line advice), counted in code points and cut before a whole
 * character (never half of an emoji's surrogate pair, which SES would receive as a lone surrogate).
 */
export function subjectOf(text: string): string {
  const line = text.split(/\r\n|\r|\n/).find((part) => part.trim() !== '') ?? text;
  const trimmed = line.replace(new RegExp(NOT_HEADER_TEXT.source, 'gu'), ' ').trim();
  return truncateText(trimmed, 78, '…');
}

/**
 * What SES takes as an attachment's ContentId (API reference, Attachment: 1 to 78 characters), and what a
 * Content-ID header and a `cid:` URL can hold (RFC 2392: a msg-id, ASCII without spaces or angle brackets).
 */
const CONTENT_ID = /^[\x21-\x3B\x3D\x3F-\x7E]{1,78}$/;

/** Refuses, before any call, an inline attachment whose name cannot be its Content-ID. */
function checkContentId(fileName: string, pointer: string): void {
  if (CONTENT_ID.test(fileName)) return;
  const message =
    'an inline attachment is referenced as cid:<fileName>, so its name must be a Content-ID: 1 to 78 ASCII characters without spaces or angle brackets';
  throw new ValidationError(`Invalid input: ${pointer}: ${message}`, [{ pointer, message }]);
}

/**
 * Amazon SES as an email sender and a {@link Notifier} (post only: email has no blocks, threads, edits,
 * channel list or user lookup here). The SDK clients are parameters, so a test can hand in failing ones.
 *
 * @example
 * ```ts
 * const ses = await SesMailer.create({ from: 'alerts@example.com', attachmentBuckets: [], attachmentMaxBytes: 10_485_760, s3ForcePathStyle: false, timeoutMs: 10_000, maxAttempts: 3 });
 * await ses.sendEmail({ to: ['oncall@example.com'], subject: 'Disk full', text: 'db-1 is at 97%' });
 * ```
 */
export class SesMailer implements Notifier {
  readonly capabilities: ReadonlySet<NotifierCapability> = new Set();
  readonly #sdk: SESv2Client;
  readonly #options: SesOptions;
  #s3: S3Client | undefined;

  constructor(sdk: SESv2Client, options: SesOptions, s3?: S3Client) {
    this.#sdk = sdk;
    this.#options = options;
    this.#s3 = s3;
  }

  /** Builds the SES client the kit's way (traced when tracing is on); S3's on the first attachment. */
  static async create(options: SesOptions): Promise<SesMailer> {
    const sdk = await createAwsClient(SESv2Client, 'ses', {
      connectionTimeoutMs: Math.min(options.timeoutMs, 3_000),
      requestTimeoutMs: options.timeoutMs,
      maxAttempts: options.maxAttempts,
    });
    return new SesMailer(sdk, options);
  }

  async sendEmail(input: SendEmailInput): Promise<SendEmailOutput> {
    checkSubject(input.subject);
    const attachments = await this.#attachments(input.attachments);
    return this.#send(input, 'the message', {
      Simple: {
        Subject: { Data: input.subject, Charset: 'UTF-8' },
        Body: {
          ...(input.text === undefined ? {} : { Text: { Data: input.text, Charset: 'UTF-8' } }),
          ...(input.html === undefined ? {} : { Html: { Data: input.html, Charset: 'UTF-8' } }),
        },
        ...(attachments.length === 0 ? {} : { Attachments: attachments }),
      },
    });
  }

  async sendTemplatedEmail(input: SendTemplatedEmailInput): Promise<SendEmailOutput> {
    const attachments = await this.#attachments(input.attachments);
    const set = this.#options.configurationSet;
    const what = `template "${input.template}"${set === undefined ? '' : ` or configuration set "${set}"`}`;
    return this.#send(input, what, {
      Template: {
        TemplateName: input.template,
        TemplateData: JSON.stringify(input.data ?? {}),
        ...(attachments.length === 0 ? {} : { Attachments: attachments }),
      },
    });
  }

  async sendRawEmail(input: SendRawEmailInput): Promise<SendEmailOutput> {
    const data = await this.#read(input.source, '/source');
    return this.#send(input, 'the raw message', { Raw: { Data: data } }, input.to === undefined);
  }

  async createTemplate(input: CreateTemplateInput): Promise<TemplateRef> {
    checkSubject(input.subject);
    const command = new CreateEmailTemplateCommand({
      TemplateName: input.name,
      TemplateContent: { Subject: input.subject, Text: input.text, Html: input.html },
    });
    await this.#call('CreateEmailTemplate', `template "${input.name}"`, (abortSignal) =>
      this.#sdk.send(command, { abortSignal }),
    );
    return { name: input.name };
  }

  async getTemplate(input: TemplateRef): Promise<Template> {
    const out = await this.#call('GetEmailTemplate', `template "${input.name}"`, (abortSignal) =>
      this.#sdk.send(new GetEmailTemplateCommand({ TemplateName: input.name }), { abortSignal }),
    );
    const content = out.TemplateContent ?? {};
    return {
      name: out.TemplateName ?? input.name,
      subject: content.Subject ?? '',
      ...(content.Text === undefined ? {} : { text: content.Text }),
      ...(content.Html === undefined ? {} : { html: content.Html }),
    };
  }

  async listTemplates(input: ListTemplatesInput): Promise<TemplatePage> {
    const command = new ListEmailTemplatesCommand({ PageSize: input.pageSize, NextToken: input.cursor });
    const out = await this.#call('ListEmailTemplates', 'the templates', (abortSignal) =>
      this.#sdk.send(command, { abortSignal }),
    ).catch((error: unknown) => {
      // pageSize is bounded by the model to what SES takes: with a cursor, SES's 400 is about the cursor.
      if (input.cursor === undefined || !(error instanceof ValidationError) || error.issues.length > 0)
        throw error;
      const message = 'expected the nextCursor of a previous list-templates page';
      throw new ValidationError(`Invalid input: /cursor: ${message}`, [{ pointer: '/cursor', message }], {
        ...(error.details === undefined ? {} : { details: error.details }),
        cause: error,
      });
    });
    const templates = (out.TemplatesMetadata ?? []).map((meta) => ({
      name: meta.TemplateName ?? '',
      ...(meta.CreatedTimestamp === undefined ? {} : { createdAt: meta.CreatedTimestamp.toISOString() }),
    }));
    return out.NextToken === undefined ? { templates } : { templates, nextCursor: out.NextToken };
  }

  async account(): Promise<Account> {
    const out = await this.#call('GetAccount', 'the account', (abortSignal) =>
      this.#sdk.send(new GetAccountCommand({}), { abortSignal }),
    );
    return {
      sendingEnabled: out.SendingEnabled ?? false,
      productionAccess: out.ProductionAccessEnabled ?? false,
      max24HourSend: out.SendQuota?.Max24HourSend ?? 0,
      maxSendRate: out.SendQuota?.MaxSendRate ?? 0,
      sentLast24Hours: out.SendQuota?.SentLast24Hours ?? 0,
      ...(out.EnforcementStatus === undefined ? {} : { enforcementStatus: out.EnforcementStatus }),
    };
  }

  /** The notifier's post: a plain-text email to `channel`; blocks and threads are refused with a 501. */
  async postMessage(input: PostEmailInput): Promise<PostMessageOutput> {
    const parsed = parseInput(PostEmailInput, input);
    if (parsed.blocks !== undefined) requireCapability(this, 'blocks', 'Amazon SES');
    if (parsed.threadTs !== undefined) requireCapability(this, 'threads', 'Amazon SES');
    const text = parsed.text ?? '';
    const sent = await this.sendEmail({ to: [parsed.channel], subject: subjectOf(text), text });
    return { channel: parsed.channel, ts: sent.messageId };
  }

  async updateMessage(_input: UpdateMessageInput): Promise<UpdateMessageOutput> {
    return refuseCapability(this, 'update', 'Amazon SES');
  }

  async listChannels(_input?: ListChannelsInput): Promise<ListChannelsOutput> {
    return refuseCapability(this, 'channels', 'Amazon SES');
  }

  async findUserByEmail(_input: FindUserByEmailInput): Promise<NotifierUser> {
    return refuseCapability(this, 'user-lookup', 'Amazon SES');
  }

  /** Proves the credentials and the endpoint for `health` (GetAccount). */
  async ping(): Promise<void> {
    await this.account();
  }

  async #send(
    envelope: Envelope,
    what: string,
    content: SendEmailCommandInput['Content'],
    headersAddress = false,
  ): Promise<SendEmailOutput> {
    const from = envelope.from ?? this.#options.from;
    if (from === undefined && content?.Raw === undefined) {
      throw new ValidationError('Give from (no default sender is configured)', [
        { pointer: '/from', message: 'required without SES_FROM_ADDRESS' },
      ]);
    }
    const set = this.#options.configurationSet;
    const command = new SendEmailCommand({
      FromEmailAddress: from,
      ...(headersAddress
        ? {}
        : {
            Destination: {
              ToAddresses: envelope.to,
              CcAddresses: envelope.cc,
              BccAddresses: envelope.bcc,
            },
          }),
      ReplyToAddresses: envelope.replyTo,
      Content: content,
      ConfigurationSetName: set,
      EmailTags: Object.entries(envelope.tags ?? {}).map(([Name, Value]) => ({ Name, Value })),
    });
    try {
      const out = await this.#call('SendEmail', what, (abortSignal) =>
        this.#sdk.send(command, { abortSignal }),
      );
      return { messageId: out.MessageId ?? '', ...(set === undefined ? {} : { configurationSet: set }) };
    } catch (error) {
      throw unverified(error) ?? error;
    }
  }

  async #attachments(refs: AttachmentRef[] | undefined): Promise<Attachment[]> {
    const budget: ReadBudget = { used: 0, maxBytes: this.#options.attachmentMaxBytes };
    const out: Attachment[] = [];
    for (const [index, ref] of (refs ?? []).entries()) {
      const pointer = `/attachments/${index}`;
      const fileName = ref.fileName ?? ref.key.slice(ref.key.lastIndexOf('/') + 1);
      if (ref.inline === true)
        checkContentId(fileName, `${pointer}/${ref.fileName === undefined ? 'key' : 'fileName'}`);
      const read = await this.#object(ref, budget, pointer);
      out.push({
        RawContent: read.bytes,
        FileName: fileName === '' ? 'attachment' : fileName,
        ContentType: ref.contentType ?? read.contentType ?? 'application/octet-stream',
        ContentDisposition: ref.inline === true ? 'INLINE' : 'ATTACHMENT',
        ContentTransferEncoding: 'BASE64',
        ...(ref.inline === true ? { ContentId: fileName } : {}),
      });
    }
    return out;
  }

  async #read(ref: { bucket?: string | undefined; key: string }, pointer: string) {
    const budget: ReadBudget = { used: 0, maxBytes: this.#options.attachmentMaxBytes };
    return (await this.#object(ref, budget, pointer)).bytes;
  }

  /** One S3 object, from an allowed bucket, counted against the message's byte budget. */
  async #object(
    ref: { bucket?: string | undefined; key: string },
    budget: ReadBudget,
    pointer: string,
  ): Promise<{ bytes: Uint8Array; contentType: string | undefined }> {
    const bucket = allowedBucket(ref.bucket, this.#options.attachmentBuckets, 'SES_ATTACHMENT_BUCKETS', {
      pointer,
    });
    this.#s3 ??= await createAwsClient(S3Client, 'ses', {
      connectionTimeoutMs: Math.min(this.#options.timeoutMs, 3_000),
      requestTimeoutMs: this.#options.timeoutMs,
      maxAttempts: this.#options.maxAttempts,
      extra: { forcePathStyle: this.#options.s3ForcePathStyle },
    });
    const read = await readObjectBytes(
      {
        s3: this.#s3,
        bucket,
        key: ref.key,
        timeoutMs: this.#options.timeoutMs,
        target: (action) => s3ObjectTarget(action, bucket, ref.key),
      },
      { budget },
    );
    return { bytes: new Uint8Array(read.bytes), contentType: read.contentType };
  }

  #call<T>(action: string, what: string, send: (abortSignal: AbortSignal) => Promise<T>): Promise<T> {
    return awsCall({ ...sesTarget(action, what), timeoutMs: this.#options.timeoutMs }, send);
  }
}

/**
 * SES's MessageRejected for an address that is not a verified identity (every recipient must be one while
 * the account is in the SES sandbox): the recipient cannot be reached, a NotFoundError like an unknown
 * channel. The addresses are not repeated in the message.
 */
function unverified(error: unknown): NotFoundError | undefined {
  if (!(error instanceof ConnectorError)) return undefined;
  const cause = error.cause as { message?: unknown } | undefined;
  if (awsErrorName(cause) !== 'MessageRejected' || !/not verified/i.test(String(cause?.message))) {
    return undefined;
  }
  return new NotFoundError(
    'SES refused an address that is not a verified identity: the sender must be one, and while the account is in the SES sandbox every recipient too',
    { cause: error, details: { awsError: 'MessageRejected' } },
  );
}
