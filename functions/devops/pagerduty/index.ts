/**
 * The PagerDuty connector: incidents (create, acknowledge, resolve, read, list) and on-call lookup over
 * REST API v2, alerts over Events API v2 (trigger, acknowledge, resolve by dedup key), on every trigger,
 * and a webhook (v3) receiver that hands PagerDuty's events on.
 */
import { defineConnector, eventReceivingFromConfig, readCredential } from '@circle-core/core';
import { PagerDutyApi, pagerdutyApi, pagerdutyEvents } from './client.ts';
import { PagerDutyConfig } from './config.ts';
import {
  AlertRef,
  ContactMethods,
  ContactMethodsInput,
  CreateIncidentInput,
  EventOutput,
  Incident,
  IncidentPage,
  IncidentRef,
  ListIncidentsInput,
  ListOncallsInput,
  OncallPage,
  TriggerAlertInput,
} from './models.ts';
import { type PagerDutyWebhookReceiver, receivePagerDutyWebhook } from './webhook.ts';

/**
 * @example
 * ```ts
 * const { dedupKey } = await connector.run('trigger-alert', { summary: 'Disk full', source: 'db-1', severity: 'critical' });
 * ```
 */
export const connector = defineConnector({
  name: 'pagerduty',
  version: '1.1.5',
  config: PagerDutyConfig,
  capabilities: ['incidents', 'on-call', 'events', 'webhooks'],
  setup: {
    secrets: (config) => ({
      apiKey: config.PAGERDUTY_TOKEN_SECRET,
      routingKey: config.PAGERDUTY_ROUTING_KEY_SECRET,
      webhook: config.PAGERDUTY_WEBHOOK_SECRET_SECRET,
    }),
    secretMaxAgeSeconds: (config) => config.PAGERDUTY_SECRET_MAX_AGE_SECONDS,
    client: ({ config, secrets }) =>
      new PagerDutyApi(
        pagerdutyApi.clientFromSettings(config, { credential: secrets.apiKey }),
        pagerdutyEvents.clientFromSettings(config, {}),
        {
          from: config.PAGERDUTY_FROM_EMAIL,
          routingKey: () => readCredential(secrets.routingKey, 'PagerDuty routing key'),
        },
      ),
    services: async ({ config, secrets }) => ({
      webhooks: {
        secret: secrets.webhook,
        receiving: await eventReceivingFromConfig('PAGERDUTY', config, 'pagerduty'),
        maxAgeSeconds: config.PAGERDUTY_WEBHOOK_MAX_AGE_SECONDS,
      } satisfies PagerDutyWebhookReceiver,
    }),
  },
  operations: (op) => ({
    'create-incident': op({
      effect: 'write',
      description: 'Opens an incident on a service (REST API v2, as PAGERDUTY_FROM_EMAIL); sent once',
      input: CreateIncidentInput,
      output: Incident,
      run: (input, { client }) => client.createIncident(input),
    }),
    'get-incident': op({
      description: 'Reads one incident',
      input: IncidentRef,
      output: Incident,
      run: (input, { client }) => client.getIncident(input),
    }),
    'acknowledge-incident': op({
      effect: 'write',
      description: 'Acknowledges an incident (already acknowledged or resolved is no error)',
      input: IncidentRef,
      output: Incident,
      run: (input, { client }) => client.setIncidentStatus(input, 'acknowledged'),
    }),
    'resolve-incident': op({
      effect: 'write',
      description: 'Resolves an incident (already resolved is no error)',
      input: IncidentRef,
      output: Incident,
      run: (input, { client }) => client.setIncidentStatus(input, 'resolved'),
    }),
    'list-incidents': op({
      description:
        'Lists one page of incidents, by status, service, time and incident key; nextCursor reads on',
      input: ListIncidentsInput,
      output: IncidentPage,
      run: (input, { client }) => client.listIncidents(input),
    }),
    'list-oncalls': op({
      description: 'Who is on call, by escalation policy or schedule, with their email',
      input: ListOncallsInput,
      output: OncallPage,
      run: (input, { client }) => client.listOncalls(input),
    }),
    'list-contact-methods': op({
      description: 'How to reach a user (SMS, phone, email, push), with their SMS number in E.164',
      input: ContactMethodsInput,
      output: ContactMethods,
      run: (input, { client }) => client.listContactMethods(input),
    }),
    'trigger-alert': op({
      effect: 'write',
      description: 'Triggers an alert (Events API v2); the dedup key groups repeats into one alert',
      input: TriggerAlertInput,
      output: EventOutput,
      run: (input, { client }) => client.sendEvent('trigger', input),
    }),
    'acknowledge-alert': op({
      effect: 'write',
      description: 'Acknowledges the alert with this dedup key (Events API v2)',
      input: AlertRef,
      output: EventOutput,
      run: (input, { client }) => client.sendEvent('acknowledge', input),
    }),
    'resolve-alert': op({
      effect: 'write',
      description: 'Resolves the alert with this dedup key (Events API v2)',
      input: AlertRef,
      output: EventOutput,
      run: (input, { client }) => client.sendEvent('resolve', input),
    }),
  }),
  routes: (route) => [
    route({
      method: 'POST',
      path: '/pagerduty/webhook',
      auth: 'signature',
      description: 'Receives PagerDuty webhooks v3 (X-PagerDuty-Signature) and hands accepted events on',
      handle: (request, { services, logger }) => receivePagerDutyWebhook(request, services.webhooks, logger),
    }),
  ],
  healthCheck: ({ client }) => client.ping(),
});

/** The Lambda entry point for every trigger. */
export const handler = connector.handler;
