/**
 * The models of the notifier interface (Slack, Microsoft Teams, Amazon SES, Twilio, ...): what a caller
 * sends to post, update and address messages, and what it gets back. Provider connectors reuse these and
 * extend them with provider-only fields (Slack's `unfurlLinks`, its timestamp format).
 * Input objects are strict (`z.strictObject`, kept by `.extend()`): a misspelled or unknown field is refused
 * with a 400 naming it instead of being dropped; `test/hardening/strict-inputs.test.ts` checks every input.
 * Text a caller sends (channel, text, blocks, cursor) must be well-formed Unicode: a lone surrogate (half an
 * emoji, from text cut with `slice`) is refused with a 400 naming where it is, since JSON carries it as
 * `\ud83d` and providers then refuse the message or show U+FFFD, and a form or URL encoding replaces it.
 */
import { domainToASCII } from 'node:url';
import * as z from 'zod';
import { NOT_WELL_FORMED } from './paths.ts';

/** Slack caps `text` at 40 000 characters (it truncates beyond); other providers are stricter still. */
export const MAX_MESSAGE_TEXT = 40_000;
/** Slack's limit of blocks per message; a fair bound for any rich-content format. */
export const MAX_MESSAGE_BLOCKS = 50;

/**
 * The path of the first string in a JSON value (a value or an object key) that is not well-formed Unicode,
 * or undefined when every string is; the path ends at the key when the key itself is the bad string.
 *
 * @example
 * ```ts
 * illFormedPath([{ type: 'section', text: { text: '\uD83D' } }]); // [0, 'text', 'text']
 * ```
 */
export function illFormedPath(value: unknown): (string | number)[] | undefined {
  const pending: { value: unknown; path: (string | number)[] }[] = [{ value, path: [] }];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const { value: item, path } = next;
    if (typeof item === 'string') {
      if (!item.isWellFormed()) return path;
    } else if (Array.isArray(item)) {
      for (let index = item.length - 1; index >= 0; index -= 1) {
        pending.push({ value: item[index], path: [...path, index] });
      }
    } else if (typeof item === 'object' && item !== null) {
      const entries = Object.entries(item);
      const badKey = entries.find(([key]) => !key.isWellFormed());
      if (badKey !== undefined) return [...path, badKey[0]];
      for (const [key, child] of entries.reverse()) pending.push({ value: child, path: [...path, key] });
    }
  }
  return undefined;
}

/**
 * A zod refinement for JSON passed through to a provider (blocks, cards): a lone surrogate in any string
 * or key is an issue at its path, e.g. `/blocks/0/text/text`.
 *
 * @example
 * ```ts
 * const Card = z.looseObject({ type: z.literal('AdaptiveCard') }).superRefine(requireWellFormed);
 * ```
 */
export function requireWellFormed(value: unknown, context: z.RefinementCtx): void {
  const path = illFormedPath(value);
  if (path !== undefined) context.addIssue({ code: 'custom', path, message: NOT_WELL_FORMED, input: value });
}

const wellFormed = (text: string) => text.isWellFormed();

/** Where a message goes. */
export const NotifierChannel = z
  .string()
  .trim()
  .min(1)
  .max(255)
  .refine(wellFormed, NOT_WELL_FORMED)
  .describe(
    'Where the message goes: a channel id (Slack C0123ABCD), a channel name, or a user id for a direct message',
  );

/** A provider's id of one message. */
export const MessageId = z
  .string()
  .min(1)
  .max(255)
  .describe('The provider id of a message (Slack: its timestamp ts, e.g. 1503435956.000247)');

/** Plain message text. */
export const MessageText = z
  .string()
  .min(1)
  .max(MAX_MESSAGE_TEXT)
  .refine(wellFormed, NOT_WELL_FORMED)
  .describe('Message text (markup as the provider reads it); the notification fallback when blocks are sent');

/**
 * One rich-content block. Checked loosely on purpose: the provider validates its own block grammar (Slack
 * answers `invalid_blocks`), and a strict copy here would reject every block type added after it was written.
 */
export const MessageBlock = z
  .looseObject({
    type: z.string().min(1).max(255).describe('Block type, e.g. section, header, divider, actions'),
  })
  .describe('One layout block (Slack Block Kit JSON); fields other than type are passed through unchanged');

/** The rich content of a message. */
export const MessageBlocks = z
  .array(MessageBlock)
  .min(1)
  .max(MAX_MESSAGE_BLOCKS)
  .superRefine(requireWellFormed)
  .describe(`Rich layout blocks (Slack Block Kit), at most ${MAX_MESSAGE_BLOCKS}`);

/**
 * A zod refinement for message inputs: at least one of `text` and `blocks`. Applied after any `.extend()`
 * (zod refuses to extend a refined object), so provider models share the rule.
 *
 * @example
 * ```ts
 * const Input = PostMessageFields.extend({ unfurlLinks: z.boolean().optional() }).superRefine(requireContent);
 * ```
 */
export function requireContent(
  value: { text?: string | undefined; blocks?: unknown },
  context: z.RefinementCtx,
): void {
  if (value.text === undefined && value.blocks === undefined) {
    context.addIssue({ code: 'custom', path: ['text'], message: 'Provide text, blocks or both' });
  }
}

/** The fields of a new message, before the text-or-blocks rule ({@link PostMessageInput} applies it). */
export const PostMessageFields = z.strictObject({
  channel: NotifierChannel,
  text: MessageText.optional(),
  blocks: MessageBlocks.optional(),
  threadTs: MessageId.optional().describe(
    'Post as a reply in the thread of this message (capability "threads"); use the parent, not a reply',
  ),
});

/** A new message: text and/or blocks to a channel, optionally a thread reply. */
export const PostMessageInput = PostMessageFields.superRefine(requireContent).describe(
  'A message to post: text and/or blocks',
);
export type PostMessageInput = z.input<typeof PostMessageInput>;

/** Where the message landed. */
export const PostMessageOutput = z.object({
  channel: z.string().min(1).describe('The id of the channel the message was posted in'),
  ts: MessageId.describe('The new message id (Slack: its ts); pass it to update-message or as threadTs'),
  threadTs: MessageId.optional().describe('The id of the thread parent, when the message is a reply'),
});
export type PostMessageOutput = z.output<typeof PostMessageOutput>;

/** The fields of an edit, before the text-or-blocks rule ({@link UpdateMessageInput} applies it). */
export const UpdateMessageFields = z.strictObject({
  channel: NotifierChannel,
  ts: MessageId.describe('The id of the message to change (Slack: its ts)'),
  text: MessageText.optional(),
  blocks: MessageBlocks.optional(),
});

/** New content for a message this notifier posted (capability "update"). */
export const UpdateMessageInput = UpdateMessageFields.superRefine(requireContent).describe(
  'New text and/or blocks for an existing message',
);
export type UpdateMessageInput = z.input<typeof UpdateMessageInput>;

export const UpdateMessageOutput = z.object({
  channel: z.string().min(1).describe('The id of the channel of the message'),
  ts: MessageId.describe('The id of the updated message (unchanged by the edit)'),
});
export type UpdateMessageOutput = z.output<typeof UpdateMessageOutput>;

/** One page request of the channel listing (capability "channels"). */
export const ListChannelsFields = z.strictObject({
  cursor: z
    .string()
    .min(1)
    .max(1024)
    .refine(wellFormed, NOT_WELL_FORMED)
    .optional()
    .describe('The nextCursor of the previous page; omit for the first page'),
  limit: z
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(100)
    .describe('Most channels per page (a provider may return fewer before the end)'),
});
export const ListChannelsInput = ListChannelsFields.describe('One page of the channel listing');
export type ListChannelsInput = z.input<typeof ListChannelsInput>;

/** A channel as the notifier sees it. */
export const NotifierChannelInfo = z.object({
  id: z.string().min(1).describe('Channel id; use it as the channel of post-message'),
  name: z.string().optional().describe('Channel name without #; absent for direct messages'),
  isPrivate: z.boolean().describe('Whether only invited members see the channel'),
  isArchived: z.boolean().describe('Whether the channel is archived (no new messages)'),
  isMember: z.boolean().describe('Whether this notifier (the bot) is a member and can post without joining'),
  topic: z.string().optional().describe('The channel topic, when set'),
  memberCount: z.number().int().min(0).optional().describe('Number of members, when the provider reports it'),
});
export type NotifierChannelInfo = z.output<typeof NotifierChannelInfo>;

export const ListChannelsOutput = z.object({
  channels: z.array(NotifierChannelInfo).describe('This page of channels'),
  nextCursor: z
    .string()
    .min(1)
    .optional()
    .describe('Pass as cursor to get the next page; absent on the last page'),
});
export type ListChannelsOutput = z.output<typeof ListChannelsOutput>;

/** Characters RFC 5322 allows only inside a quoted part before the @ (quoted parts are not supported). */
const SPECIALS = /[()<>[\]:;,\\]/;
const DOMAIN_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const TOP_LABEL = /^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$/;
const bytes = (text: string): number => Buffer.byteLength(text, 'utf8');

/**
 * Why `address` is not a mailbox a provider can look up, or undefined when it is one. Internationalised
 * addresses are mailboxes (RFC 6531): UTF-8 before the @, and a domain in any script (RFC 5890) or in
 * Punycode. Refused, each with its reason: no single @, spaces or control characters, a quoted or
 * bracketed part (RFC 5322 allows them; no notifier needs them), dots at the ends or doubled before the @,
 * more than 64 bytes before the @ or 254 in all (RFC 5321, UTF-8 bytes), a domain that is not a host name
 * with a dot, and lone surrogates.
 *
 * @example
 * ```ts
 * mailboxProblem('zoë@bücher.de'); // undefined
 * mailboxProblem('ops@localhost'); // 'expected a domain name with a dot, such as example.com or bücher.de'
 * ```
 */
export function mailboxProblem(address: string): string | undefined {
  if (!address.isWellFormed()) return NOT_WELL_FORMED;
  if (address.includes('"')) return 'quoted parts ("...") are not supported in an address';
  if (/[\s\p{Cc}]/u.test(address)) return 'an address has no spaces or control characters';
  const parts = address.split('@');
  const [local = '', domain = ''] = parts;
  if (parts.length !== 2 || local === '' || domain === '') {
    return 'expected one @ between the name and the domain, as in name@example.com';
  }
  if (SPECIALS.test(local)) return 'the part before the @ may not contain ( ) < > [ ] : ; , or \\';
  if (local.startsWith('.') || local.endsWith('.') || local.includes('..')) {
    return 'a dot may not start or end the part before the @, nor follow another dot';
  }
  if (bytes(local) > 64) return 'at most 64 bytes before the @ (UTF-8, RFC 5321)';
  const labels = domainToASCII(domain).split('.');
  const top = labels.at(-1) ?? '';
  if (labels.length < 2 || !labels.every((label) => DOMAIN_LABEL.test(label)) || !TOP_LABEL.test(top)) {
    return 'expected a domain name with a dot, such as example.com or bücher.de';
  }
  if (bytes(address) > 254) return 'at most 254 bytes in all (UTF-8, RFC 5321)';
  return undefined;
}

/**
 * An email address as a person has it: ASCII or internationalised (RFC 6531), sent to the provider as
 * given; refused with a 400 saying why when it is not a mailbox ({@link mailboxProblem}).
 */
export const MailboxAddress = z
  .string()
  .max(254)
  .superRefine((address, context) => {
    const problem = mailboxProblem(address);
    if (problem !== undefined) context.addIssue({ code: 'custom', message: problem, input: address });
  });

/** Look a person up by email address (capability "user-lookup"). */
export const FindUserByEmailInput = z.strictObject({
  email: MailboxAddress.describe(
    'The email address of the person, e.g. "alice@example.com"; an internationalised one ("zoë@bücher.de", RFC 6531) is sent as given',
  ),
});
export type FindUserByEmailInput = z.input<typeof FindUserByEmailInput>;

/** A person known to the notifier. */
export const NotifierUser = z.object({
  id: z.string().min(1).describe('User id; post-message accepts it as channel for a direct message (Slack)'),
  name: z.string().describe('Handle (Slack: the username)'),
  realName: z
    .string()
    .describe('Full name as the provider shows it (falls back to the display name or handle)'),
  email: z.string().optional().describe('Email address, when the token may read it'),
});
export type NotifierUser = z.output<typeof NotifierUser>;
