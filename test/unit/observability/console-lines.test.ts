import assert from 'node:assert/strict';
import { runFixture } from './child-process.ts';

/** The `count` field of each JSON line, in the order the lines arrived. */
const countsOf = (stdout: string): number[] =>
  stdout
    .trim()
    .split('\n')
    .map((line) => (JSON.parse(line) as { count: number }).count);

/** Console lines are written in batches (see line-sink.ts); none may be lost or reordered. */
describe('console log lines on stdout', () => {
  for (const exit of ['return', 'exit', 'throw'] as const) {
    it(`all arrive, in order, when the process ends by ${exit}`, async () => {
      const lines = 5000;
      const result = await runFixture('console-lines.ts', { LINES: String(lines), EXIT: exit });
      assert.deepEqual(
        countsOf(result.stdout),
        Array.from({ length: lines }, (_, i) => i),
      );
      assert.equal(result.code, exit === 'return' ? 0 : exit === 'exit' ? 3 : 1);
    });
  }

  for (const exit of ['exit', 'throw'] as const) {
    it(`all arrive, in order, when the process ends by ${exit} while its reader has stalled and the pipe is full`, async () => {
      // Far more than a pipe or socket buffer holds: most lines are still in the process at its end.
      const lines = 20_000;
      const result = await runFixture('console-lines.ts', { LINES: String(lines), EXIT: exit }, 60_000, 500);
      assert.deepEqual(
        countsOf(result.stdout),
        Array.from({ length: lines }, (_, i) => i),
      );
    });
  }
});
