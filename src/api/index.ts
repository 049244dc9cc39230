export type { ApiToken } from './auth.ts';
export { assertSafeBinding, isLoopbackHost, parseApiTokens, TokenVerifier } from './auth.ts';
export { mapError } from './errors.ts';
export { buildServer } from './server.ts';
export { startApiServer } from './start.ts';
