/**
 * The workflows of Circle Core (strategy layer 4): each one's name, definition file and what starts it.
 * `serverless.yml` deploys the same files (`stepFunctions.stateMachines.<name>.definition`).
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { type AslDefinition, AWS_PARTITION } from './asl.ts';

/** What starts a workflow. */
export type WorkflowTrigger =
  | 'github-webhook'
  | 'stripe-webhook'
  | 'pagerduty-webhook'
  | 'schedule'
  | 'on-demand'
  | 'event-rule';

/** One deployed state machine. */
export interface Workflow {
  /** The key under `stepFunctions.stateMachines` and the local state machine name. */
  name: string;
  /** The CloudFormation logical id (`id:` in serverless.yml), e.g. for `Ref` from a function's environment. */
  logicalId: string;
  trigger: WorkflowTrigger;
  summary: string;
}

/** Every workflow, in the order the README presents them. */
export const WORKFLOWS = [
  {
    name: 'issue-triage',
    logicalId: 'IssueTriageStateMachine',
    trigger: 'github-webhook',
    summary: 'An opened GitHub issue: raw event archived to S3, row upserted into PostgreSQL, Slack message',
  },
  {
    name: 'issue-label',
    logicalId: 'IssueLabelStateMachine',
    trigger: 'on-demand',
    summary:
      'The issue-triage variant: a model (OpenAI, Anthropic or Bedrock, chosen by input) labels a GitHub issue with a structured output; the validated labels are added to it',
  },
  {
    name: 'nightly-export',
    logicalId: 'NightlyExportStateMachine',
    trigger: 'schedule',
    summary: 'github_issues paged into NDJSON parts on S3, a presigned manifest link and a Slack summary',
  },
  {
    name: 'broadcast',
    logicalId: 'BroadcastStateMachine',
    trigger: 'on-demand',
    summary: 'One text posted to many Slack channels; delivered and failed channels reported',
  },
  {
    name: 'incident-response',
    logicalId: 'IncidentResponseStateMachine',
    trigger: 'pagerduty-webhook',
    summary:
      'An alert triggered, acknowledged or resolved on PagerDuty (dedup key), the on-call person texted via Twilio, a Jira or GitLab issue found by label or opened, closed on resolve, and Slack or Teams told; a redelivery repeats nothing, a provider that fails is reported',
  },
  {
    name: 'order-fulfilment',
    logicalId: 'OrderFulfilmentStateMachine',
    trigger: 'stripe-webhook',
    summary:
      'A Stripe payment marks the Shopify order paid and fulfils it, emails the receipt (SES) and tells Slack; a full refund cancels the order; nothing twice',
  },
  {
    name: 'object-mirror',
    logicalId: 'ObjectMirrorStateMachine',
    trigger: 'on-demand',
    summary:
      "An S3 object copied to Azure Blob and GCS, each copy's etag recorded in DynamoDB; a store that is down is reported, not fatal",
  },
  {
    name: 'issue-fanout',
    logicalId: 'IssueFanoutStateMachine',
    trigger: 'event-rule',
    summary:
      'An issue-opened event routed by an EventBridge rule, triaged by label and fanned out via SNS (to SQS) and RabbitMQ',
  },
  {
    name: 'rag-ingest',
    logicalId: 'RagIngestStateMachine',
    trigger: 'on-demand',
    summary:
      'Documents in S3 chunked with overlap, embedded in batches and upserted into a vector store; a re-run writes nothing',
  },
  {
    name: 'rag-answer',
    logicalId: 'RagAnswerStateMachine',
    trigger: 'on-demand',
    summary:
      'A question embedded, the closest passages queried, and a chat answer citing the passage ids it used',
  },
  {
    name: 'telemetry-alert',
    logicalId: 'TelemetryAlertStateMachine',
    trigger: 'on-demand',
    summary:
      'A device reading checked against threshold rules kept in S3: recorded as a FHIR Observation or a warehouse row, a breach paged on PagerDuty once per window',
  },
  {
    name: 'warehouse-load',
    logicalId: 'WarehouseLoadStateMachine',
    trigger: 'schedule',
    summary:
      'New CSV and NDJSON objects under a prefix mapped with JSONata and copied into PostgreSQL (COPY), each checked with a DuckDB count; a report in S3 and a Slack summary; a failed object does not stop the others, a rerun loads nothing new',
  },
] as const satisfies readonly Workflow[];

export type WorkflowName = (typeof WORKFLOWS)[number]['name'];

/**
 * The absolute path of a workflow's definition (`shared/workflows/<name>.asl.json`).
 *
 * @example
 * ```ts
 * definitionFile('broadcast'); // '/repo/shared/workflows/broadcast.asl.json'
 * ```
 */
export function definitionFile(name: WorkflowName): string {
  return fileURLToPath(new URL(`./${name}.asl.json`, import.meta.url));
}

/**
 * Reads a workflow's definition as deployed: ASL whose `FunctionName` values are CloudFormation
 * `Fn::GetAtt` references to the connector functions and whose task resources name the partition as
 * `${AWS::Partition}` (serverless-step-functions turns the definition into an `Fn::Sub` template, and the
 * local stack resolves both the same way; {@link inPartition} does the second for tools that run it).
 *
 * @example
 * ```ts
 * const definition = await loadDefinition('issue-triage');
 * definition.StartAt; // 'Route'
 * ```
 */
export async function loadDefinition(name: WorkflowName): Promise<AslDefinition> {
  return JSON.parse(await readFile(definitionFile(name), 'utf8')) as AslDefinition;
}

/**
 * The definition with `${AWS::Partition}` replaced, as CloudFormation's `Fn::Sub` does on deploy: what
 * asl-validator and the local runner need (they take only literal ARNs).
 *
 * @example
 * ```ts
 * const definition = inPartition(await loadDefinition('broadcast'));
 * definition.States['Deliver']; // ... "Resource": "arn:aws:states:::lambda:invoke"
 * ```
 */
export function inPartition(definition: AslDefinition, partition = 'aws'): AslDefinition {
  return JSON.parse(JSON.stringify(definition).replaceAll(AWS_PARTITION, partition)) as AslDefinition;
}
