/**
 * The local AWS IoT data plane's shadow rules (`scripts/local/aws/iot-data.ts`), called as the AWS
 * endpoint calls it, with a broker that records what would be published: null deletes a key or clears a
 * section, metadata follows, delta and its topic only when desired still differs, nesting and size
 * limits, the version a deleted shadow keeps, paging, and the MQTT 5 properties a Publish carries.
 */
import type { IClientPublishOptions } from 'mqtt';
import { describe, expect, it } from 'vitest';
import { type IotBroker, IotDataPlane, iotDataService } from '../../scripts/local/aws/iot-data.ts';

function world() {
  const sent: { topic: string; payload: string; options: IClientPublishOptions }[] = [];
  const broker: IotBroker = {
    publish: async (topic, payload, options) => {
      sent.push({ topic, payload: payload.toString('utf8'), options });
    },
  };
  const service = iotDataService(new IotDataPlane({ broker }));
  const call = (method: string, path: string, body?: unknown, query = '', headers = new Headers()) =>
    service({
      method,
      path,
      query: new URLSearchParams(query),
      body: Buffer.from(body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body)),
      headers,
    });
  return { sent, call };
}

describe('Local stack: AWS IoT data plane', () => {
  it('merges updates as the shadow service does: null deletes a key, a null section clears it', async () => {
    // Prepare
    const { sent, call } = world();
    await call('POST', '/things/lamp/shadow', {
      state: { desired: { power: 'on', color: { r: 1, g: 2 } }, reported: { power: 'off' } },
    });
    // Act
    await call('POST', '/things/lamp/shadow', {
      state: { desired: { color: { g: null } }, reported: { power: 'on' } },
    });
    const merged = (await call('GET', '/things/lamp/shadow')).body as Record<string, unknown>;
    await call('POST', '/things/lamp/shadow', { state: { desired: null } });
    const cleared = (await call('GET', '/things/lamp/shadow')).body as Record<string, unknown>;
    // Assess
    expect(merged).toMatchObject({
      version: 2,
      state: {
        desired: { power: 'on', color: { r: 1 } },
        reported: { power: 'on' },
        delta: { color: { r: 1 } },
      },
    });
    expect(cleared).toMatchObject({ version: 3, state: { reported: { power: 'on' } } });
    expect(cleared['state']).not.toHaveProperty('desired');
    expect(cleared['metadata']).not.toHaveProperty('desired');
    expect(sent.filter((message) => message.topic === '$aws/things/lamp/shadow/update/delta')).toHaveLength(
      2,
    );
  });

  it('refuses what the service refuses: no state, bad JSON, deep nesting, 8 KB, a bad version, wrong names', async () => {
    // Prepare
    const { call } = world();
    const deep = { a: { b: { c: { d: { e: { f: { g: 1 } } } } } } };
    const refused = async (method: string, path: string, body?: unknown, query?: string) =>
      call(method, path, body, query).then(
        () => undefined,
        (error: { type: string; status: number }) => `${error.status} ${error.type}`,
      );
    // Act / Assess
    expect(await refused('POST', '/things/t/shadow', { desired: {} })).toBe('400 InvalidRequestException');
    expect(await refused('POST', '/things/t/shadow', '{nope')).toBe('400 InvalidRequestException');
    expect(await refused('POST', '/things/t/shadow', { state: { desired: deep } })).toBe(
      '400 InvalidRequestException',
    );
    expect(await refused('POST', '/things/t/shadow', { state: { reported: 'x' } })).toBe(
      '400 InvalidRequestException',
    );
    expect(await refused('POST', '/things/t/shadow', { state: { reported: { x: 'y'.repeat(8_200) } } })).toBe(
      '413 RequestEntityTooLargeException',
    );
    expect(await refused('POST', '/things/t/shadow', { state: { reported: {} }, version: 'one' })).toBe(
      '400 InvalidRequestException',
    );
    expect(await refused('POST', '/things/t/shadow', { state: { reported: {} }, version: 1 })).toBe(
      '409 ConflictException',
    );
    expect(await refused('GET', '/things/bad%20name/shadow')).toBe('400 InvalidRequestException');
    expect(await refused('GET', '/things/t/shadow', undefined, 'name=bad%20name')).toBe(
      '400 InvalidRequestException',
    );
    expect(await refused('PUT', '/things/t/shadow')).toBe('405 MethodNotAllowedException');
    expect(await refused('GET', '/nowhere')).toBe('404 UnknownOperationException');
    expect(
      await refused('GET', '/api/things/shadow/ListNamedShadowsForThing/t', undefined, 'pageSize=0'),
    ).toBe('400 InvalidRequestException');
    expect(
      await refused('GET', '/api/things/shadow/ListNamedShadowsForThing/t', undefined, 'nextToken=LTE'),
    ).toBe('400 InvalidRequestException');
  });

  it('drops the metadata of a key an update deletes with null', async () => {
    // Prepare
    const { call } = world();
    await call('POST', '/things/m/shadow', { state: { desired: { a: 1, b: 2, nested: { x: 1, y: 2 } } } });
    // Act
    await call('POST', '/things/m/shadow', { state: { desired: { a: null, nested: { x: null } } } });
    const read = (await call('GET', '/things/m/shadow')).body as {
      metadata: { desired: Record<string, unknown> };
    };
    // Assess
    expect(read.metadata.desired).not.toHaveProperty('a');
    expect(read.metadata.desired).toHaveProperty('b.timestamp');
    expect(read.metadata.desired['nested']).not.toHaveProperty('x');
    expect(read.metadata.desired).toHaveProperty('nested.y.timestamp');
  });

  it('binds a nextToken to the thing it was issued for and refuses one it never issued', async () => {
    // Prepare
    const { call } = world();
    for (const name of ['a', 'b', 'c']) {
      await call('POST', '/things/pgthing/shadow', { state: { reported: { ok: 1 } } }, `name=${name}`);
      await call('POST', '/things/other/shadow', { state: { reported: { ok: 1 } } }, `name=${name}`);
    }
    const list = (thing: string, query: string) =>
      call('GET', `/api/things/shadow/ListNamedShadowsForThing/${thing}`, undefined, query).then(
        (answer) => answer.body as { results: string[]; nextToken?: string },
        (error: { type: string; status: number }) => `${error.status} ${error.type}`,
      );
    const first = (await list('pgthing', 'pageSize=1')) as { nextToken: string };
    const token = encodeURIComponent(first.nextToken);
    // Act
    const same = await list('pgthing', `pageSize=1&nextToken=${token}`);
    const other = await list('other', `pageSize=1&nextToken=${token}`);
    const forged = await list('pgthing', `nextToken=${Buffer.from('1').toString('base64url')}`);
    // Assess
    expect(same).toMatchObject({ results: ['b'] });
    expect(other).toBe('400 InvalidRequestException');
    expect(forged).toBe('400 InvalidRequestException');
  });

  it('refuses a publish AWS IoT refuses: over 128 KB (413), a control character or more than 7 slashes in the topic', async () => {
    // Prepare
    const { sent, call } = world();
    const status = (path: string, body: string) =>
      call('POST', path, body).then(
        () => '200',
        (error: { type: string; status: number }) => `${error.status} ${error.type}`,
      );
    // Act / Assess
    expect(await status('/topics/devices%2Fbig', 'x'.repeat(131_073))).toBe(
      '413 RequestEntityTooLargeException',
    );
    expect(await status('/topics/devices%2Flimit', 'x'.repeat(131_072))).toBe('200');
    expect(await status('/topics/devices%2Fx%00y', 'x')).toBe('400 InvalidRequestException');
    expect(await status('/topics/devices%2Fx%0Ay', 'x')).toBe('400 InvalidRequestException');
    expect(await status(`/topics/${encodeURIComponent('devices/a/b/c/d/e/f/g/h')}`, 'x')).toBe(
      '400 InvalidRequestException',
    );
    expect(await status(`/topics/${encodeURIComponent('devices/a/b/c/d/e/f/g')}`, 'x')).toBe('200');
    expect(await status(`/topics/${encodeURIComponent('$aws/rules/r/a/b/c/d/e/f/g/h')}`, 'x')).toBe('200');
    expect(sent.map((message) => message.topic)).toEqual([
      'devices/limit',
      'devices/a/b/c/d/e/f/g',
      '$aws/rules/r/a/b/c/d/e/f/g/h',
    ]);
  });

  it('keeps the version of a deleted shadow and starts again from it', async () => {
    // Prepare
    const { sent, call } = world();
    await call('POST', '/things/t/shadow', { state: { reported: { a: 1 } } }, 'name=n');
    await call('POST', '/things/t/shadow', { state: { reported: { a: 2 } } }, 'name=n');
    // Act
    const deleted = (await call('DELETE', '/things/t/shadow', undefined, 'name=n')).body;
    const again = (await call('POST', '/things/t/shadow', { state: { reported: { a: 3 } } }, 'name=n')).body;
    // Assess
    expect(deleted).toMatchObject({ version: 2 });
    expect(again).toMatchObject({ version: 3 });
    expect(sent.map((message) => message.topic)).toContain('$aws/things/t/shadow/name/n/delete/accepted');
    const documents = sent.filter((message) => message.topic.endsWith('/update/documents')).at(-1);
    expect(JSON.parse(documents?.payload ?? '{}')).toMatchObject({ previous: null, current: { version: 3 } });
  });

  it('publishes with QoS, retain and the MQTT 5 properties from the query and headers', async () => {
    // Prepare
    const { sent, call } = world();
    const headers = new Headers({
      'x-amz-mqtt5-user-properties': Buffer.from(
        JSON.stringify([{ a: '1' }, { a: '2' }, { b: 'x' }]),
      ).toString('base64'),
      'x-amz-mqtt5-payload-format-indicator': 'UTF8_DATA',
    });
    // Act
    await call(
      'POST',
      '/topics/devices%2Fd%2Fcommands',
      'hi',
      'qos=1&retain=true&contentType=text%2Fplain&responseTopic=r&messageExpiry=60',
      headers,
    );
    const bad = await call('POST', '/topics/a%2F%2B', 'x').catch((error: { status: number }) => error.status);
    const qos2 = await call('POST', '/topics/a', 'x', 'qos=2').catch(
      (error: { status: number }) => error.status,
    );
    const badProps = await call(
      'POST',
      '/topics/a',
      'x',
      '',
      new Headers({ 'x-amz-mqtt5-user-properties': 'e30=' }),
    )
      .then(() => 200)
      .catch((error: { status: number }) => error.status);
    // Assess
    expect(sent[0]).toEqual({
      topic: 'devices/d/commands',
      payload: 'hi',
      options: {
        qos: 1,
        retain: true,
        properties: {
          userProperties: { a: ['1', '2'], b: ['x'] },
          payloadFormatIndicator: true,
          contentType: 'text/plain',
          responseTopic: 'r',
          messageExpiryInterval: 60,
        },
      },
    });
    expect([bad, qos2, badProps]).toEqual([400, 400, 400]);
  });
});
