/**
 * The console's Mail pages: what the local SES endpoint captured instead of delivering (newest first), and
 * one message with its headers, text, HTML (shown as source, never rendered: a captured message is
 * untrusted content) and attachments by name, type, size and digest.
 */
import type { SesMail } from '../aws/ses.ts';
import { html, page, pretty, table } from './html.ts';

/**
 * The list of captured messages.
 *
 * @example
 * ```ts
 * send(res, 200, mailPage(mail, session.csrf));
 * ```
 */
export function mailPage(mail: SesMail | undefined, csrf: string): string {
  const messages = mail?.messages() ?? [];
  const rows = messages.map((message) => [
    message.receivedAt,
    html`<a href="/_console/mail/${encodeURIComponent(message.messageId)}" data-test="mail-${message.messageId}">${message.subject || '(no subject)'}</a>`,
    message.from,
    [...message.to, ...message.cc].join(', '),
    message.kind,
    message.status,
    String(message.attachments.length),
  ]);
  return page({
    title: 'Mail',
    csrf,
    body: html`<p>Email sent through the local SES endpoint is captured here, not delivered (also <code>GET /_local/ses/messages</code> on the AWS endpoint). The local account is in the SES sandbox: senders and recipients must be at a verified identity (<code>example.com</code>, the domain of <code>SES_FROM_ADDRESS</code>) or the mailbox simulator.</p>
${table(['received', 'subject', 'from', 'to, cc', 'kind', 'status', 'attachments'], rows)}`,
  });
}

/**
 * One captured message, or undefined when there is none by that id.
 *
 * @example
 * ```ts
 * const body = mailMessagePage(mail, session.csrf, id);
 * ```
 */
export function mailMessagePage(mail: SesMail | undefined, csrf: string, id: string): string | undefined {
  const message = mail?.message(id);
  if (message === undefined) return undefined;
  const { text, html: source, raw, attachments, ...headers } = message;
  const files = attachments.map((file) => [file.fileName, file.contentType, String(file.size), file.sha256]);
  return page({
    title: message.subject || '(no subject)',
    csrf,
    body: html`<p><a href="/_console/mail">All mail</a></p>
<h2>Headers</h2><pre data-test="mail-headers">${pretty(headers)}</pre>
<h2>Text</h2><pre data-test="mail-text">${text ?? '(none)'}</pre>
<h2>HTML (source)</h2><pre data-test="mail-html">${source ?? '(none)'}</pre>
<h2>Attachments</h2>${table(['file', 'type', 'bytes', 'sha256'], files)}
${raw === undefined ? '' : html`<h2>Raw message</h2><pre>${raw}</pre>`}`,
  });
}
