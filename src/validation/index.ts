export type { Scope } from './rules.ts';
export {
  CURSOR_PATTERN,
  commaList,
  DEFAULT_LIST_LIMIT,
  DEFAULT_SCOPE,
  ID_PATTERN,
  isIdText,
  isScope,
  isUuid,
  MAX_BATCH_SIZE,
  MAX_ID_LENGTH,
  MAX_LIST_LIMIT,
  MAX_OLDER_THAN_DAYS,
  MAX_TEXT_LENGTH,
  SCOPES,
  UUID_LENGTH,
  UUID_PATTERN,
} from './rules.ts';
