/**
 * Slack's `ok: false` error codes mapped onto the core error taxonomy, in one table the REST kit applies
 * to every answer (see `slackApi` in client.ts), so no method checks `ok` by hand.
 */
import type { ErrorRow } from '@circle-core/core';

/**
 * Slack error codes -> core error classes. Codes about the shape of our own request (`invalid_post_type`,
 * `invalid_charset`, `invalid_form_data`, ...) are deliberately absent: they mean a bug here, not a caller
 * mistake, and surface as UnexpectedResponseError with the code.
 */
export const SLACK_ERRORS: Readonly<Record<string, ErrorRow>> = {
  channel_not_found: { kind: 'not-found', meaning: 'the channel does not exist or the app cannot see it' },
  users_not_found: { kind: 'not-found', meaning: 'no user has that email address' },
  user_not_found: { kind: 'not-found', meaning: 'the user does not exist' },
  message_not_found: { kind: 'not-found', meaning: 'no message has that ts in the channel' },
  thread_not_found: { kind: 'not-found', meaning: 'no thread parent has that threadTs in the channel' },
  invalid_auth: { kind: 'auth', meaning: 'the bot token is not valid' },
  not_authed: { kind: 'auth', meaning: 'no bot token was sent' },
  account_inactive: { kind: 'auth', meaning: 'the token belongs to a deleted user or workspace' },
  token_revoked: { kind: 'auth', meaning: 'the token was revoked or the app was removed' },
  token_expired: { kind: 'auth', meaning: 'the token has expired' },
  not_allowed_token_type: { kind: 'auth', meaning: 'this kind of token cannot call the method' },
  missing_scope: { kind: 'forbidden', meaning: 'the token lacks a scope the method needs' },
  not_in_channel: { kind: 'forbidden', meaning: 'the bot is not a member of the channel; invite it first' },
  restricted_action: { kind: 'forbidden', meaning: 'a workspace preference prevents the bot from posting' },
  restricted_action_read_only_channel: { kind: 'forbidden', meaning: 'the channel is read-only' },
  restricted_action_thread_only_channel: {
    kind: 'forbidden',
    meaning: 'the channel only accepts thread replies',
  },
  restricted_action_non_threadable_channel: {
    kind: 'forbidden',
    meaning: 'the channel does not accept thread replies',
  },
  cant_update_message: { kind: 'forbidden', meaning: 'the bot may only update messages it posted' },
  no_permission: { kind: 'forbidden', meaning: 'the token lacks the permission for this channel or method' },
  access_denied: { kind: 'forbidden', meaning: 'access to the resource is denied' },
  ekm_access_denied: { kind: 'forbidden', meaning: 'administrators have suspended posting (EKM)' },
  team_access_not_granted: { kind: 'forbidden', meaning: 'the token has no access to that workspace' },
  messages_tab_disabled: { kind: 'forbidden', meaning: 'the user has turned off direct messages from apps' },
  ratelimited: { kind: 'rate-limited', meaning: 'the method is rate limited' },
  rate_limited: { kind: 'rate-limited', meaning: 'the app posted too many messages' },
  invalid_arguments: { kind: 'validation', meaning: 'the arguments are invalid' },
  invalid_blocks: { kind: 'validation', meaning: 'Slack refused the blocks (check the Block Kit syntax)' },
  invalid_blocks_format: { kind: 'validation', meaning: 'the blocks are not valid Block Kit JSON' },
  block_mismatch: { kind: 'validation', meaning: 'rich-text blocks cannot be replaced by other blocks' },
  msg_too_long: { kind: 'validation', meaning: 'the message text is too long' },
  // Reachable within the schema's 50 blocks: Slack also caps the blocks' total length (about 13,000 characters).
  msg_blocks_too_long: { kind: 'validation', meaning: 'the blocks are too long altogether' },
  cannot_reply_to_message: { kind: 'validation', meaning: 'threadTs names a message that takes no replies' },
  no_text: { kind: 'validation', meaning: 'the message has neither text nor blocks' },
  too_many_attachments: { kind: 'validation', meaning: 'the message has too many attachments' },
  invalid_cursor: {
    kind: 'validation',
    meaning: 'the cursor is not valid (any more)',
    pointer: '/cursor',
  },
  invalid_limit: { kind: 'validation', meaning: 'the limit is not valid' },
  invalid_types: { kind: 'validation', meaning: 'the channel types are not valid for this token' },
  is_archived: { kind: 'conflict', meaning: 'the channel is archived' },
  is_inactive: { kind: 'conflict', meaning: 'the channel is frozen, archived or deleted' },
  edit_window_closed: { kind: 'conflict', meaning: "the workspace's edit window for the message has closed" },
  internal_error: { kind: 'unavailable', meaning: 'Slack failed internally' },
  fatal_error: { kind: 'unavailable', meaning: 'Slack failed; part of the operation may have happened' },
  service_unavailable: { kind: 'unavailable', meaning: 'Slack is temporarily unavailable' },
  request_timeout: { kind: 'unavailable', meaning: 'Slack did not receive the whole request' },
  team_added_to_org: { kind: 'unavailable', meaning: 'the workspace is migrating to an Enterprise org' },
  org_login_required: { kind: 'unavailable', meaning: 'the workspace is migrating to an Enterprise org' },
};
