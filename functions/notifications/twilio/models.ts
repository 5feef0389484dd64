/**
 * The Twilio connector's models: Programmable Messaging's Message resource as Twilio answers it, and each
 * operation's input and output (every field described; inputs refuse unknown fields). Phone numbers in
 * inputs are checked as E.164 before any call. The notifier interface's post-message reuses the shared
 * models: its channel is the recipient's number.
 */
import * as z from 'zod';
import { PostMessageFields, requireContent } from '#shared/models/notifier.ts';

/** E.164: `+`, a country code not starting with 0, at most 15 digits in all. */
export const E164 = /^\+[1-9]\d{1,14}$/;
const e164 = (what: string) =>
  z
    .string()
    .regex(E164, 'must be an E.164 number such as +15558675310')
    .describe(`${what}, E.164 (+15558675310)`);

/** Twilio's SMS body limit: 1600 characters (longer bodies are refused with 21617). */
export const MAX_BODY = 1600;

const MessageSid = z
  .string()
  .regex(/^(SM|MM)[0-9a-f]{32}$/, 'must be a Message SID (SM or MM and 32 hex digits)')
  .describe('The Message SID Twilio gave it (SM... or MM...)');

/** The Message resource as Twilio answers it (open: Twilio adds fields). */
export const MessageAnswer = z.looseObject({
  sid: z.string(),
  account_sid: z.string(),
  to: z.string(),
  from: z.string().nullable(),
  messaging_service_sid: z.string().nullable().optional(),
  body: z.string(),
  status: z.string(),
  direction: z.string(),
  num_segments: z.string().nullable().optional(),
  error_code: z.number().nullable().optional(),
  error_message: z.string().nullable().optional(),
  date_created: z.string().nullable(),
  date_sent: z.string().nullable().optional(),
  price: z.string().nullable().optional(),
  price_unit: z.string().nullable().optional(),
});
export type MessageAnswer = z.output<typeof MessageAnswer>;

/** One page of `GET .../Messages.json`; `next_page_uri` is null on the last page. */
export const MessagePageAnswer = z.looseObject({
  messages: z.array(MessageAnswer),
  next_page_uri: z.string().nullable(),
  page: z.number().optional(),
  page_size: z.number().optional(),
});

export const Message = z.object({
  sid: z.string().describe('The Message SID (SM...)'),
  to: z.string().describe('The recipient, E.164'),
  from: z
    .string()
    .nullable()
    .describe('The sender number or alphanumeric id; null until a Messaging Service picks one'),
  messagingServiceSid: z.string().nullable().describe('The Messaging Service that sends it, if any (MG...)'),
  body: z.string().describe('The text'),
  status: z
    .string()
    .describe(
      'queued, accepted, sending, sent, delivered, undelivered, failed, received, read, canceled, ...',
    ),
  direction: z.string().describe('outbound-api, outbound-reply, inbound, ...'),
  segments: z.number().int().nullable().describe('SMS segments it takes, when Twilio has counted them'),
  errorCode: z.number().int().nullable().describe('Twilio error code of a failed or undelivered message'),
  errorMessage: z.string().nullable().describe('What the error code means, when there is one'),
  createdAt: z.string().nullable().describe('When Twilio created it (RFC 2822, as Twilio writes it)'),
  sentAt: z.string().nullable().describe('When it was sent, when it has been'),
  price: z.string().nullable().describe('What it cost (negative, in priceUnit), once known'),
  priceUnit: z.string().nullable().describe('The currency of price (USD, ...)'),
});
export type Message = z.output<typeof Message>;

export const SendMessageInput = z
  .strictObject({
    to: e164('The recipient'),
    from: e164('The sender: a Twilio number of the account').optional(),
    messagingServiceSid: z
      .string()
      .regex(/^MG[0-9a-f]{32}$/, 'must be a Messaging Service SID (MG and 32 hex digits)')
      .optional()
      .describe('Send through this Messaging Service instead of a from number (MG...)'),
    body: z.string().min(1).max(MAX_BODY).describe(`The text, at most ${MAX_BODY} characters`),
    statusCallback: z
      .url({ protocol: /^https?$/ })
      .max(2048)
      .optional()
      .describe(
        "Twilio POSTs each status change here, signed (X-Twilio-Signature); e.g. this connector's /twilio/webhook",
      ),
  })
  .describe('An SMS to send; without from or messagingServiceSid the configured default sender is used');
export type SendMessageInput = z.output<typeof SendMessageInput>;

export const MessageRef = z.strictObject({ sid: MessageSid });
export type MessageRef = z.output<typeof MessageRef>;

export const ListMessagesInput = z.strictObject({
  to: e164('Only messages to this number').optional(),
  from: e164('Only messages from this number').optional(),
  dateSent: z.iso.date().optional().describe('Only messages sent on this day (YYYY-MM-DD, UTC)'),
  pageSize: z.int().min(1).max(1000).optional().describe('Messages per page, 1-1000 (Twilio default: 50)'),
  cursor: z.string().min(1).max(1024).optional().describe('The nextCursor of the previous page'),
});
export type ListMessagesInput = z.output<typeof ListMessagesInput>;

export const MessagePage = z.object({
  messages: z.array(Message).describe('One page of messages, newest first'),
  nextCursor: z.string().optional().describe('Pass as cursor for the next page; absent on the last page'),
});
export type MessagePage = z.output<typeof MessagePage>;

/**
 * The notifier interface's post: `channel` is the recipient's E.164 number and `text` the body. SMS has
 * no blocks and no threads: the fields exist (the shared shape) and are refused with a 501.
 */
export const PostSmsInput = PostMessageFields.extend({
  channel: e164('The recipient (the notifier channel)'),
  text: z.string().min(1).max(MAX_BODY).optional().describe(`The SMS text, at most ${MAX_BODY} characters`),
})
  .superRefine(requireContent)
  .describe('A text message to a phone number (the notifier interface)');
export type PostSmsInput = z.input<typeof PostSmsInput>;
