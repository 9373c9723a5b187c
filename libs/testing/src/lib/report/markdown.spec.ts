import { markdownTable } from './markdown';

describe('markdownTable', () => {
  it('pads columns to the widest cell, at least three, like prettier', () => {
    expect(
      markdownTable(
        ['queue', 'n'],
        [
          ['classic', 200],
          ['quorum', 3],
        ],
      ),
    ).toBe(['| queue   | n   |', '| ------- | --- |', '| classic | 200 |', '| quorum  | 3   |'].join('\n'));
  });

  it('right-aligns the columns marked r, header included', () => {
    expect(
      markdownTable(
        ['name', 'median (ms)'],
        [
          ['a', 1.5],
          ['bb', 12.25],
        ],
        ['l', 'r'],
      ),
    ).toBe(
      ['| name | median (ms) |', '| ---- | ----------: |', '| a    |         1.5 |', '| bb   |       12.25 |'].join(
        '\n',
      ),
    );
  });

  it('escapes pipes, flattens line breaks and fills short rows', () => {
    expect(markdownTable(['a', 'b'], [['x | y'], ['two\nlines', 'z']])).toBe(
      ['| a         | b   |', '| --------- | --- |', '| x \\| y    |     |', '| two lines | z   |'].join('\n'),
    );
  });

  it('gives a header and a rule without rows', () => {
    expect(markdownTable(['only'], [])).toBe('| only |\n| ---- |');
  });
});
