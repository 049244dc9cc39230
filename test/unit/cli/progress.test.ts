import { expect } from 'chai';
import {
  progressLine,
  progressLines,
  progressWanted,
  RecentRate,
  startProgress,
} from '../../../src/cli/progress.ts';
import { waitUntil } from '../../support/wait.ts';
import { batchedStdio, writeBatchedLinesNow } from '../../../src/observability/line-sink.ts';
import { openDatabase, migrateSchema } from '../../../src/db/index.ts';
import { seedDemo, type SeedProgress } from '../../../src/demo/seed.ts';

/**
 * Captures what reaches the terminal (stderr) while fn runs, as the screen would show it; fn may
 * read what was captured so far.
 */
async function onScreen(
  fn: (captured: () => string) => Promise<void> | void,
): Promise<{ raw: string; lines: string[] }> {
  const write = process.stderr.write;
  let raw = '';
  process.stderr.write = ((chunk: string | Uint8Array) => {
    raw += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    return true;
  }) as typeof process.stderr.write;
  try {
    await fn(() => raw);
  } finally {
    process.stderr.write = write;
  }
  // A terminal keeps, per line, what follows the last "clear line".
  const lines = raw.split('\n').map((l) => l.split('\r\x1b[2K').at(-1) ?? '');
  return { raw, lines };
}

describe('CLI progress bars', () => {
  it('start at 0% with a known total and as a row count without one, never "100% | 0/0 rows"', async () => {
    expect(progressLine('seed', 0, 1000, 0)).to.match(/\] 0% \| 0\/1000 rows/);
    expect(progressLine('delete customers', 0, undefined, 0)).to.match(/ 0 rows \| 0 rows\/s$/);
    expect(progressLine('purge orders', 0, 0, 0)).to.match(/nothing to do$/);
    const { raw } = await onScreen(() => startProgress('seed', undefined, 'bar').stop());
    expect(raw).to.not.include('100%');
  });

  it("gives a resumed run's rate and eta from this session's rows, not the earlier sessions' too", () => {
    // 26,933 rows done before, 1,000 in 2 s now: 500 rows/s and 52 s left (was 13,966 rows/s, eta 1s).
    const rate = new RecentRate(0, 26_933).perSecond(2000, 27_933);
    expect(progressLine('resume', 27_933, 53_946, rate)).to.match(/\| 500 rows\/s \| eta 52s$/);
  });

  it('reads 0 rows/s and no eta within a minute and a half of a stall, and the recent rate once work goes on', () => {
    const rate = new RecentRate(0, 0);
    // 2,000 rows/s for 100 s, sampled as the 30 s progress lines do.
    for (let s = 30; s <= 90; s += 30) rate.perSecond(s * 1000, s * 2000);
    expect(rate.perSecond(100_000, 200_000)).to.equal(2000);
    // The database goes away at 100 s: before, the whole run's average (2,000, then 1,000 ...) and an eta.
    expect(rate.perSecond(130_000, 200_000)).to.be.below(2000);
    expect(rate.perSecond(160_000, 200_000)).to.be.below(1000);
    const stalled = rate.perSecond(190_000, 200_000);
    expect(stalled).to.equal(0);
    expect(progressLine('migrate', 200_000, 600_000, stalled)).to.match(/\| 0 rows\/s \| eta -$/);
    // Back at 190 s, 500 rows/s: the rate follows within the minute.
    expect(rate.perSecond(250_000, 230_000)).to.equal(500);
  });

  it('never passes 100%: past a total that was too small it shows no percentage or eta, and ends at what was done', async () => {
    const { raw, lines } = await onScreen(async () => {
      const bar = startProgress('archive', 100, 'bar');
      bar.update(50);
      // The bar redraws at most every 100 ms.
      await new Promise((resolve) => setTimeout(resolve, 120));
      bar.update(143);
      bar.stop();
    });
    // Before: "100% | 143/143 rows | eta 0s" while it went on (a re-check probe: on to 3001 rows).
    expect(raw).to.match(/ 143 rows, more than the 100 counted at the start \| \d+ rows\/s \| eta -/);
    const last = lines.filter((l) => l !== '').at(-1) ?? '';
    expect(last).to.match(/\] 100% \| 143\/143 rows/);
    for (const p of lines.join(' ').matchAll(/(\d+)%/g)) expect(Number(p[1])).to.be.at.most(100);
  });

  it('keeps a status or log line written meanwhile on its own line above the bar', async () => {
    const { lines } = await onScreen(() => {
      const bar = startProgress('migrate backfill-deleted-at', 1000, 'bar');
      bar.update(10);
      process.stderr.write('run 0193: migrate backfill-deleted-at (1000 rows to do)\n');
      process.stderr.write('{"level":"warn","message":"migration batch attempt failed"}\n');
      bar.update(1000);
      bar.stop();
    });
    const shown = lines.filter((l) => l !== '');
    expect(shown[0]).to.equal('run 0193: migrate backfill-deleted-at (1000 rows to do)');
    expect(shown[1]).to.equal('{"level":"warn","message":"migration batch attempt failed"}');
    expect(shown[2]).to.match(/^migrate backfill-deleted-at\s+\[#+\] 100% \| 1000\/1000 rows/);
    expect(shown).to.have.length(3);
  });

  it('clears itself before console lines written to the descriptor, and draws itself again after them', async () => {
    let between = '';
    await onScreen(async (captured) => {
      const bar = startProgress('migrate backfill-deleted-at', 1000, 'bar');
      bar.update(10);
      const drawn = captured().length;
      // The logger's console lines go to fd 2 with writeSync, past process.stderr.write (line-sink.ts).
      batchedStdio(2).writeLine('');
      await writeBatchedLinesNow();
      between = captured().slice(drawn);
      bar.stop();
    });
    // Before: nothing between the drawings, and a warning was glued to the bar's end (a probe).
    const clearLine = '\r\x1b[2K';
    expect(
      between.startsWith(`${clearLine}${clearLine}migrate backfill-deleted-at `),
      JSON.stringify(between),
    ).to.equal(true);
  });

  it('is silent when off (--json: stderr carries JSON lines only)', async () => {
    const { raw } = await onScreen(() => {
      const bar = startProgress('seed', 10, 'off');
      bar.update(5);
      bar.stop();
    });
    expect(raw).to.equal('');
  });

  it('prints a plain line now and then when stderr is not a terminal, and nothing more once stopped', async () => {
    const write = process.stderr.write;
    let raw = '';
    process.stderr.write = ((chunk: string) => {
      raw += chunk;
      return true;
    }) as typeof process.stderr.write;
    const progress = progressLines('migrate backfill-deleted-at', 1000, 0, 20);
    try {
      progress.update(400);
      await waitUntil('a progress line', () => raw.includes('\n'), { timeoutMs: 5000, intervalMs: 5 });
    } finally {
      progress.stop();
      process.stderr.write = write;
    }
    const [first] = raw.split('\n');
    expect(first).to.match(/^migrate backfill-deleted-at\s+\[#+-+\] 40% \| 400\/1000 rows \| \d+ rows\/s/);
    expect(raw, 'no terminal control codes').to.not.include('\x1b');
    const stopped = raw;
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(raw, 'nothing after stop').to.equal(stopped);
  });

  it('a seed reports its total before the first chunk is written', async () => {
    const db = await openDatabase({ memory: true });
    try {
      await migrateSchema(db);
      const events: SeedProgress[] = [];
      await seedDemo(db, { rows: 200, onProgress: (e) => events.push(e) });
      expect(events[0]).to.include({ done: 0 });
      expect(events[0]?.total).to.be.greaterThan(200);
      expect(events.at(-1)?.done).to.equal(events[0]?.total);
    } finally {
      await db.close();
    }
  });

  it('is wanted on a terminal, but not with --json, whose stderr carries JSON lines only', () => {
    const was = process.stderr.isTTY;
    process.stderr.isTTY = true;
    try {
      expect(progressWanted(false)).to.equal('bar');
      // Before: the bar was drawn among the JSON lines of `--json` on a terminal.
      expect(progressWanted(true)).to.equal('off');
      process.stderr.isTTY = false;
      // Before: nothing at all, and a long migration on the embedded database could not be watched.
      expect(progressWanted(false)).to.equal('lines');
      expect(progressWanted(true)).to.equal('off');
    } finally {
      process.stderr.isTTY = was;
    }
  });
});
