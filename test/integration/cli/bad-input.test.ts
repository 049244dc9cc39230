import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { expect } from 'chai';
import { runCli, runCommand, SDOPS_BIN } from '../../support/cli.ts';
import { spawnSdops } from '../../support/sdops-process.ts';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.ts';
import { OtlpListener } from '../../support/otlp-listener.ts';
import { lockDataDir } from '../../../src/db/dir-lock.ts';

/**
 * The CLI at 3 a.m.: bad input is one line on stderr and exit code 2 (JSON with --json), it is not
 * counted as a failed operation (nothing was attempted), and a reader that closes the pipe early
 * (`| head`) ends nothing with a stack trace.
 */
describe('sdops bad input and closed pipes (PostgreSQL)', function () {
  this.timeout(120_000);
  let db: TestDatabase;
  const otlp = new OtlpListener();
  const env = () => ({
    DATABASE_URL: db.url,
    OTEL_SDK_DISABLED: 'false',
    OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
    LOG_LEVEL: 'info',
  });

  before(async () => {
    db = await createTestDatabase();
    await otlp.start();
    const seeded = await runCli(['seed', '--rows', '3000'], { DATABASE_URL: db.url });
    expect(seeded.code, seeded.stderr).to.equal(0);
  });
  after(async () => {
    await otlp.stop();
    await db?.drop();
  });

  const BAD: readonly (readonly string[])[] = [
    ['delete', 'customers', 'abc'],
    ['delete', 'customers', '1', '2', '--filter', 'plan=pro'],
    ['delete', 'no_such_entity', '1'],
    ['restore', 'orders', '--filter', 'no_such_column=1'],
    ['purge', 'documents', '--batch-size', '0'],
    ['delete', 'customers', '1', '--frobnicate'],
    ['migrate', 'status', 'not-a-run-id'],
    ['queue', 'enqueue', 'noop', '--payload', '{nope'],
    // Each of these got past its check once: a database error (exit 1, a stack in a log line), a
    // job that failed until dead, an empty list taken as "every job type", an unkept database.
    ['purge', 'customers', '--older-than-days', '1e7'],
    ['migrate', 'stop', 'abc'],
    [
      'queue',
      'enqueue',
      'cascade_soft_delete',
      '--payload',
      '{"entity":"orders","id":"9223372036854775808"}',
    ],
    ['worker', '--job-types', ' , '],
    // A stray comma, a space around a number, a limit the database cannot store: were taken.
    ['worker', '--job-types', 'noop,'],
    ['migrate', 'start', 'backfill-deleted-at', '--entity', 'documents,,orders'],
    ['purge', 'documents', '--older-than-days', ' 5'],
    ['list', 'documents', '--limit', '5 '],
    ['migrate', 'start', 'backfill-deleted-at', '--max-failed-batches', '2147483648'],
    ['serve', '--host', ''],
    ['demo', '--loop', '--pause-ms', '2147483648'],
    ['demo', '--pause-ms', '5'],
    ['migrate', 'stop', '00000000-0000-7000-8000-000000000000', '--timeout', '5'],
    ['archive', 'orders', '--older-than-days', '0x10'],
    ['purge', 'orders', '--older-than-days', '1e2'],
    ['delete', 'documents', '1', '--by', ''],
    // Stored as given once: an empty reason (which the API refuses), and an argument that was not
    // UTF-8 (Node reads its bytes as U+FFFD).
    ['delete', 'documents', '1', '--reason', ''],
    ['delete', 'documents', '1', '--reason', '   '],
    ['delete', 'documents', '1', '--reason', 'a\uFFFDb'],
    ['--data-dir', '', 'list', 'customers'],
    ['--memory', '--data-dir', 'elsewhere', 'list', 'customers'],
    // With DATABASE_URL set, these changed the PostgreSQL database; the second filter replaced the first.
    ['--memory', 'delete', 'documents', '5'],
    ['--data-dir', 'scratch', 'delete', 'documents', '5'],
    ['delete', 'customers', '--filter', 'country=ZZ', '--filter', 'country=SE', '--no-cascade'],
    // An option of one value given twice: the last one won without a word (the noop job stayed).
    ['queue', 'cancel', '--type', 'noop', '--type', 'purge_expired', '--state', 'waiting'],
    ['migrate', 'start', 'archive-soft-deleted', '--older-than-days', '3000', '--older-than-days', '0'],
    ['queue', 'enqueue', 'noop', '--payload', '{}', '--payload', '{"sleepMs":1}'],
    // A key given twice: the last one picked the purge's target (the API refuses it).
    ['queue', 'enqueue', 'purge_expired', '--payload', '{"entity":"customers","entity":"orders"}'],
    ['delete', 'documents', '1', '--reason', 'a', '--reason', 'b'],
    // An option missing its value took the next flag as it: the cascade ran, reason "--no-cascade".
    ['delete', 'customers', '1', '--reason', '--no-cascade'],
    ['migrate', 'start', 'backfill-deleted-at', '--entity', '--dry-run'],
    // A group without its command printed the whole help on stderr.
    ['migrate'],
    ['queue', 'bogus'],
    ['migratex', 'stop', 'X', '--wait'],
  ];

  it('names a mistyped command, not an option of the command meant', async () => {
    for (const [args, said] of [
      [['migratex', 'stop', 'X', '--wait'], /^sdops: unknown command 'migratex' \(known: /],
      [['migrate', 'stopx', 'X', '--wait'], /^sdops: unknown migrate command 'stopx' \(known: /],
      [['--bogus'], /^sdops: unknown option '--bogus'$/],
      [['--json=1', 'list', 'customers'], /^sdops: unknown option '--json=1'$/],
      // An option of another command: commander guessed by spelling ("Did you mean one of --json, --version?").
      [
        ['restore', 'documents', '1', '--reason', 'x'],
        /^sdops: restore has no option '--reason' \(it is an option of: delete\)$/,
      ],
      [
        ['queue', 'status', '--batch-size=5'],
        /^sdops: queue status has no option '--batch-size' \(it is an option of: delete, restore, /,
      ],
      [
        ['delete', 'documents', '1', '--reasn', 'x'],
        /^sdops: unknown option '--reasn' \(Did you mean --reason\?\)$/,
      ],
    ] as const) {
      const r = await runCli([...args], env());
      expect(r.code, r.stderr).to.equal(2);
      expect(r.stderr.trim(), args.join(' ')).to.match(said);
    }
  });

  it("answers `sdops help <command>` with that command's help, as `<command> --help` does", async () => {
    // Before: "unknown command 'help'", exit 2: commander drops its help command once a group has an action.
    for (const [args, path] of [
      [['help', 'delete'], 'delete '],
      [['migrate', 'help', 'start'], 'migrate start '],
      [['help', 'queue', 'retry'], 'queue retry '],
      [['help', 'help'], ''],
    ] as const) {
      const r = await runCli([...args], env());
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout, args.join(' ')).to.match(new RegExp(`^Usage: sdops ${path}\\[options\\]`));
    }
    for (const [args, said] of [
      [['help', 'nosuch'], /^sdops: unknown command 'nosuch' \(known: delete, [^\n]*\n$/],
      [
        ['help', 'queue', 'nosuch'],
        /^sdops: unknown queue command 'nosuch' \(known: status, show, [^\n]*\n$/,
      ],
    ] as const) {
      const r = await runCli([...args], env());
      expect(r.code).to.equal(2);
      expect(r.stderr).to.match(said);
    }
  });

  it('prints exactly one line on stderr, nothing on stdout, and exits 2', async () => {
    for (const args of BAD) {
      const r = await runCli(args, env());
      const what = `sdops ${args.join(' ')}:\n${r.stderr}`;
      expect(r.code, what).to.equal(2);
      expect(r.stdout, what).to.equal('');
      expect(
        r.stderr.split('\n').filter((l) => l !== ''),
        what,
      ).to.have.length(1);
      expect(r.stderr, what)
        .to.match(/^sdops: /)
        .and.not.include(' at ');
    }
  });

  it('prints the error as one JSON line with --json: the API error shape plus its kind', async () => {
    for (const args of BAD) {
      const r = await runCli(['--json', ...args], env());
      const what = `sdops --json ${args.join(' ')}:\n${r.stderr}`;
      expect(r.code, what).to.equal(2);
      const lines = r.stderr.split('\n').filter((l) => l !== '');
      expect(lines, what).to.have.length(1);
      const body = JSON.parse(lines[0]!) as { error: { code: string; kind: string; message: string } };
      expect(body.error.kind, what).to.equal('invalid_input');
      expect(body.error.code, what).to.match(/^[a-z_]+$/);
      expect(body.error.message, what).to.be.a('string').and.not.equal('');
    }
    // After the command, as Commander also takes it: the output was JSON, its errors were not.
    const after = await runCli(['list', 'customers', '--scope', 'x', '--json'], env());
    expect(after.code, after.stderr).to.equal(2);
    expect(JSON.parse(after.stderr)).to.have.nested.property('error.code', 'invalid_scope');
    const failure = await runCli(
      ['migrate', 'status', '00000000-0000-7000-8000-000000000000', '--json'],
      env(),
    );
    expect(failure.code).to.equal(1);
    expect(JSON.parse(failure.stderr)).to.deep.include({
      error: {
        code: 'run_not_found',
        kind: 'not_found',
        message: 'no migration run with run_id 00000000-0000-7000-8000-000000000000',
      },
    });
  });

  it('names the missing entity of a bare archive first, and the missing age once the entity is there', async () => {
    const bare = await runCli(['archive'], env());
    expect(bare.code, bare.stderr).to.equal(2);
    // Before: "required option '--older-than-days <days>' not specified", with no entity given at all.
    expect(bare.stderr).to.equal("sdops: missing required argument 'entity'\n");
    const noAge = await runCli(['--json', 'archive', 'documents'], env());
    expect(noAge.code, noAge.stderr).to.equal(2);
    expect(JSON.parse(noAge.stderr)).to.deep.equal({
      error: {
        code: 'invalid_usage',
        kind: 'invalid_input',
        message: "required option '--older-than-days <days>' not specified",
      },
    });
  });

  it('names the flag that was typed, not the field behind it', async () => {
    // It said "deletedBy must be text of 1 to 1000 characters" for --by.
    const r = await runCli(['delete', 'documents', '1', '--by', 'x'.repeat(1001)], env());
    expect(r.code, r.stderr).to.equal(2);
    expect(r.stderr).to.match(/^sdops: --by must be text of 1 to 1000 characters/);
  });

  it('gives a flag the code the core gives the same mistake, so scripts branch on one code', async () => {
    // Each was invalid_argument, which docs/errors.md does not name for these.
    for (const [args, code] of [
      [['list', 'customers', '--scope', 'foo'], 'invalid_scope'],
      [['list', 'customers', '--limit', '0'], 'invalid_limit'],
      [['purge', 'documents', '--max-rows', '0'], 'invalid_max_rows'],
      // Past what a purge job's payload takes (before: any number up to 2^53).
      [['purge', 'documents', '--max-rows', '100000001'], 'invalid_max_rows'],
      // A malformed command line (before: invalid_argument, which docs/errors.md does not name for it).
      [
        ['queue', 'cancel', '--type', 'noop', '--type', 'purge_expired', '--state', 'waiting'],
        'invalid_usage',
      ],
      [['purge', 'documents', '--older-than-days', '-1'], 'invalid_older_than_days'],
      [['delete', 'customers', '1', '--batch-size', '0'], 'invalid_batch_size'],
      [['seed', '--rows', '-1'], 'invalid_rows'],
      [['seed', '--legacy-fraction', '2'], 'invalid_fraction'],
    ] as const) {
      const r = await runCli(['--json', ...args], env());
      expect(r.code, r.stderr).to.equal(2);
      expect((JSON.parse(r.stderr) as { error: { code: string } }).error.code, args.join(' ')).to.equal(code);
    }
  });

  it('does not count refused input as a failed operation; an attempted one that fails is counted', async () => {
    const failures = () =>
      otlp.points.filter(
        (p) => p.metric.startsWith('soft_delete.operations') && p.attributes.status === 'failure',
      );
    const calls = () =>
      otlp.points.filter((p) => p.metric === 'soft_delete.operations.duration_seconds#count');
    const refused = await runCli(['delete', 'customers', 'abc'], env());
    expect(refused.code).to.equal(2);
    expect(failures()).to.deep.equal([]);
    expect(calls()).to.deep.equal([]);
    // The listener does see operations: one on an id that does not exist was attempted, and failed.
    const attempted = await runCli(['delete', 'customers', '999999999'], env());
    expect(attempted.code).to.equal(1);
    expect(failures().length).to.be.greaterThan(0);
    // README: the error is the one line starting "sdops:"; the others are JSON log lines.
    const lines = attempted.stderr.split('\n').filter((l) => l !== '');
    const errors = lines.filter((l) => l.startsWith('sdops:'));
    expect(errors, attempted.stderr).to.deep.equal(['sdops: customers 999999999 does not exist']);
    for (const line of lines.filter((l) => !l.startsWith('sdops:'))) {
      const record = JSON.parse(line) as { level: string; message: string };
      // The caller's answer, not a warning beside the error line (this suite logs at info).
      if (record.message === 'soft_delete operation failed') expect(record.level, line).to.equal('info');
      // An expected outcome (not found) carries no stack.
      expect(line).to.not.include('"stack"');
    }
  });

  it('checks arguments before it opens a database: a typo creates no embedded data directory', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'sdops-typo-')), 'data');
    for (const args of [
      ['list', 'nosuch'],
      ['migrate', 'status', 'abc'],
      ['migrate', 'resume', 'abc'],
      ['queue', 'enqueue', 'nope'],
      ['queue', 'cancel', '--type', 'nope', '--state', 'waiting'],
      // These once opened (and created) the directory first, and were refused with exit 1 beside a serve.
      ['migrate', 'start', 'nope'],
      ['migrate', 'start', 'backfill-deleted-at', '--entity', 'frogs'],
      ['migrate', 'start', 'backfill-deleted-at', '--older-than-days', '5'],
      ['queue', 'enqueue', 'noop', '--payload', '[1]'],
      ['queue', 'enqueue', 'purge_expired', '--payload', '{"entity":"frogs"}'],
      ['queue', 'retry', 'not-a-uuid'],
      ['queue', 'cancel', 'not-a-uuid'],
      // Was refused only after the directory was made, or waited 60 s for an unreachable database.
      ['worker', '--job-types', 'bogus'],
    ]) {
      const r = await runCli(['--data-dir', dir, ...args], {
        DATABASE_URL: undefined,
        OTEL_SDK_DISABLED: 'true',
      });
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).to.equal(2);
      expect(existsSync(dir), `${args.join(' ')} opened the embedded database`).to.equal(false);
    }
    // Worker settings from the environment: refused only once the database was made and its schema applied.
    for (const [args, setting] of [
      [['worker'], { SDOPS_PURGE_CRON: '61 * * * *' }],
      [['worker', '--no-schedule'], { SDOPS_ARCHIVE_CRON: '30 25 * * *' }],
      [['serve', '--port', '0'], { SDOPS_WORKER_JOB_TYPES: 'bogus' }],
      [['serve', '--port', '0'], { SDOPS_PURGE_CRON: '61 * * * *' }],
    ] as const) {
      const r = await runCli(['--data-dir', dir, ...args], {
        DATABASE_URL: undefined,
        OTEL_SDK_DISABLED: 'true',
        ...setting,
      });
      expect(r.code, `${args.join(' ')} ${JSON.stringify(setting)}: ${r.stderr}`).to.equal(2);
      // The line names the variable, so the operator knows the flag is not the one at fault.
      expect(r.stderr, 'names the setting').to.include(Object.keys(setting)[0]);
      expect(existsSync(dir), `${args.join(' ')} ${JSON.stringify(setting)} opened the database`).to.equal(
        false,
      );
    }
  });

  it('refuses DATABASE_URL or SDOPS_DATA_DIR set but empty (an unset shell variable) in one line, exit 2, and opens no database', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'sdops-blank-'));
    for (const [name, env] of [
      ['DATABASE_URL', { DATABASE_URL: '' }],
      ['DATABASE_URL', { DATABASE_URL: '  ' }],
      ['SDOPS_DATA_DIR', { DATABASE_URL: undefined, SDOPS_DATA_DIR: '' }],
    ] as const) {
      const r = await runCommand(process.execPath, [SDOPS_BIN, 'list', 'documents'], {
        cwd,
        env: { ...process.env, OTEL_SDK_DISABLED: 'true', LOG_LEVEL: 'warn', ...env },
      });
      // Before: exit 0 on a new embedded database in ./.sdops/data, a warning its only sign.
      expect(r.code, `${JSON.stringify(env)}: ${r.stderr}`).to.equal(2);
      expect(r.stderr.trim().split('\n'), r.stderr).to.deep.equal([
        `sdops: ${name} is set but empty: give it a value, or unset it for ${name === 'DATABASE_URL' ? 'the embedded database' : 'the default, ./.sdops/data'}`,
      ]);
      expect(existsSync(join(cwd, '.sdops')), 'no embedded database was made').to.equal(false);
    }
    // Beside DATABASE_URL the directory is ignored, and so is its being empty (probe V).
    const beside = await runCli(['list', 'customers', '--limit', '1'], {
      DATABASE_URL: db.url,
      SDOPS_DATA_DIR: '',
    });
    expect(beside.code, beside.stderr).to.equal(0);
  });

  it('says how to leave DATABASE_URL out for --data-dir or --memory in a form that works', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'sdops-hint-')), 'data');
    const env = { ...process.env, OTEL_SDK_DISABLED: 'true', LOG_LEVEL: 'warn', DATABASE_URL: db.url };
    const refused = await runCommand(process.execPath, [SDOPS_BIN, '--data-dir', dir, 'list', 'customers'], {
      env,
    });
    expect(refused.code, refused.stderr).to.equal(2);
    const hint = /unset it \(run (.+), then the command again\)/.exec(refused.stderr)?.[1];
    // Before: "DATABASE_URL= sdops ...", which is refused as DATABASE_URL set but empty; then
    // "env -u DATABASE_URL sdops ...", which fails where sdops is an alias or npx (probe V).
    expect(hint, refused.stderr).to.equal('unset DATABASE_URL');
    // Followed in a shell where sdops is an alias, as the README sets one up.
    const followed = await runCommand(
      'bash',
      [
        '-O',
        'expand_aliases',
        '-c',
        `alias sdops='${process.execPath} ${SDOPS_BIN}'\n${hint}\nsdops --data-dir '${dir}' list customers`,
      ],
      { env },
    );
    expect(followed.code, followed.stderr).to.equal(0);
  });

  it('refuses an embedded database directory that cannot be made (a file in the way, /proc), as bad input', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'sdops-file-')), 'afile');
    writeFileSync(file, 'not a directory');
    for (const dir of [file, join(file, 'sub')]) {
      const r = await runCli(['--data-dir', dir, 'list', 'customers'], {
        DATABASE_URL: undefined,
        OTEL_SDK_DISABLED: 'true',
      });
      // Before: exit 1, "sdops: failed: EEXIST: file already exists, mkdir ...".
      expect(r.code, r.stderr).to.equal(2);
      expect(r.stderr.trim().split('\n')).to.have.length(1);
      expect(r.stderr).to.match(
        /^sdops: the embedded database directory .* cannot be created: a file is in the way/,
      );
    }
    // Node's own recursive mkdir never returned here: the command hung.
    const r = await runCli(['--data-dir', '/proc/sdops/data', 'list', 'customers'], {
      DATABASE_URL: undefined,
      OTEL_SDK_DISABLED: 'true',
    });
    expect(r.code, r.stderr).to.equal(2);
    expect(r.stderr).to.match(
      /^sdops: the embedded database directory \/proc\/sdops\/data cannot be created: .*\n$/,
    );
  });

  it('says there is no embedded database at a data directory that does not exist, and creates none, on db status', async () => {
    const missing = join(mkdtempSync(join(tmpdir(), 'sdops-typo-')), 'dat', 'a');
    const status = (dir: string) =>
      runCli(['--data-dir', dir, 'db', 'status'], { DATABASE_URL: undefined, OTEL_SDK_DISABLED: 'true' });
    const r = await status(missing);
    // Before: exit 0, "current: none; pending: 001_demo_domain, ...", and the directory made.
    expect(r.code, r.stderr).to.equal(1);
    expect(r.stderr).to.equal(
      `sdops: no embedded database at ${missing}: nothing was created there (check --data-dir or SDOPS_DATA_DIR; any other command creates it)\n`,
    );
    expect(existsSync(missing)).to.equal(false);
    // A file in the way is no missing database: refused as for any command (exit 2), not as one.
    const file = join(dirname(dirname(missing)), 'afile');
    writeFileSync(file, 'not a directory');
    const onFile = await status(file);
    expect(onFile.code, onFile.stderr).to.equal(2);
    expect(onFile.stderr).to.match(/cannot be created: a file is in the way/);
    // An empty directory (a volume mounted for it) holds none either. Before: 22 files made there.
    const empty = join(dirname(dirname(missing)), 'empty');
    mkdirSync(empty);
    const onEmpty = await status(empty);
    expect(onEmpty.code, onEmpty.stderr).to.equal(1);
    expect(onEmpty.stderr).to.equal(
      `sdops: no embedded database at ${empty}: the directory holds none yet (check --data-dir or SDOPS_DATA_DIR; any other command creates it)\n`,
    );
    expect(readdirSync(empty)).to.deep.equal([]);
    // Nor one holding only the mark of a creation a killed first start began.
    writeFileSync(join(empty, '.sdops-creating'), '1\n');
    expect((await status(empty)).code).to.equal(1);
    expect(readdirSync(empty)).to.deep.equal(['.sdops-creating']);
    // Unless a process holds it: that one may be creating its database right now (a seed starting).
    const held = await lockDataDir(empty);
    try {
      const busy = await status(empty);
      expect(busy.code, busy.stderr).to.equal(1);
      expect(busy.stderr).to.include(`is in use by process ${process.pid} `);
    } finally {
      await held.release();
    }
  });

  it('refuses a read-only embedded database directory as bad input, and names a foreign data directory', async () => {
    const base = mkdtempSync(join(tmpdir(), 'sdops-ro-'));
    const readOnly = join(base, 'ro');
    mkdirSync(readOnly, { mode: 0o555 });
    const opts = { DATABASE_URL: undefined, OTEL_SDK_DISABLED: 'true' };
    const r = await runCli(['--data-dir', readOnly, 'list', 'documents'], opts);
    // Before: exit 1, "sdops: failed: [object Object]" (PGlite checks the mode bits itself, root too).
    expect(r.code, r.stderr).to.equal(2);
    expect(r.stderr).to.equal(
      `sdops: the embedded database directory ${readOnly} is not writable: give its owner write permission, or choose another with --data-dir or SDOPS_DATA_DIR\n`,
    );
    const foreign = join(base, 'foreign');
    mkdirSync(foreign);
    expect((await runCli(['--data-dir', foreign, 'list', 'documents'], opts)).code).to.equal(0);
    writeFileSync(join(foreign, 'PG_VERSION'), '16\n');
    const old = await runCli(['--data-dir', foreign, 'db', 'status'], opts);
    // Before: "sdops: failed: PGlite failed to initialize properly".
    expect(old.code).to.equal(1);
    expect(old.stderr).to.match(
      /could not be opened .*; it holds data of PostgreSQL 16 and this sdops embeds PostgreSQL 18/,
    );
    // `--data-dir .` in a project wrote a database among its files: refused, the files left alone.
    const project = join(base, 'project');
    mkdirSync(join(project, 'src'), { recursive: true });
    writeFileSync(join(project, 'package.json'), '{}');
    const mixed = await runCli(['--data-dir', project, 'list', 'documents'], opts);
    expect(mixed.code, mixed.stderr).to.equal(2);
    expect(mixed.stderr).to.equal(
      `sdops: the embedded database directory ${project} is not empty and holds no database ("package.json", "src"): choose a new or empty directory\n`,
    );
    expect(readdirSync(project).sort()).to.deep.equal(['package.json', 'src']);
    // A database that lost its PG_VERSION (a partial copy) was initialised again over its files:
    // "no live rows", exit 0, every row gone from view.
    const partial = join(base, 'partial');
    expect((await runCli(['--data-dir', partial, 'seed', '--rows', '5'], opts)).code).to.equal(0);
    rmSync(join(partial, 'PG_VERSION'));
    const lost = await runCli(['--data-dir', partial, 'list', 'documents'], opts);
    expect(lost.code, lost.stderr).to.equal(2);
    expect(lost.stderr).to.equal(
      `sdops: the embedded database directory ${partial} holds a database without its PG_VERSION file (damaged, copied in part, or left by an older sdops whose first start was stopped while it created the database): restore the whole directory, delete it if it never held data, or choose another --data-dir\n`,
    );
    expect(readdirSync(partial)).to.not.include('PG_VERSION');
    // `--data-dir <dir>/.` (or `.` inside it) on an empty directory: the lock's holder file went
    // inside it (`..holder.json`), and the check above then refused the directory for it.
    const empty = join(base, 'empty');
    mkdirSync(empty);
    const dot = await runCli(['--data-dir', `${empty}/.`, 'list', 'documents'], opts);
    expect(dot.code, dot.stderr).to.equal(0);
    expect(readdirSync(empty)).to.include('PG_VERSION');
  });

  it('starts serve on PostgreSQL whatever the worker settings say: there it runs no worker', async () => {
    // A rolling upgrade's shared environment may name a job type only the newer release knows.
    const serve = spawnSdops(['serve', '--port', '0'], {
      ...env(),
      SDOPS_WORKER_JOB_TYPES: 'from_a_newer_release',
      SDOPS_PURGE_CRON: '61 * * * *',
      SDOPS_API_TOKENS: 'admin:bad-input-test-token-0001',
    });
    try {
      await serve.waitFor(/sdops api listening on/);
    } finally {
      expect(await serve.stop(), serve.output().slice(-2000)).to.equal(0);
    }
  });

  it('refuses a worker whose cron pg-boss cannot run, naming the variable, before the queue opens', async () => {
    for (const [name, cron] of [
      ['SDOPS_PURGE_CRON', 'a b c d e'],
      ['SDOPS_ARCHIVE_CRON', '99 99 * * *'],
    ] as const) {
      // Before: exit 1, "sdops: failed: Invalid characters, got value: a", after the queue had opened.
      for (const args of [['worker'], ['worker', '--no-schedule']]) {
        const r = await runCli(args, { ...env(), [name]: cron });
        expect(r.code, r.stderr).to.equal(2);
        expect(r.stderr.trim().split('\n'), r.stderr).to.have.length(1);
        expect(r.stderr).to.match(new RegExp(`^sdops: ${name} must be a 5-field cron expression`));
      }
    }
  });

  it('names a DATABASE_URL the server refuses, or one without a host, a database or a valid port or password escape, as configuration, at once', async () => {
    const withParam = (name: string, value: string) => {
      const u = new URL(db.url);
      u.searchParams.set(name, value);
      return u.href;
    };
    const noSuchDatabase = new URL(db.url);
    noSuchDatabase.pathname = '/no_such_database';
    const noSuchRole = new URL(db.url);
    noSuchRole.username = 'no_such_role';
    for (const [databaseUrl, said] of [
      // Before: exit 1, "failed" of kind internal.
      [
        noSuchDatabase.href,
        /^sdops: the database refused DATABASE_URL: database "no_such_database" does not exist$/,
      ],
      [noSuchRole.href, /^sdops: the database refused DATABASE_URL: role "no_such_role" does not exist$/],
      // Before: 60 s of waiting for 127.0.0.1:5432.
      ['postgres://', /^sdops: DATABASE_URL names no host/],
      // Before: exit 1, "failed" of kind internal; a typo in sslmode was taken as "use SSL".
      [withParam('sslmode', 'require'), /^sdops: the database does not support SSL connections/],
      [withParam('sslmode', 'requre'), /^sdops: DATABASE_URL's sslmode must be one of disable, /],
      [withParam('ssl', 'yes'), /^sdops: DATABASE_URL's ssl must be one of true, false, 1, 0$/],
      // Before: exit 0 over an unencrypted connection; node-postgres ignores a parameter it does not read.
      [
        withParam('ssl_mode', 'require'),
        /^sdops: DATABASE_URL's parameter 'ssl_mode' is not one the driver \(node-postgres\) reads, so it would have no effect: did you mean sslmode\?$/,
      ],
      [
        withParam('target_session_attrs', 'read-write'),
        /^sdops: DATABASE_URL's parameter 'target_session_attrs' is not one/,
      ],
      // Before: exit 1, "failed: URI malformed".
      ['postgres://app%zz@127.0.0.1:1/db', /^sdops: DATABASE_URL's user has a malformed percent-escape/],
      // Before: the password sent as it stood, refused as "password authentication failed" (a docs probe).
      [
        'postgres://app:se%zzt@127.0.0.1:1/db',
        /^sdops: DATABASE_URL's password has a malformed percent-escape.*%25$/,
      ],
      // Before: the user's default database (postgres) got sdops's tables, and every row asked for was missing.
      [`${db.url.replace(/\/[^/]*$/, '')}`, /^sdops: DATABASE_URL names no database: /],
      // Before: a minute of waiting, as for an outage.
      ['postgres://app@127.0.0.1:0/db', /^sdops: DATABASE_URL's port must be from 1 to 65535$/],
      ['postgres://app@127.0.0.1/db?port=0', /^sdops: DATABASE_URL's port must be from 1 to 65535$/],
      [withParam('sslcert', '/no/such/cert.pem'), /^sdops: DATABASE_URL's sslcert names a file .*\(ENOENT\)/],
      // Before: a minute of waiting, as for an outage (SQLSTATE 08P01 is in the connection class).
      [
        `${db.url.replace(/\/[^/]*$/, '')}/x%002`,
        /^sdops: the database refused the connection DATABASE_URL describes \(invalid startup packet layout/,
      ],
      [
        withParam('replication', 'database'),
        /^sdops: the database refused the connection DATABASE_URL describes \(extended query protocol/,
      ],
      [
        withParam('options', '-c search_path=no_such_schema'),
        /^sdops: the database session DATABASE_URL opens has no schema to keep sdops's tables in/,
      ],
      [
        withParam('options', '-c statement_timeout=abc'),
        /^sdops: the database refused a setting DATABASE_URL passes \(options\): invalid value for parameter "statement_timeout"/,
      ],
    ] as const) {
      const r = await runCli(['list', 'customers', '--limit', '1'], { ...env(), DATABASE_URL: databaseUrl });
      expect(r.code, r.stderr).to.equal(2);
      // Bad input is that one line alone (the driver's warning about sslmode=require was a second).
      const lines = r.stderr.trim().split('\n');
      expect(lines, databaseUrl).to.have.length(1);
      expect(lines[0], databaseUrl).to.match(said);
    }
  });

  it('refuses `db status` through a search_path naming no schema, instead of reporting no version applied', async () => {
    const u = new URL(db.url);
    u.searchParams.set('options', '-c search_path=no_such_schema');
    // Before: "current: none; pending: 001_demo_domain, ..." and exit 0, on an up-to-date database.
    const r = await runCli(['db', 'status'], { ...env(), DATABASE_URL: u.href });
    expect(r.code, r.stderr).to.equal(2);
    expect(r.stdout).to.equal('');
    expect(r.stderr.trim()).to.match(
      /^sdops: the database session DATABASE_URL opens has no schema to keep sdops's tables in/,
    );
  });

  it('reads through a read-only session on an up-to-date schema, and refuses a write there as configuration', async () => {
    const u = new URL(db.url);
    u.searchParams.set('options', '-c default_transaction_read_only=on');
    // Before: every command exited 1, "failed: cannot execute CREATE TABLE in a read-only transaction".
    const read = await runCli(['list', 'customers', '--limit', '1'], { ...env(), DATABASE_URL: u.href });
    expect(read.code, read.stderr).to.equal(0);
    const write = await runCli(['delete', 'customers', '1'], { ...env(), DATABASE_URL: u.href });
    // An attempted operation: its own failure line, then the one line that says what to fix.
    expect(write.code, write.stderr).to.equal(2);
    expect(write.stderr.trim().split('\n').at(-1), write.stderr).to.match(
      /^sdops: the database session DATABASE_URL opens is read-only \(a standby server, or default_transaction_read_only .*\(cannot execute [A-Z ]+ in a read-only transaction\)$/,
    );
  });

  it("takes libpq's socket form of DATABASE_URL, with a user before the empty host", async () => {
    const socketDir = process.env.SDOPS_TEST_PG_DIR;
    if (!socketDir) throw new Error('SDOPS_TEST_PG_DIR (the test cluster, its socket directory) is not set');
    const url = new URL(db.url);
    const socketUrl = `postgres://${url.username}@${url.pathname}?host=${socketDir}&port=${url.port}`;
    // Before: exit 2, "DATABASE_URL is not a valid URL".
    const r = await runCli(['--json', 'list', 'customers', '--limit', '1'], {
      ...env(),
      DATABASE_URL: socketUrl,
    });
    expect(r.code, r.stderr).to.equal(0);
  });

  it('refuses serve on a port another process holds as a conflict (exit 1: a supervisor retries), before its embedded worker takes a job', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const { port } = holder.address() as AddressInfo;
    try {
      const dir = join(mkdtempSync(join(tmpdir(), 'sdops-port-')), 'data');
      const r = await runCli(['--data-dir', dir, 'serve', '--port', String(port)], {
        DATABASE_URL: undefined,
        OTEL_SDK_DISABLED: 'true',
        LOG_LEVEL: 'info',
      });
      // Once exit 1, "sdops: failed: listen EADDRINUSE ...", after its worker had started; then exit
      // 2, which a supervisor reads as arguments to fix, while the holder may be a process stopping.
      expect(r.code, r.stderr).to.equal(1);
      expect(r.stderr.trim().split('\n')).to.deep.equal([
        `sdops: --port ${port} is in use on 127.0.0.1: another process listens there`,
      ]);
      // Nothing else: its worker's lines ("runs the cleanup worker too", "worker stopped") came first.
      expect(r.stdout, 'the in-process worker never started').to.equal('');
      // Before: the queue was set up and the cron schedules saved in it, on an exit that says nothing changed.
      expect(existsSync(dir), 'the embedded database was never opened').to.equal(false);
    } finally {
      holder.close();
    }
  });

  it('refuses serve --host with an address this machine does not have as bad input, in one line', async () => {
    // Before: exit 1, "sdops: failed: listen EADDRNOTAVAIL ...".
    const r = await runCli(['serve', '--host', '192.0.2.1', '--port', '0'], {
      ...env(),
      SDOPS_API_TOKENS: 'admin:bad-input-test-token-0001',
    });
    expect(r.code, r.stderr).to.equal(2);
    expect(
      r.stderr
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('sdops:')),
    ).to.deep.equal(['sdops: --host 192.0.2.1 is not an address of this machine']);
    // A name longer than any DNS name: getaddrinfo's EINVAL was "failed", exit 1.
    const long = 'a'.repeat(256);
    const named = await runCli(['serve', '--host', long, '--port', '0'], {
      ...env(),
      SDOPS_API_TOKENS: 'admin:bad-input-test-token-0001',
    });
    expect(named.code, named.stderr).to.equal(2);
    expect(named.stderr).to.include(`sdops: --host ${long} could not be resolved to an address (EINVAL)`);
  });

  it('runs the command when a telemetry variable is unusable, with one warning naming each', async () => {
    const r = await runCli(['delete', 'documents', '7'], {
      DATABASE_URL: db.url,
      // '0' is false to sdops; the SDK, which knows only true/false, said "Unknown value '0'".
      OTEL_SDK_DISABLED: '0',
      // Once: exit 1, "sdops: failed: Configuration: Could not parse user-provided export URL", and
      // the row not deleted; the timeout drew a second warning, from the SDK, as an export failure.
      OTEL_EXPORTER_OTLP_ENDPOINT: '127.0.0.1:4318',
      OTEL_EXPORTER_OTLP_TIMEOUT: 'abc',
    });
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/documents\s+delete\s+1\s+0\s+0/);
    const warnings = r.stderr
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as { message: string; reason?: string });
    for (const name of ['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_TIMEOUT']) {
      expect(
        warnings.filter((w) => w.message.startsWith(`${name} `)),
        r.stderr,
      ).to.have.length(1);
    }
    expect(
      warnings.filter((w) => /Unknown value|Configuration/.test(w.reason ?? '')),
      r.stderr,
    ).to.deep.equal([]);
  });

  it('never prints the password of an OTLP endpoint, whether it is refused or unreachable', async () => {
    for (const [id, endpoint] of [
      ['8', 'http://user:s3cretpw@127.0.0.1:1'],
      ['9', 'http://user:s3cretpw@127.0.0.1:99999'],
    ] as const) {
      const r = await runCli(['delete', 'documents', id], {
        DATABASE_URL: db.url,
        OTEL_SDK_DISABLED: 'false',
        OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
      });
      expect(r.code, r.stderr).to.equal(0);
      // Before: "endpoint":"http://user:s3cretpw@127.0.0.1:1" in the export warning, and the refused value.
      expect(r.stderr, endpoint).to.match(/telemetry export failed|OTEL_EXPORTER_OTLP_ENDPOINT is not/);
      expect(r.stderr, endpoint).to.not.include('s3cretpw');
    }
  });

  it('gives OTEL_LOG_LEVEL the SDK diagnostics it asks for on stderr, without a stack trace', async () => {
    for (const [level, expected] of [
      ['warn', /^$/],
      ['debug', /^opentelemetry debug: /m],
      ['garbage', /OTEL_LOG_LEVEL is not one of none, error, warn, info, debug, verbose, all/],
    ] as const) {
      const r = await runCli(['list', 'customers', '--limit', '1', '--json'], {
        DATABASE_URL: db.url,
        OTEL_SDK_DISABLED: 'false',
        OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
        OTEL_LOG_LEVEL: level,
      });
      expect(r.code, r.stderr).to.equal(0);
      expect(JSON.parse(r.stdout), level).to.be.an('object');
      // Before: "Current logger will overwrite one already registered from Error" and 12 stack lines.
      expect(r.stderr, level).to.not.match(/Current logger|\n\s+at /);
      expect(r.stderr.trim(), level).to.match(expected);
    }
  });

  it('ends quietly when the reader closes the pipe early (| head)', async () => {
    const result = await runCommand(
      'sh',
      ['-c', `"${process.execPath}" "${SDOPS_BIN}" list documents --limit 1000 | head -n 3`],
      { env: { ...process.env, DATABASE_URL: db.url, OTEL_SDK_DISABLED: 'true', LOG_LEVEL: 'warn' } },
    );
    expect(result.stdout.split('\n').filter((l) => l !== '')).to.have.length(3);
    expect(result.stderr).to.not.match(/EPIPE|Error|at /);
    expect(result.code).to.equal(0);
  });

  it('ends with its own exit code when the reader of stderr is gone (2>&1 | less quit)', async () => {
    const child = spawn(process.execPath, [SDOPS_BIN, 'delete', 'no_such_entity', '1'], {
      env: { ...process.env, DATABASE_URL: db.url, OTEL_SDK_DISABLED: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stderr.destroy();
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    // Before: the error line's EPIPE was uncaught, "a defect".
    expect(stdout).to.not.match(/nothing caught|EPIPE/);
    expect(code).to.equal(2);
  });
});

describe('sdops serve and worker refused at start, with telemetry on and no collector', function () {
  this.timeout(60_000);
  const env = {
    DATABASE_URL: undefined,
    OTEL_SDK_DISABLED: 'false',
    OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1',
  };

  it('print the refusal alone, one line, without a telemetry warning ahead of it', async () => {
    const base = mkdtempSync(join(tmpdir(), 'sdops-refused-'));
    try {
      const foreign = join(base, 'foreign');
      mkdirSync(foreign);
      writeFileSync(join(foreign, 'notes.txt'), 'x');
      const held = join(base, 'held');
      mkdirSync(held);
      const lock = await lockDataDir(held);
      try {
        for (const [dir, command, code, text] of [
          [foreign, 'serve', 2, 'is not empty and holds no database'],
          [foreign, 'worker', 2, 'is not empty and holds no database'],
          [held, 'worker', 1, `is in use by process ${process.pid} `],
        ] as const) {
          const args = ['--data-dir', dir, command, ...(command === 'serve' ? ['--port', '0'] : [])];
          const r = await runCli(args, env);
          expect(r.code, r.stderr).to.equal(code);
          // Before: a "telemetry export failed" warning came first, from the exit's last export.
          expect(r.stderr.trim().split('\n'), r.stderr).to.have.length(1);
          expect(r.stdout, 'serve and worker log to stdout').to.equal('');
          expect(r.stderr).to.include(text);
        }
      } finally {
        await lock.release();
      }
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });
});
