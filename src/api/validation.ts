import { Ajv, type Options } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';
import { isPlainText, isWholeNumberText, WHOLE_NUMBER_PATTERN } from '../validation/index.ts';

/**
 * Request validation. JSON bodies are typed, so they are validated strictly: a wrong type is a 400
 * naming the field, never coerced (`{"ids":"1"}` is not `["1"]`, `{"maxRowsPerSecond":0}` is not
 * `null`, `{"batchSize":"10"}` is not 10). Query strings and path parameters are text by nature,
 * so there a scalar is converted to the schema's type ("limit=5" is the integer 5), and nothing else.
 * An integer there must be plain decimal digits: ajv converts with Number(), which would also read
 * "0x10" as 16, "1e2" as 100, " 1" as 1, "5.0" as 5 and a blank as 0.
 */

/** JSON-schema format of free text: no NUL (PostgreSQL text cannot hold it), no unpaired surrogate. */
export const TEXT_FORMAT = 'text';

const COMMON: Options = {
  useDefaults: true,
  removeAdditional: false,
  // One error is enough to answer with, and allErrors makes hostile input cost more.
  allErrors: false,
  addUsedSchema: false,
  // Errors carry the refused value (never echoed): a fraction refused as `integer` is a malformed
  // value of the right JSON type, mapped to the field's own code (errors.ts).
  verbose: true,
};

function build(coerceTypes: boolean): Ajv {
  const ajv = new Ajv({ ...COMMON, coerceTypes });
  addFormats.default(ajv);
  ajv.addFormat(TEXT_FORMAT, { type: 'string', validate: isPlainText });
  return ajv;
}

/** A compiled validator; fastify reads `errors` when it returns false. */
type Validate = ReturnType<FastifySchemaCompiler<unknown>>;

/** The integer properties of a query-string or path schema, with their maximum. */
function integerProperties(schema: object): { name: string; maximum: number }[] {
  const properties =
    (schema as { properties?: Record<string, { type?: unknown; maximum?: unknown }> }).properties ?? {};
  return Object.entries(properties)
    .filter(([, p]) => p.type === 'integer')
    .map(([name, p]) => ({
      name,
      maximum: typeof p.maximum === 'number' ? p.maximum : Number.MAX_SAFE_INTEGER,
    }));
}

type ValidationError = NonNullable<Validate['errors']>[number];

/** Runs `problem` before the validator: the first problem it finds is the one error answered. */
function checkedFirst(
  problem: (data: Record<string, unknown> | null | undefined) => ValidationError | undefined,
  validate: Validate,
): Validate {
  const check = ((data: Record<string, unknown> | null | undefined) => {
    const found = problem(data);
    if (found) {
      check.errors = [found];
      return false;
    }
    const valid = validate(data);
    check.errors = validate.errors;
    return valid;
  }) as Validate;
  return check;
}

/**
 * The text of each integer parameter is checked before ajv converts it: as the CLI reads its
 * numbers (isWholeNumberText), not as Number() does. A refusal is an ajv-shaped `pattern` error on
 * the parameter, so it maps to the parameter's code (invalid_limit) like a value out of range.
 */
function wholeNumberProblem(integers: readonly { name: string; maximum: number }[]) {
  return (data: Record<string, unknown> | null | undefined): ValidationError | undefined => {
    for (const { name, maximum } of integers) {
      const value = data?.[name];
      // Past 2^53 Number() rounds, and past ~309 digits it is Infinity, which ajv takes as an
      // integer: a limit of 310 ones reached the SQL as "Infinity" (a 500).
      if (isWholeNumberText(value) && !Number.isSafeInteger(Number(value))) {
        return {
          instancePath: `/${name}`,
          schemaPath: `#/properties/${name}/maximum`,
          keyword: 'maximum',
          params: { comparison: '<=', limit: maximum },
          message: `must be <= ${maximum}`,
        };
      }
      if (typeof value === 'string' && !isWholeNumberText(value)) {
        return {
          instancePath: `/${name}`,
          schemaPath: `#/properties/${name}`,
          keyword: 'pattern',
          params: { pattern: WHOLE_NUMBER_PATTERN },
          message: 'must be a whole number written in decimal digits (0-9) only',
        };
      }
    }
    return undefined;
  };
}

/**
 * A query parameter given twice arrives as a list, which ajv refused as "must be integer" (or
 * string): said as what it is. A `type` error, so it maps to invalid_query, as docs/errors.md says.
 */
function repeatedProblem(data: Record<string, unknown> | null | undefined): ValidationError | undefined {
  const repeated = Object.keys(data ?? {}).find((name) => Array.isArray(data?.[name]));
  if (repeated === undefined) return undefined;
  return {
    instancePath: `/${repeated}`,
    schemaPath: `#/properties/${repeated}/type`,
    keyword: 'type',
    params: { type: 'once' },
    message: 'must be given once, not repeated',
  };
}

export function validatorCompiler(): FastifySchemaCompiler<unknown> {
  const strict = build(false);
  const textual = build(true);
  return ({ schema, httpPart }) => {
    if (httpPart === 'body') return strict.compile(schema as object) as Validate;
    const validate = textual.compile(schema as object) as Validate;
    const integers = integerProperties(schema as object);
    const checked = integers.length === 0 ? validate : checkedFirst(wholeNumberProblem(integers), validate);
    return httpPart === 'querystring' ? checkedFirst(repeatedProblem, checked) : checked;
  };
}
