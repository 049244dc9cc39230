import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { openDatabase } from '../../../src/db/index.ts';
import { runCli, runCommand, SDOPS_BIN } from '../../support/cli.ts';
import { OtlpListener } from '../../support/otlp-listener.ts';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.ts';
import { spawnSdops } from '../../support/sdops-process.ts';
import { waitUntil } from '../../support/wait.ts';

/** The size of a directory's files, in MB (0 while it does not exist). */
function megabytes(dir: string): number {
  if (!existsSync(dir)) return 0;
  let bytes = 0;
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    try {
      bytes += statSync(join(entry.parentPath, entry.name)).size;
    } catch {
      // Removed between the listing and the stat (a WAL segment recycled).
    }
  }
  return bytes / 1e6;
}

/** A port nothing listens on (taken from the kernel, then given back). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** An OTLP endpoint that takes connections and never answers: a command's final flush waits. */
async function silentCollector(): Promise<{ url: string; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Runs `args` against a database that is not there, and sends `signal` while it waits for it at start. */
async function signalledWhileWaiting(
  args: readonly string[],
  signal: NodeJS.Signals,
  env: Record<string, string> = {},
): Promise<{ code: number | null; output: string }> {
  const waiting = spawnSdops(args, {
    DATABASE_URL: `postgres://postgres@127.0.0.1:${await closedPort()}/postgres`,
    ...env,
  });
  try {
    await waiting.waitFor(/waiting for it/);
    waiting.child.kill(signal);
    return { code: await waiting.exited, output: waiting.output() };
  } finally {
    await waiting.stop('SIGKILL');
  }
}

/**
 * Ctrl-C where a command has no graceful stop of its own, and after its result is decided: Node's
 * default was to die with 130 and not a word, also after a command had done all its work.
 */
describe('sdops and a signal outside a graceful stop', function () {
  this.timeout(120_000);
  let db: TestDatabase;
  let collector: Awaited<ReturnType<typeof silentCollector>>;

  before(async () => {
    db = await createTestDatabase();
    collector = await silentCollector();
    const seeded = await runCli(['seed', '--rows', '50', '--json'], { DATABASE_URL: db.url });
    expect(seeded.code, seeded.stderr).to.equal(0);
  });
  after(async () => {
    await collector?.close();
    await db?.drop();
  });

  it('says in one line that a command waiting for the database at start was interrupted, and exits 130', async () => {
    const { code, output } = await signalledWhileWaiting(['queue', 'status'], 'SIGINT');
    expect(code).to.equal(130);
    expect(output).to.match(
      /^sdops: interrupted by SIGINT while waiting for the database at start: the command did nothing$/m,
    );
  });

  it('has a worker stopped while it waits for the database at start say it was asked to stop, so it is no lost process', async () => {
    const otlp = new OtlpListener();
    await otlp.start();
    try {
      const { code } = await signalledWhileWaiting(['worker'], 'SIGTERM', {
        OTEL_SDK_DISABLED: 'false',
        OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
        // No periodic export meets the stop: only the stop's own word can carry it.
        OTEL_METRIC_EXPORT_INTERVAL: '60000',
      });
      expect(code).to.equal(143);
    } finally {
      await otlp.stop();
    }
    expect(
      otlp.points.filter((p) => p.metric === 'sdops.process.stopping').map((p) => p.value),
      'the stop exported before the exit',
    ).to.deep.equal([1]);
  });

  it('stops a long embedded seed on Ctrl-C in the middle of its one transaction, in one line, nothing added', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sdops-seed-signal-'));
    const data = join(dir, 'data');
    try {
      const seeding = spawnSdops(['--data-dir', data, 'seed', '--rows', '300000'], {
        DATABASE_URL: undefined,
      });
      try {
        // A fresh directory with the schema is about 100 MB; this seed takes it to about 650 MB.
        await waitUntil('the seed to be well into its transaction', async () => megabytes(data) > 200, {
          timeoutMs: 60_000,
          intervalMs: 100,
        });
        seeding.child.kill('SIGINT');
        const started = performance.now();
        expect(await seeding.exited, seeding.output().slice(-2000)).to.equal(1);
        // Before: with no turn of the event loop between PGlite's statements, Node's default ended it
        // with a silent 130, its progress bar left at the rows it had inserted.
        expect(performance.now() - started).to.be.below(10_000);
      } finally {
        await seeding.stop('SIGKILL');
      }
      expect(seeding.output()).to.include(
        'sdops: seed stopped by SIGINT before it committed: nothing was added (the seed is one transaction)',
      );
      const db = await openDatabase({ dataDir: data });
      try {
        expect((await db.query<{ n: string }>('SELECT count(*) AS n FROM customers')).rows[0]?.n).to.equal(
          '0',
        );
      } finally {
        await db.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  for (const [what, ids, code, line] of [
    ['a command that succeeded', ['1'], 0, undefined],
    ['a command that failed', ['2', '999999999'], 1, /"message":"1 of 2 documents rows failed/],
  ] as const) {
    it(`leaves at once with the code and line of ${what} when Ctrl-C comes during its final flush`, async () => {
      const deleting = spawnSdops(['--json', 'delete', 'documents', ...ids], {
        DATABASE_URL: db.url,
        OTEL_SDK_DISABLED: 'false',
        OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
      });
      try {
        // The result is printed before the flush begins, which the silent collector holds up.
        await deleting.waitFor(/"counts"/);
        deleting.child.kill('SIGINT');
        expect(await deleting.exited, deleting.output().slice(-2000)).to.equal(code);
      } finally {
        await deleting.stop('SIGKILL');
      }
      expect(deleting.output()).to.not.match(/interrupted by SIGINT/);
      if (line) expect(deleting.output()).to.match(line);
    });
  }
});

/** A defect: an error nothing caught ends a long-running process as every other failure does. */
describe('sdops and an error nothing caught', function () {
  this.timeout(120_000);
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase();
  });
  after(async () => {
    await db?.drop();
  });

  for (const [how, defect] of [
    ['a throw in a callback', 'setTimeout(() => { throw new Error("injected defect") }, 1500)'],
    [
      'a rejection nobody awaited',
      'setTimeout(() => { Promise.reject(new Error("injected defect")) }, 1500)',
    ],
  ] as const)
    it(`ends a worker on an error nothing caught (${how}) with one internal_error line and exit 1, not a bare stack`, async () => {
      const r = await runCommand(
        process.execPath,
        ['--import', `data:text/javascript,${encodeURIComponent(defect)}`, SDOPS_BIN, 'worker'],
        { env: { ...process.env, DATABASE_URL: db.url, OTEL_SDK_DISABLED: 'true' }, timeoutMs: 60_000 },
      );
      expect(r.code, r.stderr).to.equal(1);
      expect(r.stderr.trimEnd().split('\n').at(-1)).to.equal('sdops: crashed: injected defect');
      expect(r.stdout, 'the log record with the stack').to.match(
        /"message":"the process ended on an error nothing caught \(a defect\)".*"stack":"Error: injected defect/,
      );
    });

  it('exports the crash record to the collector before exiting, so a crash nobody watched is in Loki', async () => {
    const otlp = new OtlpListener();
    await otlp.start();
    try {
      const r = await runCommand(
        process.execPath,
        [
          '--import',
          `data:text/javascript,${encodeURIComponent('setTimeout(() => { throw new Error("injected defect") }, 1500)')}`,
          SDOPS_BIN,
          'worker',
        ],
        {
          env: { ...process.env, DATABASE_URL: db.url, OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url },
          timeoutMs: 60_000,
        },
      );
      expect(r.code, r.stderr).to.equal(1);
      expect(otlp.logBodies).to.include('the process ended on an error nothing caught (a defect)');
    } finally {
      await otlp.stop();
    }
  });
});
