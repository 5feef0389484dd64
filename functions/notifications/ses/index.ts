/**
 * The Amazon SES connector: email through SES v2 (built from a subject and bodies, rendered from a stored
 * template, or a ready MIME message), attachments and raw messages read from S3 (claim check), templates
 * created, read and listed, the account's quota, and the notifier interface's post-message, on every
 * trigger (HTTP, SQS, Step Functions, direct invoke, library use) from one declaration.
 */
import { defineConnector } from '@circle-core/core';
import { PostMessageOutput } from '#shared/models/notifier.ts';
import { SesMailer } from './client.ts';
import { clientOptions, SesConfig } from './config.ts';
import {
  Account,
  AccountInput,
  CreateTemplateInput,
  ListTemplatesInput,
  PostEmailInput,
  SendEmailInput,
  SendEmailOutput,
  SendRawEmailInput,
  SendTemplatedEmailInput,
  Template,
  TemplatePage,
  TemplateRef,
} from './models.ts';

/**
 * @example
 * ```ts
 * const { messageId } = await connector.run('send-email', { to: ['oncall@example.com'], subject: 'Disk full', text: 'db-1 is at 97%' });
 * ```
 */
export const connector = defineConnector({
  name: 'ses',
  version: '1.1.1',
  config: SesConfig,
  capabilities: ['email', 'templates', 'attachments'],
  setup: { client: ({ config }) => SesMailer.create(clientOptions(config)) },
  operations: (op) => ({
    'send-email': op({
      effect: 'write',
      description: 'Sends an email from a subject, text and/or HTML, with attachments read from S3',
      input: SendEmailInput,
      output: SendEmailOutput,
      run: (input, { client }) => client.sendEmail(input),
    }),
    'send-templated-email': op({
      effect: 'write',
      description: 'Sends an email SES renders from a stored template and its data, with attachments',
      input: SendTemplatedEmailInput,
      output: SendEmailOutput,
      run: (input, { client }) => client.sendTemplatedEmail(input),
    }),
    'send-raw-email': op({
      effect: 'write',
      description: 'Sends a ready MIME message read from S3 as it is (claim check)',
      input: SendRawEmailInput,
      output: SendEmailOutput,
      run: (input, { client }) => client.sendRawEmail(input),
    }),
    'create-template': op({
      effect: 'write',
      description: 'Stores an email template (subject, text, HTML with {{variables}})',
      input: CreateTemplateInput,
      output: TemplateRef,
      run: (input, { client }) => client.createTemplate(input),
    }),
    'get-template': op({
      description: 'Reads one email template',
      input: TemplateRef,
      output: Template,
      run: (input, { client }) => client.getTemplate(input),
    }),
    'list-templates': op({
      description: "Lists one page of the account's templates; nextCursor reads on",
      input: ListTemplatesInput,
      output: TemplatePage,
      run: (input, { client }) => client.listTemplates(input),
    }),
    'get-account': op({
      description: 'Reports sending quota, rate and whether the account is still in the SES sandbox',
      input: AccountInput,
      output: Account,
      run: (_input, { client }) => client.account(),
    }),
    'post-message': op({
      effect: 'write',
      description: 'The notifier interface: emails text to channel (an address) from the default sender',
      input: PostEmailInput,
      output: PostMessageOutput,
      run: (input, { client }) => client.postMessage(input),
    }),
  }),
  healthCheck: ({ client }) => client.ping(),
});

/** The Lambda entry point for every trigger. */
export const handler = connector.handler;
