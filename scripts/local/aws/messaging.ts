/**
 * The stack's SNS topics and EventBridge buses from serverless.yml: topics and subscriptions, buses and
 * rules with their targets, delivering into the queue engine, to functions (by ARN) and to state machines.
 * What cannot be created is a warning, not a stop. The endpoint's `services` get SNS and EventBridge.
 */
import type { LocalModel } from '../config/model.ts';
import { LOCAL_ACCOUNT_ID } from '../config/model.ts';
import type { InvokeOutcome } from '../functions/function-process.ts';
import type { StackLog } from '../log.ts';
import type { QueueEngine } from '../queues/queue-engine.ts';
import { EventBuses, eventBridgeService } from './eventbridge.ts';
import type { AwsServices } from './server.ts';
import { SnsTopics, snsService } from './sns.ts';

/** What deliveries reach besides queues. */
export interface MessagingTargets {
  invoke: (nameOrArn: string, event: unknown) => Promise<InvokeOutcome | undefined>;
  log: StackLog;
}

/**
 * Creates the topics, subscriptions, buses and rules of the model.
 *
 * @example
 * ```ts
 * const { topics, buses } = startMessaging(model, engine, services, { invoke, log });
 * ```
 */
export function startMessaging(
  model: LocalModel,
  engine: QueueEngine,
  services: AwsServices,
  targets: MessagingTargets,
): { topics: SnsTopics; buses: EventBuses } {
  const { log } = targets;
  const invoke = async (arn: string, event: unknown) => {
    const outcome = await targets.invoke(arn, event);
    if (outcome === undefined) throw new Error(`no function ${arn}`);
    if (outcome.error !== undefined)
      throw new Error(`${outcome.error.errorType}: ${outcome.error.errorMessage}`);
    return outcome;
  };
  const topics = new SnsTopics({
    region: model.region,
    accountId: LOCAL_ACCOUNT_ID,
    deliveries: {
      queues: engine,
      invoke,
      onDeliveryFailure: (subscription, reason) =>
        log.warn('sns delivery failed', { subscription: subscription.arn, reason }),
    },
  });
  const buses = new EventBuses({
    region: model.region,
    accountId: LOCAL_ACCOUNT_ID,
    targets: {
      queues: engine,
      invoke,
      // Through the endpoint's own Step Functions service, which exists once the state machines are loaded.
      startExecution: (arn, input) => {
        if (services.stepFunctions === undefined) throw new Error('the state machines are not loaded yet');
        return services.stepFunctions({ operation: 'StartExecution', body: { stateMachineArn: arn, input } });
      },
      publish: (arn, message) => topics.publish(arn, { message, attributes: {} }),
      onDeliveryFailure: (rule, target, reason) =>
        log.warn('eventbridge delivery failed', { rule: rule.name, target: target.Id, reason }),
    },
  });
  const attempt = (what: string, create: () => unknown): void => {
    try {
      create();
    } catch (error) {
      log.warn(`${what} not created`, { error: (error as Error).message });
    }
  };
  for (const topic of model.topics)
    attempt(`topic ${topic.name}`, () => topics.create(topic.name, topic.attributes));
  for (const sub of model.subscriptions) {
    attempt(`subscription of ${sub.endpoint}`, () =>
      topics.subscribe(sub.topicArn, sub.protocol, sub.endpoint, sub.attributes),
    );
  }
  for (const bus of model.eventBuses) attempt(`event bus ${bus}`, () => buses.createBus(bus));
  for (const rule of model.rules) {
    attempt(`rule ${rule.name}`, () => {
      const body: Record<string, unknown> = { Name: rule.name, EventBusName: rule.bus, State: rule.state };
      if (rule.eventPattern === undefined) return;
      body['EventPattern'] = rule.eventPattern;
      buses.putRule(body);
      if (rule.targets.length > 0) buses.putTargets(rule.name, rule.bus, rule.targets);
    });
  }
  services.sns = snsService(topics);
  services.events = eventBridgeService(buses);
  return { topics, buses };
}
