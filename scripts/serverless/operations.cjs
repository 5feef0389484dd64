'use strict';
// What an operator needs from every stack, derived from the compiled template so that a new connector,
// queue or workflow gets it without anyone remembering to add it (settings: `custom.alarmTopicArn` and
// `custom.handOffMaxAgeSeconds` in serverless.yml; README: Operating a stage):
// - CloudWatch alarms to one SNS topic (`alarmTopicArn`, or a topic this stack creates and outputs as
//   AlarmTopicArn): every function's Errors and Throttles (one metric-math alarm each), every dead-letter queue's depth above 0, every
//   state machine's failed and timed-out executions, and the age of the oldest message in every queue no
//   function consumes (the hand-off queues other services read);
// - outputs an operator looks up: every queue's URL (`<Queue>Url`) and every bucket's name
//   (`<Bucket>Name`), beside osls's HttpApiUrl and the state machines' `<StateMachine>Arn`;
// - an explicit DeletionPolicy and UpdateReplacePolicy (Delete) on the log groups and the deployment
//   bucket osls generates: their names are fixed, so a retained copy would block creating the stack again
//   (what must survive a removal says Retain in its own definition).

const PERIOD_SECONDS = 300;

function hasType(type) {
  return ([, resource]) => resource.Type === type;
}

function getAtt(value) {
  const target = value?.['Fn::GetAtt'];
  return Array.isArray(target) ? target[0] : undefined;
}

function redrive(queue) {
  const policy = queue.Properties?.RedrivePolicy;
  return typeof policy === 'string' ? JSON.parse(policy) : policy;
}

class Operations {
  constructor(serverless) {
    this.serverless = serverless;
    // After osls merged serverless.yml's own resources into the template, before it writes the template.
    this.hooks = { 'before:aws:package:finalize:saveServiceState': () => this.apply() };
  }

  apply() {
    const service = this.serverless.service;
    const template = service.provider.compiledCloudFormationTemplate;
    const settings = service.custom ?? {};
    const prefix = `${service.service}-${service.provider.stage}`;
    const topic = this.alarmTopic(template, settings, prefix);
    const alarms = [
      ...this.functionAlarms(template),
      ...this.queueAlarms(template, settings),
      ...this.stateMachineAlarms(template),
    ];
    for (const { id, name, description, metric } of alarms) {
      template.Resources[id] = {
        Type: 'AWS::CloudWatch::Alarm',
        Properties: {
          AlarmName: `${prefix}-${name}`,
          AlarmDescription: description,
          ComparisonOperator: 'GreaterThanThreshold',
          EvaluationPeriods: 1,
          TreatMissingData: 'notBreaching',
          AlarmActions: [topic],
          OKActions: [topic],
          ...metric,
        },
      };
    }
    this.outputs(template);
    this.removalPolicies(template);
    this.serverless.cli.log(
      `Operations: ${alarms.length} alarms to ${typeof topic === 'string' ? topic : 'AlarmTopic'}, queue and bucket outputs.`,
    );
  }

  /** The configured topic ARN, or a topic of this stack (output as AlarmTopicArn). */
  alarmTopic(template, settings, prefix) {
    const configured = typeof settings.alarmTopicArn === 'string' ? settings.alarmTopicArn.trim() : '';
    if (configured !== '') return configured;
    // Not encrypted with the AWS managed SNS key: CloudWatch cannot publish to a topic under that key (its
    // policy cannot grant it); name a topic of your own (with a customer managed key) in alarmTopicArn.
    template.Resources.AlarmTopic = {
      Type: 'AWS::SNS::Topic',
      Properties: { TopicName: `${prefix}-alarms`, DisplayName: `${prefix} alarms` },
    };
    template.Outputs.AlarmTopicArn = {
      Description: 'SNS topic the stack alarms notify: subscribe to it (email, chat, paging)',
      Value: { Ref: 'AlarmTopic' },
    };
    return { Ref: 'AlarmTopic' };
  }

  functionAlarms(template) {
    // One alarm per function on errors and throttles together (metric math), as for state machines: one
    // CloudFormation resource each, not two, which keeps the single stack under its 500-resource limit.
    return Object.entries(template.Resources)
      .filter(hasType('AWS::Lambda::Function'))
      .map(([id]) => {
        const base = id.replace(/LambdaFunction$/, '');
        const query = (name) => ({
          Id: name.toLowerCase(),
          ReturnData: false,
          MetricStat: {
            Metric: {
              Namespace: 'AWS/Lambda',
              MetricName: name,
              Dimensions: [{ Name: 'FunctionName', Value: { Ref: id } }],
            },
            Period: PERIOD_SECONDS,
            Stat: 'Sum',
          },
        });
        return {
          id: `${base}ErrorsAlarm`,
          name: `${base}-errors`,
          description: `${base}: invocations failed (an unhandled error, a timeout, or a task's thrown error) or were throttled (concurrency limits)`,
          metric: {
            Threshold: 0,
            Metrics: [
              query('Errors'),
              query('Throttles'),
              {
                Id: 'errorsOrThrottles',
                Expression: 'FILL(errors, 0) + FILL(throttles, 0)',
                Label: 'failed or throttled invocations',
                ReturnData: true,
              },
            ],
          },
        };
      });
  }

  queueAlarms(template, settings) {
    const queues = Object.entries(template.Resources).filter(hasType('AWS::SQS::Queue'));
    const deadLetter = new Set(queues.map(([, queue]) => getAtt(redrive(queue)?.deadLetterTargetArn)));
    const consumed = new Set(
      Object.values(template.Resources)
        .filter((resource) => resource.Type === 'AWS::Lambda::EventSourceMapping')
        .map((mapping) => getAtt(mapping.Properties.EventSourceArn)),
    );
    const maxAge = Number(settings.handOffMaxAgeSeconds ?? 3600);
    const metric = (id, name, statistic, threshold) => ({
      Namespace: 'AWS/SQS',
      MetricName: name,
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [id, 'QueueName'] } }],
      Statistic: statistic,
      Period: PERIOD_SECONDS,
      Threshold: threshold,
    });
    return queues.flatMap(([id]) => {
      if (deadLetter.has(id)) {
        return [
          {
            id: `${id}DepthAlarm`,
            name: `${id}-depth`,
            description: `${id}: messages are parked here (read their errorName/errorMessage attributes, then npm run redrive)`,
            metric: metric(id, 'ApproximateNumberOfMessagesVisible', 'Maximum', 0),
          },
        ];
      }
      if (consumed.has(id)) return [];
      return [
        {
          id: `${id}AgeAlarm`,
          name: `${id}-age`,
          description: `${id}: no consumer has read the oldest message for over ${maxAge} s (a hand-off queue: is its reader running?)`,
          metric: metric(id, 'ApproximateAgeOfOldestMessage', 'Maximum', maxAge),
        },
      ];
    });
  }

  stateMachineAlarms(template) {
    return Object.entries(template.Resources)
      .filter(hasType('AWS::StepFunctions::StateMachine'))
      .map(([id]) => {
        const query = (name) => ({
          Id: name.charAt(0).toLowerCase() + name.slice(1),
          ReturnData: false,
          MetricStat: {
            Metric: {
              Namespace: 'AWS/States',
              MetricName: name,
              Dimensions: [{ Name: 'StateMachineArn', Value: { Ref: id } }],
            },
            Period: PERIOD_SECONDS,
            Stat: 'Sum',
          },
        });
        return {
          id: `${id}FailedAlarm`,
          name: `${id}-failed`,
          description: `${id}: executions failed or timed out (its log group and execution history say why)`,
          metric: {
            Threshold: 0,
            Metrics: [
              query('ExecutionsFailed'),
              query('ExecutionsTimedOut'),
              {
                Id: 'failedOrTimedOut',
                Expression: 'FILL(executionsFailed, 0) + FILL(executionsTimedOut, 0)',
                Label: 'failed or timed-out executions',
                ReturnData: true,
              },
            ],
          },
        };
      });
  }

  outputs(template) {
    for (const [id] of Object.entries(template.Resources).filter(hasType('AWS::SQS::Queue'))) {
      template.Outputs[`${id}Url`] = { Description: `${id} URL`, Value: { Ref: id } };
    }
    for (const [id] of Object.entries(template.Resources).filter(hasType('AWS::S3::Bucket'))) {
      if (template.Outputs[`${id}Name`] !== undefined) continue;
      template.Outputs[`${id}Name`] = { Description: `${id} name`, Value: { Ref: id } };
    }
  }

  removalPolicies(template) {
    for (const [id, resource] of Object.entries(template.Resources)) {
      const generated = resource.Type === 'AWS::Logs::LogGroup' || id === 'ServerlessDeploymentBucket';
      if (!generated || resource.DeletionPolicy !== undefined) continue;
      resource.DeletionPolicy = 'Delete';
      resource.UpdateReplacePolicy = 'Delete';
    }
  }
}

module.exports = Operations;
