import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import {
  CURSOR_PATTERN,
  ID_PATTERN,
  isBlank,
  idRule,
  isIdText,
  isScope,
  isUuid,
  MAX_BATCH_SIZE,
  quoted,
  NOT_BLANK_PATTERN,
  SCOPES,
  UUID_PATTERN,
} from '../../src/validation/index.ts';

const SRC = new URL('../../src/', import.meta.url).pathname;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

describe('validation rules (src/validation)', () => {
  it('reads a UUID the same way as a JSON-schema pattern (ajv: u flag, no i) and as isUuid', () => {
    const asSchema = new RegExp(UUID_PATTERN, 'u');
    const samples = [
      '0190c0de-7a1b-7c2d-8e3f-405162738495',
      '0190C0DE-7A1B-7C2D-8E3F-405162738495',
      '0190c0de7a1b7c2d8e3f405162738495',
      '{0190c0de-7a1b-7c2d-8e3f-405162738495}',
      'urn:uuid:0190c0de-7a1b-7c2d-8e3f-405162738495',
      '0190c0de-7a1b-7c2d-8e3f-40516273849',
      '0190c0de-7a1b-7c2d-8e3f-4051627384955',
      'g190c0de-7a1b-7c2d-8e3f-405162738495',
      '',
    ];
    for (const s of samples) expect(asSchema.test(s), s).to.equal(isUuid(s));
    expect(samples.filter((s) => isUuid(s))).to.deep.equal(samples.slice(0, 2));
    expect(isUuid(42)).to.equal(false);
  });

  it('takes row ids as positive decimals without leading zeros, and "0" only as a cursor', () => {
    for (const ok of ['1', '42', '9223372036854775807']) expect(isIdText(ok), ok).to.equal(true);
    // 9223372036854775808 has the id form but is past int8: a job payload once took it and failed later.
    for (const bad of [
      '0',
      '01',
      '-1',
      '1.0',
      ' 1',
      '1e3',
      '12345678901234567890',
      '9223372036854775808',
      1,
    ]) {
      expect(isIdText(bad), String(bad)).to.equal(false);
    }
    expect(new RegExp(ID_PATTERN, 'u').test('0')).to.equal(false);
    expect(new RegExp(CURSOR_PATTERN, 'u').test('0')).to.equal(true);
    // The published pattern is exact: a client validating with it sends no id the server refuses
    // (before: any 19 digits, past PostgreSQL's bigint too).
    const asSchema = new RegExp(ID_PATTERN, 'u');
    const max = 9223372036854775807n;
    for (const near of [max - 1000n, max - 10n, max, max + 1n, max + 10n, 9999999999999999999n, 10n ** 18n]) {
      expect(asSchema.test(String(near)), String(near)).to.equal(near <= max);
    }
    expect(new RegExp(CURSOR_PATTERN, 'u').test('00')).to.equal(false);
  });

  it('calls a text blank when it shows nothing: white space or invisible format characters only, as the API schema does', () => {
    const asSchema = new RegExp(NOT_BLANK_PATTERN, 'u');
    const blank = ['', ' ', '\t\n', '\u00a0\u3000', '\u200b', '\ufeff', ' \u200c\u200d\u2060\u00ad\u200e'];
    // Found by a fuzzing probe: NEL, Hangul fillers, the blank braille cell, bidi overrides and
    // isolates, the Arabic letter mark, the combining grapheme joiner, a variation selector, a tag.
    blank.push(
      '\u0085',
      '\u3164',
      '\u115f',
      '\u2800',
      '\u202e',
      '\u2066',
      '\u061c',
      '\u034f',
      '\ufe0f',
      '\u{e0001}',
    );
    const shown = ['a', ' a ', '\u200bx', '😀', '\u0301', '-'];
    for (const s of blank)
      expect([isBlank(s), asSchema.test(s)], JSON.stringify(s)).to.deep.equal([true, false]);
    for (const s of shown)
      expect([isBlank(s), asSchema.test(s)], JSON.stringify(s)).to.deep.equal([false, true]);
  });

  it('says of an id past bigint that it is too large, not that it is no positive integer', () => {
    expect(idRule('9223372036854775808')).to.equal('ids go up to 9223372036854775807');
    expect(idRule('99999999999999999999')).to.equal('ids go up to 9223372036854775807');
    for (const bad of ['0', '-1', '1.5', '00', 'abc', '', 1.5, null])
      expect(idRule(bad), String(bad)).to.equal('expected a positive integer');
  });

  it('says of an id with leading zeros that they are what is wrong, not that it is no positive integer', () => {
    for (const bad of ['012', '007', '0009223372036854775807'])
      expect(idRule(bad), bad).to.equal('expected a positive integer without leading zeros');
  });

  it('says of a JSON number past 2^53 to send the id as a string, not which rounded number it got', () => {
    // Before: "ids go up to 9223372036854775807, got 9223372036854776000", a number never sent.
    for (const n of [JSON.parse('9223372036854775807'), JSON.parse('9007199254740993')] as number[])
      expect(idRule(n)).to.equal(
        'a JSON number past 9007199254740991 loses digits on the way: send the id as a string',
      );
    expect(idRule(9007199254740991)).to.equal('expected a positive integer');
  });

  it('quotes a refused value as sent, also a number JSON cannot write (1e400 parses to Infinity)', () => {
    expect(quoted(Number.POSITIVE_INFINITY)).to.equal('Infinity');
    expect(quoted(Number.NaN)).to.equal('NaN');
    expect(quoted('x')).to.equal('"x"');
    expect(quoted(5)).to.equal('5');
  });

  it('quotes a value nested too deeply for JSON.stringify without overflowing the stack', () => {
    const deep = JSON.parse(`${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}`) as unknown;
    expect(quoted(deep)).to.equal('(a value nested too deeply to show)');
  });

  it('knows the three scopes', () => {
    expect([...SCOPES]).to.deep.equal(['live', 'deleted', 'all']);
    expect(SCOPES.every(isScope)).to.equal(true);
    expect(isScope('deleted_only')).to.equal(false);
  });

  it('is the only place in src/ that spells the UUID regex, the id regex, the scope list or the batch maximum', () => {
    const own = join(SRC, 'validation');
    const literals = [
      /\[0-9a-f(A-F)?\]\{8\}/i,
      /\[1-9\](\[0-9\]|\\d)\{0,18\}/,
      new RegExp(`\\b${MAX_BATCH_SIZE}\\b|100_000\\b`),
      /'live',\s*'deleted'/,
    ];
    const offenders = sourceFiles(SRC)
      .filter((f) => !f.startsWith(own))
      .flatMap((f) =>
        readFileSync(f, 'utf8')
          .split('\n')
          .filter((line) => !/^\s*(\*|\/\/)/.test(line) && !line.includes('MAX_BULK_JOB_IDS'))
          .filter((line) => literals.some((re) => re.test(line)))
          .map((line) => `${f.slice(SRC.length)}: ${line.trim()}`),
      );
    expect(offenders).to.deep.equal([]);
  });
});
