/**
 * SQS and Step Functions for the connectors' event sinks, behind the API the hand-written fake had: now
 * the local stack's own endpoint (`test/peers/aws-endpoint.ts` over its queue and Step Functions engines),
 * spoken to by the real SDK clients through `AWS_ENDPOINT_URL_SQS` / `AWS_ENDPOINT_URL_SFN`. As the fake
 * did, it accepts any queue URL or state machine ARN of account 123456789012 (creating the queue, or a
 * one-state `Succeed` machine, on first use); Step Functions refuses a second execution with the same name
 * (`ExecutionAlreadyExists`), as the service does once the first has ended. New tests can use
 * `startAwsEndpointPeer` with declared queues and machines.
 */
import { type AwsCall, startAwsEndpointPeer } from '../peers/aws-endpoint.ts';

/** One call. */
export type AwsJsonCall = AwsCall;

export interface AwsJsonFake {
  endpoint: string;
  /** Successful calls, in order. */
  calls: AwsJsonCall[];
  /** Calls answered with an AWS error (injected or the service's own). */
  failed: AwsJsonCall[];
  /** The next `times` calls of `target` answer this AWS error. */
  failNext(target: string, error: { type: string; status?: number; times?: number }): void;
  close(): Promise<void>;
}

/**
 * Starts the endpoint on 127.0.0.1 with an ephemeral port.
 *
 * @example
 * ```ts
 * const aws = await startAwsJsonFake();
 * process.env.AWS_ENDPOINT_URL_SQS = aws.endpoint;
 * ```
 */
export async function startAwsJsonFake(): Promise<AwsJsonFake> {
  const peer = await startAwsEndpointPeer({ createOnUse: true, accountId: '123456789012' });
  return {
    endpoint: peer.endpoint,
    calls: peer.calls,
    failed: peer.failed,
    failNext: (target, error) => peer.failNext(target, error),
    close: () => peer.close(),
  };
}
