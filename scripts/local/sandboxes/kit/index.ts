/**
 * The contract-fake kit: routes, seeded state, a token hook, injectable faults and a request log, on a
 * plain `node:http` server. Provider fakes (`../slack.ts`, `../github.ts`) declare their routes, state and
 * error dialect on it; the local stack can serve the same fakes as sandboxes.
 */
export {
  type Answer,
  AnswerError,
  type ErrorDetail,
  type ErrorDialect,
  type ErrorKind,
  json,
  plainErrors,
  refuse,
  USUAL_STATUS,
} from './answers.ts';
export type { Fault, FaultTarget } from './faults.ts';
export {
  bearerToken,
  type FakeRequest,
  type LoggedRequest,
  SECRET_FIELDS,
  SECRET_HEADERS,
} from './requests.ts';
export { compilePath, type PathPattern } from './routes.ts';
export {
  type FakeDefinition,
  type FakeServer,
  type Route,
  type RouteContext,
  type StartOptions,
  startFake,
} from './server.ts';
