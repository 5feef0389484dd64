/**
 * The Twilio client as a library, against the Twilio contract fake: the notifier interface's conformance
 * suite (SMS offers no optional ability, so every refusal test runs), the next_page_uri cursor, and the
 * error table on Twilio's numeric codes.
 */
import { randomUUID } from 'node:crypto';
import { configureSecrets, defineSecret, NotFoundError, ValidationError } from '@circle-core/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeNotifierConformance } from '#shared/interfaces/notifier.conformance.ts';
import {
  startTwilioFake,
  TWILIO_INVALID_NUMBER,
  TWILIO_SANDBOX_FROM,
  TWILIO_SANDBOX_SECRET,
} from '../../../scripts/local/sandboxes/twilio.ts';
import { type SecretsManagerPeer, startSecretsManager } from '../../../test/peers/secrets-manager.ts';
import { nextPageUri, TwilioApi, twilioApi, twilioAuth } from './client.ts';

const SECRET = `test/twilio/library-${randomUUID().slice(0, 8)}`;
let secrets: SecretsManagerPeer;
const savedEnv = { ...process.env };

beforeAll(async () => {
  secrets = await startSecretsManager({ [SECRET]: TWILIO_SANDBOX_SECRET });
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
  });
  configureSecrets({});
});

afterAll(async () => {
  process.env = savedEnv;
  await secrets.close();
});

describeNotifierConformance('Twilio', async () => {
  const fake = await startTwilioFake();
  fake.state.sendCallbacks = false;
  const secret = defineSecret(SECRET);
  const rest = twilioApi.client({ baseUrl: fake.url, auth: twilioAuth(secret), coordination: false });
  return {
    notifier: new TwilioApi(rest, secret, { from: TWILIO_SANDBOX_FROM }),
    channel: '+15558675310',
    missingChannel: TWILIO_INVALID_NUMBER,
    readMessage: async (channel, ts) => {
      const found = fake.state.messages.find((m) => m.sid === ts && m.to === channel);
      return found === undefined ? undefined : { text: found.body };
    },
    close: () => fake.close(),
  };
});

describe('Class: TwilioApi', () => {
  it('refuses a send without any sender before calling Twilio, and names a missing message', async () => {
    // Prepare
    const fake = await startTwilioFake();
    const secret = defineSecret(SECRET);
    const api = new TwilioApi(
      twilioApi.client({ baseUrl: fake.url, auth: twilioAuth(secret), coordination: false }),
      secret,
    );

    // Act
    const unsent = api.sendMessage({ to: '+15558675310', body: 'x' });
    const missing = api.getMessage({ sid: `SM${'0'.repeat(32)}` });

    // Assess
    await expect(unsent).rejects.toBeInstanceOf(ValidationError);
    await expect(missing).rejects.toBeInstanceOf(NotFoundError);
    expect(fake.logFor('send-message')).toEqual([]);
    api.close();
    await fake.close();
  });
});

describe('Pagination: nextPageUri', () => {
  it('keeps only Page and PageToken of next_page_uri, and refuses a forged cursor', () => {
    // Act
    const next = nextPageUri.next({
      headers: {},
      query: {},
      count: 2,
      body: {
        next_page_uri: '/2010-04-01/Accounts/AC1/Messages.json?PageSize=2&Page=1&PageToken=PASM1&To=%2B1',
      },
    });
    const forged = Buffer.from('1:PA/../x').toString('base64url');

    // Assess
    expect(nextPageUri.query({ To: '+1', PageSize: 2 }, next.nextCursor)).toEqual({
      To: '+1',
      PageSize: 2,
      Page: '1',
      PageToken: 'PASM1',
    });
    expect(nextPageUri.next({ headers: {}, query: {}, count: 0, body: { next_page_uri: null } })).toEqual({});
    expect(() => nextPageUri.query({}, forged)).toThrow(ValidationError);
    // A next_page_uri without Page and PageToken (another paging scheme) ends the listing.
    expect(
      nextPageUri.next({
        headers: {},
        query: {},
        count: 2,
        body: { next_page_uri: '/2010-04-01/Accounts/AC1/Messages.json?PageSize=2&AfterSid=SM1' },
      }),
    ).toEqual({});
  });

  it('refuses a body with NUL or another control character (tab, LF, CR kept) before calling Twilio', async () => {
    // Prepare
    const fake = await startTwilioFake();
    fake.state.sendCallbacks = false;
    const secret = defineSecret(SECRET);
    const api = new TwilioApi(
      twilioApi.client({ baseUrl: fake.url, auth: twilioAuth(secret), coordination: false }),
      secret,
      { from: TWILIO_SANDBOX_FROM },
    );

    // Act
    const errors = await Promise.all(
      ['Disk\u0000full', 'bell\u0007', 'esc\u001b[0m', 'del\u007f'].map((body) =>
        api.sendMessage({ to: '+15558675310', body }).catch((error: unknown) => error),
      ),
    );
    const viaNotifier = await api
      .postMessage({ channel: '+15558675310', text: 'a\u0000b' })
      .catch((error: unknown) => error);
    const kept = await api.sendMessage({ to: '+15558675310', body: 'line 1\n\tline 2\r\n' });

    // Assess
    for (const error of errors) {
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).issues).toEqual([expect.objectContaining({ pointer: '/body' })]);
    }
    expect((viaNotifier as ValidationError).issues).toEqual([expect.objectContaining({ pointer: '/text' })]);
    expect(kept.body).toBe('line 1\n\tline 2\r\n');
    expect(fake.logFor('send-message')).toHaveLength(1);
    api.close();
    await fake.close();
  });
});

describe('Text that is not ASCII', () => {
  async function setup() {
    const fake = await startTwilioFake();
    fake.state.sendCallbacks = false;
    const secret = defineSecret(SECRET);
    const api = new TwilioApi(
      twilioApi.client({ baseUrl: fake.url, auth: twilioAuth(secret), coordination: false }),
      secret,
      { from: TWILIO_SANDBOX_FROM },
    );
    return { fake, api };
  }

  it('sends 1 600 characters as Twilio counts them, and refuses more (an emoji counts 2) naming the field, before any call', async () => {
    // Prepare
    const { fake, api } = await setup();
    // Act
    const full = await api.sendMessage({ to: '+15558675310', body: `${'é'.repeat(1_598)}😀` });
    const over = await api
      .sendMessage({ to: '+15558675310', body: `${'a'.repeat(1_599)}😀` })
      .catch((error: unknown) => error);
    const emoji = await api
      .postMessage({ channel: '+15558675310', text: '😀'.repeat(801) })
      .catch((error: unknown) => error);
    // Assess
    expect(full.body).toBe(`${'é'.repeat(1_598)}😀`);
    expect(over).toBeInstanceOf(ValidationError);
    expect((over as ValidationError).issues).toEqual([
      { pointer: '/body', message: expect.stringContaining('1600') },
    ]);
    expect((emoji as ValidationError).issues).toEqual([expect.objectContaining({ pointer: '/text' })]);
    expect(fake.logFor('send-message')).toHaveLength(1);
    api.close();
    await fake.close();
  });

  it('refuses a body with a lone surrogate (half an emoji) instead of sending U+FFFD', async () => {
    // Prepare
    const { fake, api } = await setup();
    // Act
    const half = await api
      .sendMessage({ to: '+15558675310', body: `cut here ${'😀'.slice(0, 1)}` })
      .catch((error: unknown) => error);
    // Assess
    expect(half).toBeInstanceOf(ValidationError);
    expect((half as ValidationError).issues).toEqual([expect.objectContaining({ pointer: '/body' })]);
    expect(fake.logFor('send-message')).toEqual([]);
    api.close();
    await fake.close();
  });

  it('reports the segments Twilio bills: GSM-7 160 then 153 each (^{}[]~|€\\ count 2), UCS-2 70 then 67 each', async () => {
    // Prepare
    const { fake, api } = await setup();
    const cases: [string, number][] = [
      ['a'.repeat(160), 1],
      ['a'.repeat(161), 2],
      ['é'.repeat(160), 1], // é is in the GSM-7 alphabet
      ['{'.repeat(80), 1], // 160 septets
      ['{'.repeat(81), 2],
      ['ë'.repeat(70), 1], // ë is not: UCS-2
      ['ë'.repeat(71), 2],
      ['日本'.repeat(67), 2], // 134 UCS-2 units
      ['😀'.repeat(35), 1], // 70 UCS-2 units
      ['😀'.repeat(36), 2],
    ];
    // Act
    const segments = [];
    for (const [body] of cases) segments.push((await api.sendMessage({ to: '+15558675310', body })).segments);
    // Assess
    expect(segments).toEqual(cases.map(([, count]) => count));
    api.close();
    await fake.close();
  });
});
