/**
 * The Microsoft Teams connector's models: Graph's chatMessage as Graph answers it, the Workflows webhook
 * post, and each operation's input and output (every field described; inputs refuse unknown fields).
 * The notifier interface's post-message reuses the shared models; its channel is `{team-id}/{channel-id}`
 * (or a channel id of the default team) and its ts is Graph's message id.
 */
import * as z from 'zod';
import {
  MessageBlocks,
  PostMessageFields,
  requireContent,
  requireWellFormed,
} from '#shared/models/notifier.ts';
import { WellFormedText } from '#shared/models/paths.ts';

/** Teams refuses messages over about 28 KB; text is held well under it. */
export const MAX_TEXT = 20_000;

/** A Teams channel id (`19:...@thread.tacv2`), optionally after its team id and a slash. */
const CHANNEL = /^(?:[0-9a-fA-F-]{36}\/)?19:[^/\s@]{1,200}@thread\.[a-z0-9]{1,20}$/;

export const TeamsChannel = z
  .string()
  .trim()
  .regex(CHANNEL, 'must be {team-id}/19:...@thread.tacv2, or a channel id of TEAMS_TEAM_ID')
  .describe(
    'The channel: {team-id}/{channel-id}, or a channel id of the default team (TEAMS_TEAM_ID), e.g. "19:ops-alerts@thread.tacv2"',
  );

export const GraphMessageId = z
  .string()
  .regex(/^\d{1,24}$/, 'must be a Graph message id (digits)')
  .describe('A Graph chatMessage id, e.g. "1767603600000"');

/** An Adaptive Card (https://adaptivecards.io): checked loosely, Teams validates its own grammar. */
export const AdaptiveCard = z
  .looseObject({
    type: z.literal('AdaptiveCard').describe('Always AdaptiveCard'),
    version: z.string().max(10).optional().describe('Schema version; Teams renders up to 1.5, e.g. "1.4"'),
    body: MessageBlocks.optional().describe('The card elements (TextBlock, FactSet, ...)'),
  })
  // Every string of the card reaches Teams (actions, titles, URLs); the body's are MessageBlocks' to check.
  .superRefine(({ body: _body, ...rest }, context) => requireWellFormed(rest, context))
  .describe('An Adaptive Card object, e.g. {"type":"AdaptiveCard","version":"1.4","body":[...]}');
export type AdaptiveCard = z.output<typeof AdaptiveCard>;

/** Graph's chatMessage, the fields this connector reads (open: Graph adds fields). */
export const ChatMessageAnswer = z.looseObject({
  id: z.string(),
  replyToId: z.string().nullable().optional(),
  createdDateTime: z.string(),
  lastModifiedDateTime: z.string().nullable().optional(),
  subject: z.string().nullable().optional(),
  importance: z.string().optional(),
  webUrl: z.string().nullable().optional(),
  body: z.object({ contentType: z.string(), content: z.string().nullable() }),
  from: z
    .looseObject({
      application: z.looseObject({ displayName: z.string().nullable().optional() }).nullable().optional(),
      user: z.looseObject({ displayName: z.string().nullable().optional() }).nullable().optional(),
    })
    .nullable()
    .optional(),
  attachments: z.array(z.looseObject({ contentType: z.string().optional() })).optional(),
});
export type ChatMessageAnswer = z.output<typeof ChatMessageAnswer>;

/** One page of a Graph collection; `@odata.nextLink` is absent on the last page. */
export const ChatMessagePageAnswer = z.looseObject({
  value: z.array(ChatMessageAnswer),
  '@odata.nextLink': z.string().optional(),
});

export const Message = z.object({
  id: z.string().describe('The Graph message id'),
  channel: z.string().describe('{team-id}/{channel-id} of the message'),
  replyToId: z.string().nullable().describe('The id of the thread parent when this is a reply, else null'),
  createdAt: z.string().describe('When it was posted (ISO 8601)'),
  lastModifiedAt: z.string().nullable().describe('When it was last changed, if ever'),
  subject: z.string().nullable().describe('The subject line of a thread parent, if any'),
  importance: z.string().describe('normal, high or urgent'),
  contentType: z.string().describe('text or html'),
  content: z.string().describe('The body as Graph holds it (html for cards: an <attachment> tag)'),
  from: z.string().nullable().describe('Display name of the app or person that posted it'),
  cards: z.number().int().describe('How many Adaptive Card attachments it carries'),
  webUrl: z.string().nullable().describe('A link that opens the message in Teams'),
});
export type Message = z.output<typeof Message>;

/**
 * The notifier interface's post through Graph: text and/or blocks (the body elements of an Adaptive Card
 * that the connector wraps), optionally as a reply (threadTs: the parent's message id).
 */
export const PostChannelMessageInput = PostMessageFields.extend({
  channel: TeamsChannel,
  text: WellFormedText.min(1)
    .max(MAX_TEXT)
    .optional()
    .describe(`The message text, at most ${MAX_TEXT} characters, e.g. "Deploy of api started"`),
  blocks: MessageBlocks.optional().describe(
    'Adaptive Card body elements (e.g. [{"type":"TextBlock","text":"Disk full"}]); sent as one card',
  ),
  threadTs: GraphMessageId.optional().describe(
    'Reply in the thread of this message (the parent id, not a reply id), e.g. "1767603600000"',
  ),
})
  .superRefine(requireContent)
  .describe('A message to a channel through Microsoft Graph (the notifier interface)');
export type PostChannelMessageInput = z.input<typeof PostChannelMessageInput>;

export const MessageRef = z.strictObject({
  channel: TeamsChannel,
  ts: GraphMessageId.describe('The message id, e.g. "1767603600000"'),
  threadTs: GraphMessageId.optional().describe('The parent id when ts is a reply, e.g. "1767603600000"'),
});
export type MessageRef = z.output<typeof MessageRef>;

export const ListRepliesInput = z.strictObject({
  channel: TeamsChannel,
  ts: GraphMessageId.describe('The thread parent id, e.g. "1767603600000"'),
  limit: z.int().min(1).max(50).optional().describe('Replies per page, 1-50 (Graph default 20)'),
  cursor: z.string().min(1).max(2048).optional().describe('The nextCursor of the previous page'),
});
export type ListRepliesInput = z.output<typeof ListRepliesInput>;

export const MessagePage = z.object({
  messages: z.array(Message).describe('One page of replies'),
  nextCursor: z.string().optional().describe('Pass as cursor for the next page; absent on the last page'),
});
export type MessagePage = z.output<typeof MessagePage>;

export const PostWebhookInput = z
  .strictObject({
    webhook: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be a webhook name of TEAMS_WEBHOOKS_SECRET')
      .default('default')
      .describe('Which stored webhook URL to post to (a key of the webhooks secret), e.g. "default"'),
    text: WellFormedText.min(1)
      .max(MAX_TEXT)
      .optional()
      .describe('Text shown as a TextBlock (above the card when both are given), e.g. "Disk full on db-1"'),
    card: AdaptiveCard.optional(),
  })
  .refine((value) => value.text !== undefined || value.card !== undefined, {
    path: ['text'],
    message: 'Provide text, card or both',
  })
  .describe('A post to a Teams Workflows webhook ("When a Teams webhook request is received")');
export type PostWebhookInput = z.output<typeof PostWebhookInput>;

export const PostWebhookOutput = z.object({
  webhook: z.string().describe('The webhook name posted to'),
  status: z.number().int().describe('What the webhook answered: 202 (Workflows) or 200 (legacy connector)'),
});
export type PostWebhookOutput = z.output<typeof PostWebhookOutput>;
