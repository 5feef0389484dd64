/**
 * What the running stack says about itself: the `/health` report (functions, routes, queues with their
 * mappings, schedules, state machines, stores) and the local control routes of the AWS endpoint
 * (`GET /_local/health`, `POST /_local/schedules/<function or state machine>`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LocalFunction } from './config/model.ts';
import type { FunctionProcess } from './functions/function-process.ts';
import type { EventSourceMapping } from './queues/event-source-mapping.ts';
import type { QueueEngine } from './queues/queue-engine.ts';
import { ScheduleIndexError, type Scheduler } from './schedules/scheduler.ts';
import type { StepFunctionsEngine } from './workflows/step-functions.ts';

/** A port the stack listens on; every HTTP one sits behind the Host/Origin gate (guard.ts). */
export interface Listener {
  name: string;
  url: string;
  protocol: 'http' | 'postgresql';
}

/** What a connector talks to: a SaaS sandbox, an embedded engine, the machine's server, the real provider. */
export interface ConnectorReach {
  connector: string;
  kind: 'sandbox' | 'embedded' | 'machine' | 'real' | 'configured';
  target: string;
  note?: string;
}

/** Everything the report describes. */
export interface ReportSources {
  apiUrl: string;
  awsUrl: string;
  listeners: Listener[];
  functions: LocalFunction[];
  processes: FunctionProcess[];
  queues: QueueEngine;
  mappings: EventSourceMapping[];
  scheduler: Scheduler;
  workflows: StepFunctionsEngine;
  stores: Record<string, string>;
  connectors: ConnectorReach[];
}

function queueReport(sources: ReportSources): Record<string, unknown>[] {
  return sources.queues.list().map((queue) => {
    const redrive = queue.redrivePolicy;
    return {
      name: queue.name,
      url: queue.url,
      arn: queue.arn,
      visibilityTimeoutSeconds: queue.visibilityTimeoutSeconds,
      ...queue.counts(),
      ...(redrive === undefined
        ? {}
        : {
            deadLetterQueue: redrive.deadLetterTargetArn.split(':').pop(),
            maxReceiveCount: redrive.maxReceiveCount,
          }),
      mappings: sources.mappings
        .filter((mapping) => mapping.queue === queue)
        .map((mapping) => ({
          function: mapping.spec.functionKey,
          batchSize: mapping.spec.batchSize,
          batchingWindowSeconds: mapping.spec.batchingWindowSeconds,
          reportBatchItemFailures: mapping.spec.reportBatchItemFailures,
          ...mapping.stats,
        })),
    };
  });
}

/**
 * The `/health` report.
 *
 * @example
 * ```ts
 * const report = healthReport(sources); // { status: 'ok', functions: [...], routes: [...], ... }
 * ```
 */
export function healthReport(sources: ReportSources): Record<string, unknown> {
  return {
    status: sources.processes.every((fn) => fn.state === 'ready') ? 'ok' : 'degraded',
    api: sources.apiUrl,
    aws: sources.awsUrl,
    listeners: sources.listeners,
    functions: sources.processes.map((fn) => ({
      function: fn.spec.key,
      name: fn.spec.name,
      arn: fn.spec.arn,
      state: fn.state,
      ...(fn.initError === undefined ? {} : { initError: fn.initError }),
      timeoutSeconds: fn.spec.timeoutSeconds,
    })),
    routes: sources.functions.flatMap((fn) =>
      fn.routes.map((route) => ({
        function: fn.key,
        method: route.method,
        path: route.path,
        auth:
          route.jwt !== undefined
            ? `JWT authorizer ${route.jwt.authorizer.name}`
            : route.authorized
              ? 'local API key'
              : 'open',
      })),
    ),
    queues: queueReport(sources),
    schedules: sources.scheduler.describe(),
    stateMachines: sources.workflows
      .machines()
      .map((machine) => ({ name: machine.name, arn: machine.arn, type: machine.type })),
    stores: sources.stores,
    connectors: sources.connectors,
  };
}

/**
 * The control routes under `/_local/` on the AWS endpoint, for the CLI scripts.
 *
 * @example
 * ```ts
 * services.control = controlRoutes({ health: () => healthReport(sources), scheduler });
 * ```
 */
export function controlRoutes(sources: {
  health: () => unknown;
  scheduler: Scheduler;
}): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const reply = (status: number, body: unknown): true => {
      const text = JSON.stringify(body);
      res.writeHead(status, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(text),
      });
      res.end(text);
      return true;
    };
    if (req.method === 'GET' && url.pathname === '/_local/health') return reply(200, sources.health());
    const fire = /^\/_local\/schedules\/([\w-]+)$/.exec(url.pathname);
    if (req.method !== 'POST' || fire?.[1] === undefined) return false;
    const index = url.searchParams.get('index');
    try {
      const fired = await sources.scheduler.fire(fire[1], index === null ? undefined : Number(index));
      return reply(200, { target: fire[1], fired });
    } catch (error) {
      if (!(error instanceof ScheduleIndexError)) throw error;
      return reply(400, { message: error.message, target: fire[1], count: error.count, index: error.index });
    }
  };
}
