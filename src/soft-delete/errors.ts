import { ConflictError, type ErrorCode, InvalidInputError, NotFoundError } from '../errors.ts';
import { idRule, quoted } from '../validation/index.ts';

export class UnknownEntityError extends InvalidInputError {
  constructor(name: string, known: readonly string[]) {
    super('unknown_entity', `unknown entity ${quoted(name)} (known: ${known.join(', ')})`);
  }
}

export class InvalidIdError extends InvalidInputError {
  constructor(raw: unknown) {
    super('invalid_id', `malformed id ${quoted(raw)}: ${idRule(raw)}`);
  }
}

export class InvalidFilterError extends InvalidInputError {
  constructor(message: string) {
    super('invalid_filter', message);
  }
}

export class InvalidBatchSizeError extends InvalidInputError {
  constructor(raw: unknown, max: number) {
    super('invalid_batch_size', `batch size must be an integer from 1 to ${max}, got ${quoted(raw)}`);
  }
}

/** Any other malformed argument: target shape, scope, limit, cursor, olderThanDays, maxRows, text options. */
export class InvalidArgumentError extends InvalidInputError {
  constructor(code: ErrorCode, message: string) {
    super(code, message);
  }
}

export class RowNotFoundError extends NotFoundError {
  constructor(entity: string, id: string) {
    super('not_found', `${entity} ${id} does not exist`);
  }
}

export class RestoreConflictError extends ConflictError {
  constructor(entity: string, id: string, constraint: string | undefined) {
    super(
      'conflict',
      `cannot restore ${entity} ${id}: a live row already holds its unique value` +
        (constraint ? ` (${constraint})` : ''),
    );
  }
}
