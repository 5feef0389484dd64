/**
 * Connection reuse: sequential calls to one host through the core's `HttpClient`, as a connector makes
 * them across invocations. The client counts the sockets it opened; the parent's server counts too.
 */
import { HttpClient } from '@circle-core/core';
import { readTask, reply } from './lambda.ts';
import type { ConnectionsResult, ConnectionsTask } from './protocol.ts';

const task = readTask<ConnectionsTask>();
const client = new HttpClient({ provider: 'Bench', baseUrl: task.url });
let failures = 0;
for (let call = 0; call < task.calls; call += 1) {
  try {
    const response = await client.request({ method: 'GET', path: '/items/1' });
    if (response.status !== 200) failures += 1;
  } catch {
    failures += 1;
  }
}
const result: ConnectionsResult = { ...client.stats, failures };
client.close();
reply(result);
