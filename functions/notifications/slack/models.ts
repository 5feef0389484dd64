/**
 * The Slack connector's models: the notifier models from `shared/` extended with Slack's own fields, the
 * shapes of the Web API answers the client reads, and the inbound payloads (Events API, slash commands).
 */
import * as z from 'zod';
import {
  FindUserByEmailInput,
  ListChannelsFields,
  ListChannelsOutput,
  NotifierUser,
  PostMessageFields,
  PostMessageOutput,
  requireContent,
  UpdateMessageFields,
  UpdateMessageOutput,
} from '#shared/models/notifier.ts';

export { FindUserByEmailInput, ListChannelsOutput, PostMessageOutput, UpdateMessageOutput };

/** A Slack message timestamp: the message id within its channel. */
export const SlackTs = z
  .string()
  .regex(/^\d{1,12}\.\d{1,9}$/, 'expected a Slack message ts like 1503435956.000247')
  .describe('A Slack message timestamp (ts), e.g. 1503435956.000247: the id of a message in its channel');

/** The conversation types `conversations.list` can return. */
export const SlackChannelType = z
  .enum(['public_channel', 'private_channel', 'mpim', 'im'])
  .describe('public_channel, private_channel, mpim (group DM) or im (direct message)');

export const SlackPostMessageInput = PostMessageFields.extend({
  threadTs: SlackTs.optional().describe(
    'Reply in the thread of this message (the parent ts, not a reply ts)',
  ),
  unfurlLinks: z
    .boolean()
    .optional()
    .describe('Unfurl text links into previews (Slack default: false for bots, true for most apps)'),
})
  .superRefine(requireContent)
  .describe('A message to post: text and/or Block Kit blocks, optionally as a thread reply');
export type SlackPostMessageInput = z.input<typeof SlackPostMessageInput>;

export const SlackUpdateMessageInput = UpdateMessageFields.extend({
  ts: SlackTs.describe('The ts of the message to update (only messages this bot posted)'),
})
  .superRefine(requireContent)
  .describe('New text and/or blocks for a message the bot posted');
export type SlackUpdateMessageInput = z.input<typeof SlackUpdateMessageInput>;

export const SlackListChannelsInput = ListChannelsFields.extend({
  types: z
    .array(SlackChannelType)
    .min(1)
    .max(4)
    .optional()
    .describe('Conversation types to list; Slack lists public_channel only when omitted'),
  excludeArchived: z
    .boolean()
    .optional()
    .describe('Leave archived channels out (Slack includes them when omitted)'),
}).describe('One page of the channels the bot can see');
export type SlackListChannelsInput = z.input<typeof SlackListChannelsInput>;

export const SlackFindUserOutput = NotifierUser;
export type SlackFindUserOutput = z.output<typeof SlackFindUserOutput>;

/** `auth.test`: whom the token belongs to. */
export const SlackIdentity = z.object({
  url: z.string().describe('The workspace URL'),
  team: z.string().describe('Workspace name'),
  teamId: z.string().describe('Workspace id (T...)'),
  user: z.string().describe('The bot user name'),
  userId: z.string().describe('The bot user id (U...)'),
  botId: z.string().optional().describe('The bot id (B...), for bot tokens'),
});
export type SlackIdentity = z.output<typeof SlackIdentity>;

// Answers of the Web API, as far as the client reads them. Loose: Slack adds fields all the time.

export const PostMessageAnswer = z.looseObject({
  channel: z.string().min(1),
  ts: z.string().min(1),
  message: z.looseObject({ thread_ts: z.string().optional() }).optional(),
});

export const UpdateMessageAnswer = z.looseObject({ channel: z.string().min(1), ts: z.string().min(1) });

export const ConversationAnswer = z.looseObject({
  id: z.string().min(1),
  name: z.string().optional(),
  is_private: z.boolean().optional(),
  is_im: z.boolean().optional(),
  is_archived: z.boolean().optional(),
  is_member: z.boolean().optional(),
  topic: z.looseObject({ value: z.string().optional() }).optional(),
  num_members: z.number().int().min(0).optional(),
});

export const ConversationsListAnswer = z.looseObject({
  channels: z.array(ConversationAnswer),
  response_metadata: z.looseObject({ next_cursor: z.string().optional() }).optional(),
});

export const LookupByEmailAnswer = z.looseObject({
  user: z.looseObject({
    id: z.string().min(1),
    name: z.string(),
    real_name: z.string().optional(),
    profile: z
      .looseObject({
        real_name: z.string().optional(),
        display_name: z.string().optional(),
        email: z.string().optional(),
      })
      .optional(),
  }),
});

export const AuthTestAnswer = z.looseObject({
  url: z.string(),
  team: z.string(),
  user: z.string(),
  team_id: z.string(),
  user_id: z.string(),
  bot_id: z.string().optional(),
});

// Inbound payloads.

/** The Events API request bodies the receiver handles (the deprecated verification `token` is ignored). */
export const SlackEventsPayload = z.discriminatedUnion('type', [
  z.looseObject({
    type: z.literal('url_verification'),
    challenge: z.string().min(1).max(1024).describe('Echoed back to prove the URL belongs to the app'),
  }),
  z.looseObject({
    type: z.literal('event_callback'),
    team_id: z.string().min(1).describe('Workspace the event happened in'),
    api_app_id: z.string().optional().describe('The app the event is for'),
    event_id: z.string().min(1).describe('Unique per event; Slack resends the same id on retries'),
    event_time: z.number().describe('Epoch seconds of the event'),
    event: z.looseObject({ type: z.string().min(1).describe('Event type, e.g. app_mention, message') }),
  }),
  z.looseObject({
    type: z.literal('app_rate_limited'),
    team_id: z.string().optional(),
    minute_rate_limited: z.number().optional(),
    api_app_id: z.string().optional(),
  }),
]);
export type SlackEventsPayload = z.output<typeof SlackEventsPayload>;

/** A slash command invocation (form fields, all strings). */
export const SlashCommandPayload = z.object({
  command: z
    .string()
    .regex(/^\/[\w-]{1,64}$/, 'expected a command like /deploy')
    .describe('The command'),
  text: z.string().max(4000).default('').describe('What the user typed after the command'),
  team_id: z.string().min(1),
  channel_id: z.string().min(1),
  user_id: z.string().min(1),
  response_url: z.url().describe('Where to send delayed responses (valid 30 minutes); not logged'),
  trigger_id: z.string().min(1),
  api_app_id: z.string().optional(),
});
export type SlashCommandPayload = z.output<typeof SlashCommandPayload>;
