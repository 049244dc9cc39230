export { assertSafeBinding, parseApiTokens } from './auth.ts';
export { startApiServer } from './start.ts';
