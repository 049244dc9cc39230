import assert from 'node:assert/strict';
import { runFixture } from './child-process.ts';

/** Console lines are written in batches (see line-sink.ts); none may be lost or reordered. */
describe('console log lines on stdout', () => {
  for (const exit of ['return', 'exit', 'throw'] as const) {
    it(`all arrive, in order, when the process ends by ${exit}`, async () => {
      const lines = 5000;
      const result = await runFixture('console-lines.ts', { LINES: String(lines), EXIT: exit });
      const counts = result.stdout
        .trim()
        .split('\n')
        .map((line) => (JSON.parse(line) as { count: number }).count);
      assert.deepEqual(
        counts,
        Array.from({ length: lines }, (_, i) => i),
      );
      assert.equal(result.code, exit === 'return' ? 0 : exit === 'exit' ? 3 : 1);
    });
  }
});
