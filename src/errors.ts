/**
 * Base class of every error this product raises on purpose. `code` is stable and machine-readable:
 * the CLI maps `kind` to its exit code, the API maps it to an HTTP status.
 */
export type ErrorKind = 'invalid_input' | 'not_found' | 'conflict' | 'unavailable' | 'internal';

export class SdopsError extends Error {
  readonly code: string;
  readonly kind: ErrorKind;

  constructor(code: string, message: string, kind: ErrorKind = 'internal', options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.kind = kind;
    this.name = new.target.name;
  }
}

/** Bad input from a caller: nothing was changed. CLI exit code 2, HTTP 400. */
export class InvalidInputError extends SdopsError {
  constructor(code: string, message: string) {
    super(code, message, 'invalid_input');
  }
}

export class NotFoundError extends SdopsError {
  constructor(code: string, message: string) {
    super(code, message, 'not_found');
  }
}

export class ConflictError extends SdopsError {
  constructor(code: string, message: string) {
    super(code, message, 'conflict');
  }
}

export class ConfigError extends SdopsError {
  constructor(message: string) {
    super('invalid_config', message, 'invalid_input');
  }
}
