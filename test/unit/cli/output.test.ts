import { expect } from 'chai';
import { errorLine, formatTable, printableJson } from '../../../src/cli/output.ts';

describe('CLI text output', () => {
  it('shows control characters of stored text as escapes, so a reason cannot clear the screen or forge a row', () => {
    const reason = '\u001b[2J\u001b[31mINJECTED\u001b]0;title\u0007\r\nfake line\u202e';
    const table = formatTable([{ id: '7', reason }]);
    const lines = table.split('\n');
    expect(lines).to.have.length(3);
    for (const line of lines) {
      // biome-ignore lint/suspicious/noControlCharactersInRegex: finding them is the point
      expect(line).to.not.match(/[\u0000-\u001f\u007f-\u009f\u202e]/);
    }
    expect(table).to.include(
      '\\u001b[2J\\u001b[31mINJECTED\\u001b]0;title\\u0007\\u000d\\u000afake line\\u202e',
    );
  });

  it('keeps printable text, accents and emoji included, as it is', () => {
    expect(formatTable([{ reason: 'ça va 😀 tab-free' }])).to.include('ça va 😀 tab-free');
  });

  it('escapes in JSON output what JSON leaves raw (C1 controls, separators, direction overrides), as the same value', () => {
    const value = { reason: 'a\u009b2Jb\u2028c\u202ed\u007fe\u200bf', n: 1 };
    const text = printableJson(value, 2);
    expect(text).to.not.match(/[\u007f-\u009f\u2028\u202e\u200b]/);
    expect(text).to.include('a\\u009b2Jb\\u2028c\\u202ed\\u007fe\\u200bf');
    expect(JSON.parse(text)).to.deep.equal(value);
  });

  it('escapes them in a plain error line too, which echoes what was typed', () => {
    expect(errorLine('invalid_filter', 'invalid_input', 'bad value "\u001b[2J"', false)).to.equal(
      'sdops: bad value "\\u001b[2J"\n',
    );
  });
});
