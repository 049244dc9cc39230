import { Ajv, type Options } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';
import { isPlainText } from '../validation/index.ts';

/**
 * Request validation. JSON bodies are typed, so they are validated strictly: a wrong type is a 400
 * naming the field, never coerced (`{"ids":"1"}` is not `["1"]`, `{"maxRowsPerSecond":0}` is not
 * `null`, `{"batchSize":"10"}` is not 10). Query strings and path parameters are text by nature,
 * so there a scalar is converted to the schema's type ("limit=5" is the integer 5), and nothing else.
 */

/** JSON-schema format of free text: no NUL (PostgreSQL text cannot hold it), no unpaired surrogate. */
export const TEXT_FORMAT = 'text';

const COMMON: Options = {
  useDefaults: true,
  removeAdditional: false,
  // One error is enough to answer with, and allErrors makes hostile input cost more.
  allErrors: false,
  addUsedSchema: false,
};

function build(coerceTypes: boolean): Ajv {
  const ajv = new Ajv({ ...COMMON, coerceTypes });
  addFormats.default(ajv);
  ajv.addFormat(TEXT_FORMAT, { type: 'string', validate: isPlainText });
  return ajv;
}

export function validatorCompiler(): FastifySchemaCompiler<unknown> {
  const strict = build(false);
  const textual = build(true);
  return ({ schema, httpPart }) =>
    (httpPart === 'body' ? strict : textual).compile(schema as object) as ReturnType<
      FastifySchemaCompiler<unknown>
    >;
}
