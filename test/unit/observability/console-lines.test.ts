import assert from 'node:assert/strict';
import { closeSync, openSync } from 'node:fs';
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

  it('drops lines past 8 MiB for a reader that stopped taking them, says so once each way, and holds no more', async function () {
    this.timeout(90_000);
    // 60 MB of lines while the reader stalls for 5 s. Before: all of it held, copied again on each retry.
    const lines = 60_000;
    const result = await runFixture(
      'stalled-reader.ts',
      { LINES: String(lines), WAIT_MS: '8000' },
      80_000,
      5000,
    );
    assert.equal(result.code, 0, result.stderr);
    const errLines = result.stderr.trim().split('\n');
    const held = (JSON.parse(errLines.at(-1) ?? '{}') as { held: number }).held;
    assert.ok(held < 40 * 1024 * 1024, `held ${held} bytes`);
    assert.match(
      errLines[0] ?? '',
      /console log lines cannot be written to stdout \(its reader stopped taking them, 8 MiB wait\)/,
    );
    const records = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { message: string; count?: number; lost_lines?: number });
    const counts = records.filter((r) => r.message === 'line').map((r) => r.count ?? -1);
    const recovered = records.filter((r) => r.message === 'console log lines are written to stdout again');
    assert.equal(recovered.length, 1);
    const lost = recovered[0]?.lost_lines ?? 0;
    assert.ok(lost > 0);
    // In order, none twice: what arrived and what was counted lost make up every line, and the
    // warning's own console line, written while the backlog was full.
    assert.ok(counts.every((c, i) => i === 0 || c > (counts[i - 1] ?? -1)));
    assert.equal(counts.length + lost, lines + 1);
  });

  it('says once, on stderr, that its lines are lost when stdout cannot be written (a full disk), and carries on', async () => {
    // Before: every line vanished (ENOSPC) and nothing said so; the process ran on as if logging.
    const full = openSync('/dev/full', 'w');
    try {
      const result = await runFixture('console-lines.ts', { LINES: '5000', EXIT: 'return' }, 60_000, 0, full);
      assert.equal(result.code, 0, result.stderr);
      const lines = result.stderr.trim().split('\n');
      assert.equal(lines.length, 1, result.stderr);
      const warning = JSON.parse(lines[0] ?? '') as Record<string, unknown>;
      assert.equal(warning.level, 'warn');
      assert.equal(warning.destination, 'stdout');
      assert.match(
        String(warning.message),
        /^console log lines cannot be written to stdout \(ENOSPC\); they are lost/,
      );
    } finally {
      closeSync(full);
    }
  });
});
