export type { Access, ApiToken, Role } from './auth.ts';
export {
  assertSafeBinding,
  isLoopbackHost,
  MIN_TOKEN_LENGTH,
  parseApiTokens,
  TokenVerifier,
} from './auth.ts';
export type { ErrorBody, MappedError } from './errors.ts';
export { ApiError, mapError } from './errors.ts';
export type { ApiMigrations, ApiQueue, BulkLimits } from './ports.ts';
export type { ApiServerOptions } from './server.ts';
export { buildServer, DEFAULT_BODY_LIMIT, DEFAULT_BULK_LIMITS } from './server.ts';
export type { ListenOptions, RunningApi } from './start.ts';
export { startApiServer } from './start.ts';
