export { DailyQuota, type DailyQuotaOptions } from './daily-quota.ts';
export {
  type RateBudget,
  type RateLimitDeclaration,
  SharedRateBudget,
  type SharedRateBudgetOptions,
} from './rate-budget.ts';
export {
  type CoordinationItem,
  type CoordinationLog,
  CoordinationTable,
  type CoordinationTableOptions,
  CoordinationUnavailable,
  coordinationFromEnv,
} from './table.ts';
export { SharedTokenCache, type SharedTokenCacheOptions, type TokenShare } from './tokens.ts';
