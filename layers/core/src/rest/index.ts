/**
 * The REST kit: a provider declared as data, its typed client, its error table and its pagination.
 *
 * @example
 * ```ts
 * import { defineRestProvider, bodyCursor } from './rest/index.ts';
 * ```
 */
export {
  codeError,
  type ErrorContext,
  type ErrorKind,
  type ErrorRow,
  type ErrorTable,
  type FieldTable,
  fieldAt,
  operationOf,
  tableFailure,
} from './errors.ts';
export {
  bodyCursor,
  type Collected,
  type CollectOptions,
  collectPages,
  linkHeader,
  offsetLimit,
  opaqueToken,
  type Page,
  type PageAnswer,
  type PageLinks,
  type PagePosition,
  type PageQuery,
  type PaginationStyle,
  pageNumber,
  pageOf,
  parseLinkHeader,
} from './pagination.ts';
export {
  defineRestProvider,
  type RestAnswer,
  type RestAuthKind,
  type RestCallOptions,
  RestClient,
  type RestClientOptions,
  type RestListOptions,
  type RestProvider,
  type RestProviderDeclaration,
  type RestSettings,
  type RestSettingsShape,
} from './provider.ts';
