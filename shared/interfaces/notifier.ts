/**
 * The notifier interface: what every messaging provider (Slack, Microsoft Teams, Amazon SES, Twilio, ...)
 * offers, so workflows and callers can post without knowing which one is behind it. Optional abilities are
 * capabilities: check them with `supports(notifier, 'update')`; a method whose capability is missing throws
 * `NotSupportedError` (HTTP 501, Step Functions `NotSupportedError`).
 */
import type {
  FindUserByEmailInput,
  ListChannelsInput,
  ListChannelsOutput,
  NotifierUser,
  PostMessageInput,
  PostMessageOutput,
  UpdateMessageInput,
  UpdateMessageOutput,
} from '../models/notifier.ts';
import type { HasCapabilities } from './capabilities.ts';

/**
 * Optional abilities of a notifier:
 * - `threads`: `postMessage` accepts `threadTs` (reply in a thread);
 * - `blocks`: messages may carry rich layout blocks (Slack Block Kit);
 * - `update`: `updateMessage` edits a message this notifier posted;
 * - `channels`: `listChannels` pages through the destinations;
 * - `user-lookup`: `findUserByEmail` finds a person.
 */
export type NotifierCapability = 'threads' | 'blocks' | 'update' | 'channels' | 'user-lookup';

/**
 * A messaging provider. Every method validates its input (ValidationError with JSON pointers) and maps
 * provider failures onto the core error taxonomy (NotFoundError for an unknown channel, AuthError,
 * RateLimitedError with `retryAfterMs`, ...).
 *
 * @example
 * ```ts
 * async function announce(notifier: Notifier, channel: string, text: string) {
 *   const { ts } = await notifier.postMessage({ channel, text });
 *   if (supports(notifier, 'threads')) await notifier.postMessage({ channel, text: 'details', threadTs: ts });
 * }
 * ```
 */
export interface Notifier extends HasCapabilities<NotifierCapability> {
  /** Posts text and/or blocks to a channel; with `threadTs`, as a reply (capability `threads`). */
  postMessage(input: PostMessageInput): Promise<PostMessageOutput>;
  /** Replaces the content of a message this notifier posted (capability `update`). */
  updateMessage(input: UpdateMessageInput): Promise<UpdateMessageOutput>;
  /** One page of the channels this notifier can see (capability `channels`). */
  listChannels(input?: ListChannelsInput): Promise<ListChannelsOutput>;
  /** Finds a person by email address (capability `user-lookup`); NotFoundError when nobody has it. */
  findUserByEmail(input: FindUserByEmailInput): Promise<NotifierUser>;
}
