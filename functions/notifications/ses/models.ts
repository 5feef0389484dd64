/**
 * The Amazon SES connector's models: each operation's input and output (every field described, inputs
 * refusing unknown fields). Attachments and raw MIME messages are not carried in the request: they are S3
 * objects named by bucket and key (claim check), read by the connector, so a Step Functions state or a
 * queue record stays small. The notifier interface's post-message reuses the shared models: its channel
 * is the recipient's address.
 */
import { domainToASCII } from 'node:url';
import * as z from 'zod';
import { PostMessageFields, requireContent, requireWellFormed } from '#shared/models/notifier.ts';
import { BucketName, ObjectKey } from '#shared/models/object-storage.ts';

/** SES's limit of recipients (To, Cc and Bcc together) per message. */
export const MAX_RECIPIENTS = 50;
/** Attachments per message this connector reads from S3. */
export const MAX_ATTACHMENTS = 10;

/**
 * An address as SES takes it (SES v2 reference, Destination and EmailAddress): the part before the @ in
 * ASCII (SES does not support SMTPUTF8), the domain in any script, sent converted to Punycode. The local
 * part and an ASCII domain are checked as zod's `z.email()` checks them; an IDN top-level domain
 * (`xn--...`) is accepted too.
 */
const ASCII_ADDRESS =
  /^(?:[A-Za-z0-9_'+-]+\.)*[A-Za-z0-9_'+-]*[A-Za-z0-9_+-]@(?:[A-Za-z0-9][A-Za-z0-9-]*\.)+(?:[A-Za-z]{2,}|xn--[A-Za-z0-9-]+)$/;
const NOT_ASCII = /[^\p{ASCII}]/u;

/** `address` with its domain in Punycode (`ops@bücher.de` is `ops@xn--bcher-kva.de`); ASCII unchanged. */
export function punycodeAddress(address: string): string {
  const at = address.lastIndexOf('@');
  const domain = address.slice(at + 1);
  if (at < 0 || !NOT_ASCII.test(domain)) return address;
  const ascii = domainToASCII(domain);
  return ascii === '' ? address : `${address.slice(0, at)}@${ascii}`;
}

export const EmailAddress = z
  .string()
  .max(320)
  .superRefine((address, context) => {
    const local = address.slice(0, Math.max(0, address.lastIndexOf('@')));
    const ascii = punycodeAddress(address);
    const message = NOT_ASCII.test(local)
      ? 'the part before the @ must be ASCII: SES does not support SMTPUTF8 (only the domain may be in another script)'
      : ASCII_ADDRESS.test(ascii) && ascii.length <= 320
        ? undefined
        : 'Invalid email address';
    if (message !== undefined) context.addIssue({ code: 'custom', message, input: address });
  })
  .overwrite(punycodeAddress)
  .describe(
    'An email address, e.g. "oncall@example.com"; a domain in another script ("ops@bücher.de") is sent as Punycode, the part before the @ must be ASCII',
  );

const Recipients = (what: string) =>
  z.array(EmailAddress).max(MAX_RECIPIENTS).optional().describe(`${what}, e.g. ["oncall@example.com"]`);

/** An S3 object the connector reads (claim check); the bucket must be one of SES_ATTACHMENT_BUCKETS. */
export const ObjectRef = z.strictObject({
  bucket: BucketName.optional().describe(
    'The bucket, one of SES_ATTACHMENT_BUCKETS; default its first, e.g. "reports"',
  ),
  key: ObjectKey.describe('The object key, e.g. "reports/2026/12/summary.pdf"'),
});

export const AttachmentRef = ObjectRef.extend({
  fileName: z
    .string()
    .min(1)
    .max(255)
    .regex(/^[^/\\\r\n"]+$/, 'a file name without slashes, quotes or line breaks')
    .optional()
    .describe('The name the recipient sees; default the last segment of the key, e.g. "summary.pdf"'),
  contentType: z
    .string()
    .regex(/^[\w.+-]+\/[\w.+-]+$/, 'a MIME type such as application/pdf')
    .optional()
    .describe('The MIME type; default the object\'s Content-Type, e.g. "application/pdf"'),
  inline: z
    .boolean()
    .optional()
    .describe('Shown inline (referenced from the HTML as cid:<fileName>) instead of as an attachment'),
}).describe('A file attached to the message, read from S3 when the message is sent');
export type AttachmentRef = z.output<typeof AttachmentRef>;

const Envelope = {
  from: EmailAddress.optional().describe(
    'The sender, a verified identity of the account; default SES_FROM_ADDRESS, e.g. "alerts@example.com"',
  ),
  to: Recipients('To recipients'),
  cc: Recipients('Cc recipients'),
  bcc: Recipients('Bcc recipients'),
  replyTo: z.array(EmailAddress).max(10).optional().describe('Reply-To addresses, e.g. ["team@example.com"]'),
  tags: z
    .record(
      z.string().regex(/^[\w-]{1,256}$/, 'letters, digits, underscores or hyphens'),
      z.string().regex(/^[\w-]{1,256}$/, 'letters, digits, underscores or hyphens'),
    )
    .optional()
    .describe('Message tags the configuration set publishes with its events, e.g. {"campaign":"incident"}'),
};

/** At least one recipient over To, Cc and Bcc, and at most 50. */
function requireRecipients(
  value: { to?: string[] | undefined; cc?: string[] | undefined; bcc?: string[] | undefined },
  context: z.RefinementCtx,
): void {
  const count = (value.to?.length ?? 0) + (value.cc?.length ?? 0) + (value.bcc?.length ?? 0);
  if (count === 0) context.addIssue({ code: 'custom', path: ['to'], message: 'Give at least one recipient' });
  if (count > MAX_RECIPIENTS) {
    context.addIssue({
      code: 'custom',
      path: ['to'],
      message: `At most ${MAX_RECIPIENTS} recipients in all`,
    });
  }
}

const Attachments = z
  .array(AttachmentRef)
  .max(MAX_ATTACHMENTS)
  .optional()
  .describe(`Up to ${MAX_ATTACHMENTS} files read from S3 (claim check)`);

export const SendEmailInput = z
  .strictObject({
    ...Envelope,
    subject: z
      .string()
      .min(1)
      .max(998)
      .superRefine(requireWellFormed)
      .describe('The subject line, e.g. "Disk full on db-1"'),
    text: z
      .string()
      .min(1)
      .max(10_000_000)
      .superRefine(requireWellFormed)
      .optional()
      .describe('The plain-text body, e.g. "db-1 is at 97%"'),
    html: z
      .string()
      .min(1)
      .max(10_000_000)
      .superRefine(requireWellFormed)
      .optional()
      .describe('The HTML body, e.g. "<p>db-1 is at 97%</p>"'),
    attachments: Attachments,
  })
  .superRefine(requireRecipients)
  .superRefine((value, context) => {
    if (value.text === undefined && value.html === undefined) {
      context.addIssue({ code: 'custom', path: ['text'], message: 'Provide text, html or both' });
    }
  })
  .describe('An email built by SES from a subject, a text and/or HTML body and attachments');
export type SendEmailInput = z.output<typeof SendEmailInput>;

const TemplateName = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, '1-64 letters, digits, underscores or hyphens')
  .describe('The template name, e.g. "incident-opened"');

export const SendTemplatedEmailInput = z
  .strictObject({
    ...Envelope,
    template: TemplateName,
    data: z
      .record(z.string(), z.unknown())
      .superRefine(requireWellFormed)
      .optional()
      .describe('The values of the template\'s {{variables}}, e.g. {"service":"db-1"}'),
    attachments: Attachments,
  })
  .superRefine(requireRecipients)
  .describe('An email rendered by SES from a stored template and its data');
export type SendTemplatedEmailInput = z.output<typeof SendTemplatedEmailInput>;

export const SendRawEmailInput = z
  .strictObject({
    source: ObjectRef.describe('The S3 object holding the whole MIME message (RFC 5322), headers included'),
    from: EmailAddress.optional().describe(
      "The envelope sender, a verified identity; default SES_FROM_ADDRESS (the message's From header is sent as written)",
    ),
    to: Recipients('Envelope recipients; default the To, Cc and Bcc headers of the message'),
  })
  .describe('A ready MIME message (any structure, any attachments) sent as it is');
export type SendRawEmailInput = z.output<typeof SendRawEmailInput>;

export const SendEmailOutput = z.object({
  messageId: z.string().describe('The id SES gave the message (its events and bounces carry it)'),
  configurationSet: z.string().optional().describe('The configuration set it was sent through, if any'),
});
export type SendEmailOutput = z.output<typeof SendEmailOutput>;

export const TemplateContent = z.strictObject({
  subject: z
    .string()
    .min(1)
    .max(998)
    .superRefine(requireWellFormed)
    .describe('The subject, with {{variables}}, e.g. "{{service}} is down"'),
  text: z
    .string()
    .min(1)
    .max(500_000)
    .superRefine(requireWellFormed)
    .optional()
    .describe('The text body, with {{variables}}, e.g. "{{service}} failed"'),
  html: z
    .string()
    .min(1)
    .max(500_000)
    .superRefine(requireWellFormed)
    .optional()
    .describe('The HTML body, with {{variables}}, e.g. "<b>{{service}}</b>"'),
});

export const CreateTemplateInput = TemplateContent.extend({ name: TemplateName })
  .superRefine((value, context) => {
    if (value.text === undefined && value.html === undefined) {
      context.addIssue({ code: 'custom', path: ['text'], message: 'Provide text, html or both' });
    }
  })
  .describe('A new email template');
export type CreateTemplateInput = z.output<typeof CreateTemplateInput>;

export const TemplateRef = z.strictObject({ name: TemplateName }).describe('One template by name');
export type TemplateRef = z.output<typeof TemplateRef>;

export const Template = z.object({
  name: z.string().describe('The template name'),
  subject: z.string().describe('The subject with its {{variables}}'),
  text: z.string().optional().describe('The text body, when it has one'),
  html: z.string().optional().describe('The HTML body, when it has one'),
});
export type Template = z.output<typeof Template>;

export const ListTemplatesInput = z
  .strictObject({
    pageSize: z.int().min(1).max(100).optional().describe('Templates per page, 1-100 (SES default 10)'),
    cursor: z.string().min(1).max(4096).optional().describe('The nextCursor of the previous page'),
  })
  .describe("One page of the account's templates");
export type ListTemplatesInput = z.output<typeof ListTemplatesInput>;

export const TemplatePage = z.object({
  templates: z
    .array(
      z.object({
        name: z.string().describe('The template name'),
        createdAt: z.string().optional().describe('When it was created (ISO 8601)'),
      }),
    )
    .describe('This page of templates'),
  nextCursor: z.string().optional().describe('Pass as cursor for the next page; absent on the last page'),
});
export type TemplatePage = z.output<typeof TemplatePage>;

export const AccountInput = z.strictObject({}).describe("No input: the account of the function's role");
export const Account = z.object({
  sendingEnabled: z.boolean().describe('Whether the account may send at all'),
  productionAccess: z
    .boolean()
    .describe('False while the account is in the SES sandbox (recipients must be verified identities)'),
  max24HourSend: z.number().describe('Messages allowed per 24 hours'),
  maxSendRate: z.number().describe('Messages allowed per second'),
  sentLast24Hours: z.number().describe('Messages sent in the last 24 hours'),
  enforcementStatus: z.string().optional().describe('HEALTHY, PROBATION or SHUTDOWN (reputation)'),
});
export type Account = z.output<typeof Account>;

/**
 * The notifier interface's post: `channel` is the recipient's address, `text` the body; the subject is the
 * text's first line (at most 78 characters). Email has no blocks and no threads here: refused with a 501.
 */
export const PostEmailInput = PostMessageFields.extend({
  channel: EmailAddress.describe('The recipient (the notifier channel), e.g. "oncall@example.com"'),
})
  .superRefine(requireContent)
  .describe('A plain-text email to one address (the notifier interface)');
export type PostEmailInput = z.input<typeof PostEmailInput>;
