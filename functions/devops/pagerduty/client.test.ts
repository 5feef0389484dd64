/**
 * PagerDutyApi against the PagerDuty contract fake, for what the connector tests leave out: assignments and
 * escalation policies on create, every optional field of an alert, and the error mapping of 400 bodies.
 */
import { resetCircuitBreakers, ValidationError } from '@circle-core/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeServer } from '../../../scripts/local/sandboxes/kit/index.ts';
import {
  PAGERDUTY_SANDBOX_FROM,
  PAGERDUTY_SANDBOX_ROUTING_KEY,
  PAGERDUTY_SANDBOX_TOKEN,
  type PagerDutyFakeState,
  startPagerDutyFake,
} from '../../../scripts/local/sandboxes/pagerduty.ts';
import { inspectPagerDutyResponse, PagerDutyApi, pagerdutyApi, pagerdutyEvents } from './client.ts';

let fake: FakeServer<PagerDutyFakeState>;
let api: PagerDutyApi;

beforeAll(async () => {
  fake = await startPagerDutyFake();
  resetCircuitBreakers();
  api = new PagerDutyApi(
    pagerdutyApi.client({ baseUrl: fake.url, credential: PAGERDUTY_SANDBOX_TOKEN }),
    pagerdutyEvents.client({ baseUrl: fake.url }),
    { from: PAGERDUTY_SANDBOX_FROM, routingKey: async () => PAGERDUTY_SANDBOX_ROUTING_KEY },
  );
});

afterAll(async () => {
  api.close();
  await fake.close();
});

describe('Class: PagerDutyApi', () => {
  it('sends assignments and the escalation policy as references, one or the other', async () => {
    // Act
    const assigned = await api.createIncident({
      title: 'Assigned',
      serviceId: 'PWIXJZS',
      assigneeIds: ['PAM4FGS'],
    });
    const assignedBody = fake.logFor('create-incident').at(-1)?.body;
    await api.createIncident({ title: 'Escalated', serviceId: 'PWIXJZS', escalationPolicyId: 'PT20YPA' });
    const escalatedBody = fake.logFor('create-incident').at(-1)?.body;

    // Assess
    expect(assigned.assigneeIds).toEqual(['PAM4FGS']);
    expect(assignedBody).toMatchObject({
      incident: { assignments: [{ assignee: { id: 'PAM4FGS', type: 'user_reference' } }] },
    });
    expect(escalatedBody).toMatchObject({
      incident: { escalation_policy: { id: 'PT20YPA', type: 'escalation_policy_reference' } },
    });
  });

  it('refuses assigneeIds with escalationPolicyId before any call (PagerDuty takes one or the other)', async () => {
    // Prepare
    const before = fake.logFor('create-incident').length;

    // Act
    const error = await api
      .createIncident({
        title: 'Both',
        serviceId: 'PWIXJZS',
        escalationPolicyId: 'PT20YPA',
        assigneeIds: ['PAM4FGS'],
      })
      .catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues).toEqual([expect.objectContaining({ pointer: '/assigneeIds' })]);
    expect(fake.logFor('create-incident')).toHaveLength(before);
  });

  it('the fake answers an incident with both assignments and an escalation policy with a 400', async () => {
    // Act
    const response = await fetch(`${fake.url}/incidents`, {
      method: 'POST',
      headers: {
        authorization: `Token token=${PAGERDUTY_SANDBOX_TOKEN}`,
        accept: 'application/vnd.pagerduty+json;version=2',
        'content-type': 'application/json',
        from: PAGERDUTY_SANDBOX_FROM,
      },
      body: JSON.stringify({
        incident: {
          type: 'incident',
          title: 'Both',
          service: { id: 'PWIXJZS', type: 'service_reference' },
          escalation_policy: { id: 'PT20YPA', type: 'escalation_policy_reference' },
          assignments: [{ assignee: { id: 'PAM4FGS', type: 'user_reference' } }],
        },
      }),
    });

    // Assess
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: 2001 } });
  });

  it('refuses a title with CR, LF or another control character, and an incidentKey with one, before any call', async () => {
    // Prepare
    const before = fake.logFor('create-incident').length;
    const titles = ['Disk full\non db-1', 'Disk full\r', 'Disk\u0000full', 'Disk\tfull', 'bell\u007f'];
    const keys = ['db-1\u0000', 'db\n1', 'db-1\u001b'];

    // Act
    const byTitle = await Promise.all(
      titles.map((title) =>
        api.createIncident({ title, serviceId: 'PWIXJZS' }).catch((error: unknown) => error),
      ),
    );
    const byKey = await Promise.all(
      keys.map((incidentKey) =>
        api
          .createIncident({ title: 'Disk full', serviceId: 'PWIXJZS', incidentKey })
          .catch((error: unknown) => error),
      ),
    );

    // Assess
    for (const error of byTitle) {
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).issues).toEqual([expect.objectContaining({ pointer: '/title' })]);
    }
    for (const error of byKey) {
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).issues).toEqual([
        expect.objectContaining({ pointer: '/incidentKey' }),
      ]);
    }
    expect(fake.logFor('create-incident')).toHaveLength(before);
  });

  it("sends every optional field of an alert in PagerDuty's names", async () => {
    // Act
    await api.sendEvent('trigger', {
      summary: 'CPU high',
      source: 'web-1',
      severity: 'warning',
      dedupKey: 'cpu-web-1',
      component: 'nginx',
      group: 'web',
      class: 'cpu',
      timestamp: '2024-05-01T10:00:00Z',
    });

    // Assess
    expect(fake.logFor('enqueue').at(-1)?.body).toMatchObject({
      event_action: 'trigger',
      dedup_key: 'cpu-web-1',
      payload: { component: 'nginx', group: 'web', class: 'cpu', timestamp: '2024-05-01T10:00:00Z' },
    });
  });
});

describe('Times in the account time zone', () => {
  it("answers createdAt, start and end in UTC when PagerDuty renders them in the account's offset", async () => {
    // Arrange: PagerDuty renders times in the account time zone unless the request names time_zone.
    fake.state.accountOffset = '-05:00';
    const seeded = fake.state.incidents.find((incident) => incident.id === 'PT4KHLK');
    try {
      // Act
      const incident = await api.getIncident({ incidentId: 'PT4KHLK' });
      const listed = await api.listIncidents({ since: '2024-05-01T11:00:00+01:00', limit: 25 });
      const oncalls = await api.listOncalls({ scheduleIds: ['PI7DH85'], earliest: true, limit: 25 });
      const sentSince = fake.logFor('list-incidents').at(-1)?.query['since'];

      // Assess
      expect(fake.logFor('get-incident').at(-1)).toBeDefined();
      expect(incident.createdAt).toBe(seeded?.createdAt);
      expect(incident.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
      expect(listed.incidents.map((one) => one.createdAt)).toContain(seeded?.createdAt);
      expect(sentSince).toBe('2024-05-01T11:00:00+01:00');
      expect(oncalls.oncalls[0]).toMatchObject({
        start: '2024-05-06T09:00:00Z',
        end: '2099-05-13T09:00:00Z',
      });
    } finally {
      fake.state.accountOffset = '+00:00';
    }
  });
});

describe('Function: inspectPagerDutyResponse', () => {
  const response = (status: number, body: unknown) => ({
    status,
    headers: {},
    body,
    url: 'https://x/incidents',
  });

  it('shortens what PagerDuty said to 200 characters without cutting an emoji in half', () => {
    // Prepare: PagerDuty's errors may quote the input; an emoji straddles the 200th UTF-16 unit.
    const quoted = `${'a'.repeat(199)}${'🔥'.repeat(10)}`;
    // Act
    const error = inspectPagerDutyResponse(response(400, { error: { message: quoted, errors: [quoted] } }));
    // Assess
    expect(error?.message.isWellFormed()).toBe(true);
    expect(error?.message).toContain(`(${'a'.repeat(199)}…)`);
    expect((error as ValidationError).issues).toEqual([{ pointer: '', message: `${'a'.repeat(199)}…` }]);
  });

  it('leaves other statuses to the core, and reads either API body', () => {
    expect(inspectPagerDutyResponse(response(404, {}))).toBeUndefined();
    expect(inspectPagerDutyResponse(response(400, 'not json'))?.message).toBe(
      'PagerDuty refused the request (Invalid input)',
    );
    expect(inspectPagerDutyResponse(response(400, { message: 'Event object is invalid' }))?.name).toBe(
      'ValidationError',
    );
  });
});
