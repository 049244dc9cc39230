import { readFileSync } from 'node:fs';
import { EXPECTED_KINDS } from '../../src/observability/redact.ts';
import { expect } from 'chai';
import { OpenApiCollector } from '../../src/api/openapi.ts';
import {
  ERROR_CODE_MEANINGS,
  ERROR_CODES,
  ERROR_KINDS,
  type ErrorCode,
  type ErrorKind,
  exitCodeForKind,
  httpStatusFor,
  isErrorCode,
} from '../../src/errors.ts';

const DOC = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');

/** Rows of the markdown table under `## heading`: cells without their backticks. */
function tableRows(heading: string): string[][] {
  const section = DOC.split(/^## /m).find((s) => s.startsWith(`${heading}\n`));
  if (!section) throw new Error(`docs/errors.md has no "## ${heading}" section`);
  return section
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) =>
      line
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((cell) => cell.trim().replace(/\\\|/g, '|')),
    );
}

describe('error codes: one list for the code, the OpenAPI document and docs/errors.md', () => {
  it('ERROR_CODES holds every ErrorCode once, each with a meaning', () => {
    expect(new Set(ERROR_CODES).size).to.equal(ERROR_CODES.length);
    for (const code of ERROR_CODES) {
      expect(code).to.match(/^[a-z]+(_[a-z]+)*$/);
      expect(ERROR_CODE_MEANINGS[code], code).to.be.a('string').and.not.equal('');
    }
    expect(isErrorCode('invalid_argument')).to.equal(true);
    // Merged into invalid_argument: one code for one meaning.
    expect(isErrorCode('invalid_option')).to.equal(false);
  });

  it('the OpenAPI Error schema enumerates exactly ERROR_CODES', () => {
    const doc = new OpenApiCollector().document({ title: 't', version: '0' }) as {
      components: {
        schemas: { Error: { properties: { error: { properties: { code: { enum: string[] } } } } } };
      };
    };
    expect(doc.components.schemas.Error.properties.error.properties.code.enum).to.deep.equal([
      ...ERROR_CODES,
    ]);
  });

  it('docs/errors.md lists exactly ERROR_CODES with the same meanings', () => {
    const documented = tableRows('Codes').map(([code, meaning]) => [code!.replace(/`/g, ''), meaning]);
    expect(documented).to.deep.equal(ERROR_CODES.map((code) => [code, ERROR_CODE_MEANINGS[code]]));
  });

  it('docs/errors.md states the exit code and HTTP status of each kind as the code maps them', () => {
    const rows = tableRows('Kinds: exit codes and HTTP statuses');
    expect(rows.map((r) => r[0]!.replace(/`/g, ''))).to.deep.equal([...ERROR_KINDS]);
    for (const [kindCell, exitCell, statusCell] of rows) {
      const kind = kindCell!.replace(/`/g, '') as ErrorKind;
      expect(Number(exitCell), kind).to.equal(exitCodeForKind(kind));
      // `not_ready` stands in for any code of the kind without a status of its own.
      expect(Number.parseInt(statusCell!, 10), kind).to.equal(httpStatusFor({ code: 'not_ready', kind }));
      // The codes with a status of their own: "400 (`unknown_entity`, `unknown_migration`: 404, ...)".
      const own = /\(([^)]*?): (\d{3})/.exec(statusCell!);
      for (const code of own?.[1]?.match(/[a-z_]+/g) ?? []) {
        expect(httpStatusFor({ code: code as ErrorCode, kind }), code).to.equal(Number(own?.[2]));
      }
    }
    expect(httpStatusFor({ code: 'unknown_migration', kind: 'invalid_input' })).to.equal(404);
  });

  it('logs a stack for internal errors only: the log redactor knows every other kind as expected', () => {
    expect([...EXPECTED_KINDS].sort()).to.deep.equal(ERROR_KINDS.filter((k) => k !== 'internal').sort());
  });
});
