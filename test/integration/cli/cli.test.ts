import { spawnSync } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { expect } from 'chai';
import pg from 'pg';
import { tableChecksums } from '../../support/checksum.ts';
import { REPO_ROOT, runCli, SDOPS_BIN } from '../../support/cli.ts';
import { signalAgain, spawnSdops } from '../../support/sdops-process.ts';
import { waitUntil } from '../../support/wait.ts';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.ts';

/** Runs `sdops` with its stdout on /dev/full, a disk that is always full; stderr as text. */
function onFullDisk(args: readonly string[], env: Record<string, string>) {
  const full = openSync('/dev/full', 'w');
  try {
    return spawnSync(process.execPath, [SDOPS_BIN, ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, OTEL_SDK_DISABLED: 'true', LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', full, 'pipe'],
      encoding: 'utf8',
      timeout: 60_000,
    });
  } finally {
    closeSync(full);
  }
}

describe('sdops CLI on PostgreSQL', function () {
  this.timeout(120_000);
  let db: TestDatabase;
  let env: Record<string, string>;

  async function query(sql: string, params: unknown[] = []): Promise<pg.QueryResult> {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      return await client.query(sql, params);
    } finally {
      await client.end();
    }
  }

  async function scalar(sql: string, params: unknown[] = []): Promise<string> {
    const { rows } = await query(sql, params);
    return String(Object.values(rows[0] as object)[0]);
  }

  before(async () => {
    db = await createTestDatabase();
    env = { DATABASE_URL: db.url };
    const seeded = await runCli(['seed', '--rows', '500', '--json'], env);
    expect(seeded.code, seeded.stderr).to.equal(0);
  });

  after(async () => {
    await db?.drop();
  });

  it('prints help for every command and exits 0', async () => {
    for (const args of [
      ['--help'],
      ['delete', '--help'],
      ['restore', '--help'],
      ['purge', '--help'],
      ['archive', '--help'],
      ['list', '--help'],
      ['seed', '--help'],
      ['db', 'migrate', '--help'],
      ['demo', '--help'],
    ]) {
      const r = await runCli(args, env);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).to.equal(0);
      expect(r.stdout).to.match(/Usage: sdops/);
    }
  });

  it('prints the version as text, and as JSON with --json', async () => {
    const text = await runCli(['--version'], env);
    expect(text.code).to.equal(0);
    expect(text.stdout).to.match(/^sdops \d+\.\d+\.\d+ \(Node\.js v\d+/);
    const json = await runCli(['--json', '--version'], env);
    expect(json.code).to.equal(0);
    expect(JSON.parse(json.stdout)).to.have.keys('version', 'node');
    // `--version` alone is answered before the program loads (bin/sdops.js); the program's own -V
    // (here after a global option) must say the same.
    const program = await runCli(['--memory', '-V'], env);
    expect(program.stdout).to.equal(text.stdout);
    expect(JSON.parse(json.stdout).version).to.equal(text.stdout.split(' ')[1]);
  });

  it('gives db status --json the same fields on a database with no version yet, current null', async () => {
    const r = await runCli(['--json', '--memory', 'db', 'status'], { DATABASE_URL: undefined });
    expect(r.code, r.stderr).to.equal(0);
    const status = JSON.parse(r.stdout);
    expect(status).to.have.keys('current', 'pending', 'unknown', 'changed');
    expect(status.current).to.equal(null);
    expect(status.pending).to.include('001_demo_domain');
  });

  it('reports that the schema is current when db migrate runs twice', async () => {
    const r = await runCli(['db', 'migrate'], env);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/schema is current/);
  });

  it('soft-deletes a customer with its orders and restores exactly those', async () => {
    const id = await scalar(
      'SELECT c.id FROM customers c WHERE c.deleted_at IS NULL AND EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id) ORDER BY id LIMIT 1',
    );
    const del = await runCli(['delete', 'customers', id, '--reason', 'gdpr request', '--json'], env);
    expect(del.code, del.stderr).to.equal(0);
    const result = JSON.parse(del.stdout);
    expect(result.counts).to.deep.equal({ success: 1, noop: 0, failure: 0 });
    expect(result.cascaded.orders).to.be.greaterThan(0);
    expect(await scalar('SELECT delete_reason FROM customers WHERE id = $1', [id])).to.equal('gdpr request');

    const again = await runCli(['delete', 'customers', id, '--json'], env);
    expect(JSON.parse(again.stdout).counts).to.deep.equal({ success: 0, noop: 1, failure: 0 });

    const restored = await runCli(['restore', 'customers', id, '--json'], env);
    expect(restored.code, restored.stderr).to.equal(0);
    expect(
      await scalar('SELECT count(*) FROM orders WHERE customer_id = $1 AND deleted_at IS NOT NULL', [id]),
    ).to.equal('0');
  });

  it('prints under the table of a delete the command that undoes it, and that command does', async () => {
    const ids = (
      await scalar(
        `SELECT string_agg(id::text, ',') FROM (SELECT id FROM documents WHERE deleted_at IS NULL ORDER BY id DESC LIMIT 3) d`,
      )
    ).split(',');
    const del = await runCli(['delete', 'documents', ...ids], env);
    expect(del.code, del.stderr).to.equal(0);
    const undo = /^undo: sdops (restore documents --filter delete_op_id=[0-9a-f-]{36})$/m.exec(
      del.stdout,
    )?.[1];
    expect(undo, del.stdout).to.be.a('string');
    const restored = await runCli([...(undo ?? '').split(' '), '--json'], env);
    expect(restored.code, restored.stderr).to.equal(0);
    expect(JSON.parse(restored.stdout).counts.success).to.equal(3);
    expect(
      await scalar('SELECT count(*) FROM documents WHERE id = ANY($1::bigint[]) AND deleted_at IS NULL', [
        ids,
      ]),
    ).to.equal('3');
  });

  it('says in one line that its output was lost when stdout fails (a full disk), exits 1, and keeps the delete', async () => {
    const id = await scalar('SELECT id FROM documents WHERE deleted_at IS NULL ORDER BY id LIMIT 1');
    const child = onFullDisk(['delete', 'documents', id], env);
    // Before: exit 1 with an uncaught ENOSPC stack trace, after the delete had committed.
    expect(child.status).to.equal(1);
    expect(child.stderr).to.match(
      /^sdops: the output could not be written \(ENOSPC[^\n]*\); whatever the command changed stays done\n$/,
    );
    expect(await scalar('SELECT deleted_at IS NOT NULL FROM documents WHERE id = $1', [id])).to.equal('true');
  });

  it('says so for `--version` too, which answers without the program, exit 1', () => {
    const child = onFullDisk(['--version'], {});
    // Before: exit 0 and not a word.
    expect(child.status).to.equal(1);
    expect(child.stderr).to.match(/^sdops: the output could not be written \(ENOSPC[^\n]*\)\n$/);
  });

  it('says that an id given twice counts once, so the counts add up to the rows', async () => {
    const id = await scalar('SELECT id FROM documents WHERE deleted_at IS NULL ORDER BY id LIMIT 1');
    const r = await runCli(['--json', 'delete', 'documents', id, id], env);
    expect(r.code, r.stderr).to.equal(0);
    expect(JSON.parse(r.stdout).counts).to.deep.equal({ success: 1, noop: 0, failure: 0 });
    // Before: nothing said why two ids made one success; then a second `sdops:` line, plain text under --json.
    const warned = r.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.message === '1 repeated id(s) left out: each row counts once');
    expect(warned, r.stderr).to.have.length(1);
    expect(warned[0]).to.include({
      level: 'warn',
      component: 'soft-delete',
      entity: 'documents',
      operation: 'delete',
    });
    expect(r.stderr).to.not.include('sdops:');
  });

  it('lists deleted rows only when asked with --scope deleted', async () => {
    const id = await scalar('SELECT id FROM documents WHERE deleted_at IS NULL ORDER BY id LIMIT 1');
    expect((await runCli(['delete', 'documents', id], env)).code).to.equal(0);
    const deleted = JSON.parse(
      (await runCli(['list', 'documents', '--scope', 'deleted', '--limit', '1000', '--json'], env)).stdout,
    );
    expect(deleted.rows.map((r: { id: string }) => String(r.id))).to.include(id);
    const live = JSON.parse((await runCli(['list', 'documents', '--limit', '1000', '--json'], env)).stdout);
    expect(live.rows.map((r: { id: string }) => String(r.id))).not.to.include(id);
  });

  const badInputs: [string, string[], RegExp][] = [
    ['an unknown entity', ['delete', 'invoices', '1'], /invoices/],
    ['a malformed id', ['delete', 'customers', '12abc'], /12abc/],
    ['an injection-shaped id', ['delete', 'customers', '1;DROP TABLE customers'], /id/],
    ['a negative batch size', ['delete', 'customers', '1', '2', '--batch-size=-5'], /--batch-size/],
    ['a zero batch size', ['purge', 'customers', '--batch-size', '0'], /--batch-size/],
    [
      'a filter on a column that is not allowed',
      ['delete', 'customers', '--filter', 'name=x'],
      /name|filter/,
    ],
    ['a malformed filter', ['delete', 'customers', '--filter', 'nonsense'], /--filter/],
    ['ids and a filter together', ['delete', 'orders', '1', '--filter', 'customer_id=1'], /not both/],
    ['no target at all', ['restore', 'orders'], /id/],
    ['an unknown option', ['delete', 'customers', '1', '--bogus'], /bogus/],
    ['a negative retention', ['purge', 'orders', '--older-than-days=-1'], /older-than-days/],
    ['an unknown scope', ['list', 'orders', '--scope', 'gone'], /scope/],
  ];
  for (const [what, args, mentions] of badInputs) {
    it(`exits 2 with one line naming the problem and changes nothing on ${what}`, async () => {
      const before = await tableChecksums(db.url);
      const r = await runCli(args, env);
      expect(r.code, r.stderr).to.equal(2);
      const firstLine = r.stderr.trim().split('\n')[0] ?? '';
      expect(firstLine).to.match(mentions);
      expect(await tableChecksums(db.url)).to.deep.equal(before);
    });
  }

  it('exits 1 and changes nothing when the id does not exist', async () => {
    const before = await tableChecksums(db.url);
    const r = await runCli(['delete', 'customers', '999999999'], env);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/not found|999999999/);
    expect(await tableChecksums(db.url)).to.deep.equal(before);
  });

  it('does the ids it can, prints the result, and exits 1 naming the ids of a list that do not exist', async () => {
    const id = await scalar('SELECT id FROM documents WHERE deleted_at IS NULL ORDER BY id DESC LIMIT 1');
    const r = await runCli(['--json', 'delete', 'documents', id, '999999991'], env);
    // Before, exit 0: a script could not tell that one of its ids was not there.
    expect(r.code, r.stderr).to.equal(1);
    expect(JSON.parse(r.stdout)).to.deep.include({
      counts: { success: 1, noop: 0, failure: 1 },
      notFoundIds: ['999999991'],
    });
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('{"error"'));
    expect(errors).to.have.length(1);
    expect(JSON.parse(errors[0]!).error).to.deep.equal({
      code: 'not_found',
      kind: 'not_found',
      message: '1 of 2 documents rows failed (not found: 999999991); the others were done',
    });
    expect(await scalar('SELECT deleted_at IS NOT NULL FROM documents WHERE id = $1', [id])).to.equal('true');
  });

  it('says how many missing ids it did not list past the first 100', async () => {
    const missing = Array.from({ length: 130 }, (_, i) => String(999_000_000 + i));
    const r = await runCli(['delete', 'documents', ...missing], env);
    expect(r.code, r.stderr).to.equal(1);
    // It ended at the hundredth id, as if those were all.
    expect(r.stderr).to.include('999000099; 30 more not listed); none was changed');
  });

  it("quotes a trigger's refusal (it has no constraint name to give), as constraint_violation", async () => {
    const id = await scalar(
      'SELECT id FROM documents WHERE deleted_at IS NULL ORDER BY id DESC OFFSET 3 LIMIT 1',
    );
    await query(`CREATE FUNCTION refuse_for_cli_test() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'documents are kept by the records team' USING ERRCODE = 'check_violation'; END $$;
      CREATE TRIGGER kept_by_records BEFORE UPDATE ON documents FOR EACH ROW
        WHEN (NEW.id = ${Number(id)}) EXECUTE FUNCTION refuse_for_cli_test()`);
    try {
      const r = await runCli(['--json', 'delete', 'documents', id], env);
      expect(r.code).to.equal(1);
      const line = r.stderr.split('\n').find((l) => l.startsWith('{"error"'));
      // Before: "SQLSTATE 23514" alone; the rule's own words were only in a warning log line.
      expect(JSON.parse(line ?? '{}').error).to.deep.equal({
        code: 'constraint_violation',
        kind: 'conflict',
        message: 'the database refused the change: SQLSTATE 23514 (documents are kept by the records team)',
      });
    } finally {
      await query('DROP TRIGGER kept_by_records ON documents; DROP FUNCTION refuse_for_cli_test()');
    }
  });

  it("writes a failed migration run's warnings before its summary and error line, not after them", async () => {
    await query(`UPDATE documents SET is_deleted = true, deleted_at = NULL
      WHERE id IN (SELECT id FROM documents WHERE deleted_at IS NULL ORDER BY id DESC LIMIT 20)`);
    await query(`CREATE FUNCTION refuse_backfill() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'kept' USING ERRCODE = 'check_violation'; END $$;
      CREATE TRIGGER refuse_backfill BEFORE UPDATE ON documents FOR EACH ROW
        WHEN (NEW.is_deleted AND NEW.deleted_at IS NOT NULL) EXECUTE FUNCTION refuse_backfill()`);
    try {
      const r = await runCli(
        ['migrate', 'start', 'backfill-deleted-at', '--entity', 'documents', '--batch-size', '10'],
        env,
      );
      expect(r.code, r.stderr).to.equal(1);
      const lines = r.stderr.trim().split('\n');
      const ended = lines.findIndex((l) => l.includes('"message":"migration ended"'));
      const error = lines.findIndex((l) => l.startsWith('sdops: run '));
      // Before: the error line, then "migration ended" and the last batch's warnings after it.
      expect(ended, r.stderr).to.be.at.least(0);
      expect(error, r.stderr).to.equal(lines.length - 1);
    } finally {
      await query('DROP TRIGGER refuse_backfill ON documents; DROP FUNCTION refuse_backfill()');
      await query('UPDATE documents SET is_deleted = false WHERE is_deleted AND deleted_at IS NULL');
    }
  });

  it('says how many rows its committed batches handled when a bulk delete fails midway', async () => {
    const ids = (
      await scalar(
        `SELECT string_agg(id::text, ' ' ORDER BY id) FROM
           (SELECT id FROM documents WHERE deleted_at IS NULL ORDER BY id LIMIT 30) d`,
      )
    ).split(' ');
    // Three of them were deleted before: handled, not changed ("20 handled" read as 20 deleted).
    await query(`UPDATE documents SET deleted_at = now() WHERE id IN (${ids.slice(0, 3).join(',')})`);
    // Another team's rule refuses the 25th row: batches 1 and 2 (10 rows each) are committed by then.
    await query(
      `ALTER TABLE documents ADD CONSTRAINT kept_for_cli_test CHECK (id <> ${Number(ids[24])} OR deleted_at IS NULL)`,
    );
    try {
      const r = await runCli(
        ['delete', 'documents', ...ids, '--batch-size', '10', '--reason', 'midway'],
        env,
      );
      expect(r.code).to.equal(1);
      const lines = r.stderr
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('sdops: '));
      expect(lines, r.stderr).to.have.length(1);
      // Named as the API names it (409 constraint_violation), not "failed".
      expect(lines[0]).to.match(/^sdops: the database refused the change: constraint "kept_for_cli_test"/);
      expect(lines[0]).to.include(
        '20 documents rows were handled (17 of them changed) in 2 batches committed before it',
      );
      expect(await scalar(`SELECT count(*) FROM documents WHERE delete_reason = 'midway'`)).to.equal('17');
      // Before, the op id of those 20 was printed nowhere: undoing them took SQL.
      const op = await scalar(
        `SELECT DISTINCT delete_op_id::text FROM documents WHERE delete_reason = 'midway'`,
      );
      expect(lines[0]).to.include(
        `and they stay (undo them: sdops restore documents --filter delete_op_id=${op});`,
      );
    } finally {
      await query('ALTER TABLE documents DROP CONSTRAINT kept_for_cli_test');
    }
  });
});

describe('sdops CLI bulk work stopped with Ctrl-C or SIGTERM', function () {
  this.timeout(120_000);
  let db: TestDatabase;
  let pool: pg.Pool;
  const n = async (sql: string) => Number((await pool.query<{ n: string }>(sql)).rows[0]?.n);

  before(async () => {
    db = await createTestDatabase();
    expect((await runCli(['seed', '--rows', '400'], { DATABASE_URL: db.url })).code).to.equal(0);
    pool = new pg.Pool({ connectionString: db.url, max: 1 });
    // 20 ms per customer: the command is still at work when the signal comes.
    await pool.query(`CREATE FUNCTION slow_row() RETURNS trigger LANGUAGE plpgsql AS
      $$ BEGIN PERFORM pg_sleep(0.02); RETURN NEW; END $$;
      CREATE TRIGGER slow BEFORE UPDATE ON customers FOR EACH ROW EXECUTE FUNCTION slow_row()`);
  });

  after(async () => {
    await pool?.end();
    await db?.drop();
  });

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`stops after the batch in flight on ${signal}, prints and counts what it did, and exits 1 saying so`, async () => {
      const reason = `stopped-${signal}`;
      const deleting = spawnSdops(
        ['--json', 'delete', 'customers', '--filter', 'plan=pro', '--batch-size', '5', '--reason', reason],
        { DATABASE_URL: db.url },
      );
      try {
        await waitUntil('the first batch to commit', async () => {
          return (await n(`SELECT count(*) AS n FROM customers WHERE delete_reason = '${reason}'`)) > 0;
        });
        deleting.child.kill(signal);
        expect(await deleting.exited, deleting.output().slice(-2000)).to.equal(1);
      } finally {
        await deleting.stop('SIGKILL');
      }
      const deleted = await n(`SELECT count(*) AS n FROM customers WHERE delete_reason = '${reason}'`);
      const live = await n(`SELECT count(*) AS n FROM customers WHERE plan = 'pro' AND deleted_at IS NULL`);
      expect(live, 'it stopped before the end').to.be.greaterThan(0);
      const out = deleting.output();
      // Before, the process died at once: rows changed, nothing printed, nothing counted.
      // With --json, stderr holds JSON lines only: the error line below says it stopped.
      expect(out).to.not.include('stopping delete customers after the batch in flight');
      const result = JSON.parse(out.slice(out.indexOf('{\n'), out.indexOf('\n}\n') + 2)) as {
        counts: { success: number; noop: number; failure: number };
        cascaded: { orders: number; order_items: number };
        stopped?: string;
      };
      expect(result.stopped).to.equal('interrupted');
      expect(result.counts.success).to.equal(deleted);
      expect(out, 'its operation line, whose fields the metrics count too').to.match(
        new RegExp(`"message":"soft_delete operation interrupted".*"operation":"delete".*"count":${deleted}`),
      );
      const errors = out.split('\n').filter((l) => l.startsWith('{"error"'));
      expect(errors, out.slice(-2000)).to.have.length(1);
      const error = JSON.parse(errors[0]!).error;
      expect(error.code).to.equal('operation_stopped');
      // Handled: changed, or noop (the pro customers an earlier case deleted).
      const handled = result.counts.success + result.counts.noop + result.counts.failure;
      const { orders, order_items: items } = result.cascaded;
      expect(error.message).to.match(
        new RegExp(
          `^delete customers stopped: ${handled} customers rows \\(with ${orders} orders, ${items} order_items rows by cascade\\) were handled`,
        ),
      );
    });
  }

  it('takes a Ctrl-C that reaches it twice at once (the terminal and npm run, which passes it on) as one: it stops after the batch in flight', async () => {
    const reason = 'relayed-ctrl-c';
    const deleting = spawnSdops(
      ['delete', 'customers', '--filter', 'plan=free', '--batch-size', '5', '--reason', reason],
      { DATABASE_URL: db.url },
    );
    try {
      await waitUntil('the first batch to commit', async () => {
        return (await n(`SELECT count(*) AS n FROM customers WHERE delete_reason = '${reason}'`)) > 0;
      });
      deleting.child.kill('SIGINT');
      deleting.child.kill('SIGINT');
      // Before: "aborted at once by a second SIGINT", exit 130, the batch in flight rolled back.
      expect(await deleting.exited, deleting.output().slice(-2000)).to.equal(1);
    } finally {
      await deleting.stop('SIGKILL');
    }
    expect(deleting.output()).to.match(/^sdops: delete customers stopped: /m);
    expect(deleting.output()).to.not.include('aborted at once');
  });

  it('says in one line what stays when a second Ctrl-C aborts it at once, and exits 130', async () => {
    const reason = 'aborted-twice';
    // The second batch's first row stays locked, so that batch is in flight whenever the second
    // Ctrl-C comes: a batch that merely takes long can still end first on a loaded machine.
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    await holder.query('BEGIN');
    const locked = await holder.query(`SELECT id FROM customers WHERE id = (SELECT id FROM customers
      WHERE plan = 'enterprise' AND deleted_at IS NULL ORDER BY id OFFSET 50 LIMIT 1) FOR UPDATE`);
    expect(locked.rowCount, 'a second batch of enterprise customers to hold').to.equal(1);
    const deleting = spawnSdops(
      ['delete', 'customers', '--filter', 'plan=enterprise', '--batch-size', '50', '--reason', reason],
      { DATABASE_URL: db.url },
    );
    try {
      await waitUntil('the first batch to commit', async () => {
        return (await n(`SELECT count(*) AS n FROM customers WHERE delete_reason = '${reason}'`)) > 0;
      });
      deleting.child.kill('SIGINT');
      await deleting.waitFor(/again to abort/);
      await signalAgain(deleting.child, 'SIGINT');
      expect(await deleting.exited, deleting.output().slice(-2000)).to.equal(130);
    } finally {
      await deleting.stop('SIGKILL');
      await holder.query('ROLLBACK');
      await holder.end();
    }
    // Before: exit 130 and not a word.
    const line =
      /^sdops: delete customers aborted at once by a second SIGINT: the batch in flight rolls back; (\d+) customers rows \(with (\d+) orders, (\d+) order_items rows by cascade\) were handled in \d+ batch(?:es)? committed before it, and they stay \(undo them: sdops restore customers --filter delete_op_id=([0-9a-f-]{36})\); running the same command again does the rest, under an op id of its own \(undoing all of it then takes both restores\)$/m.exec(
        deleting.output(),
      );
    expect(line, deleting.output().slice(-2000)).to.not.equal(null);
    const deleted = await n(`SELECT count(*) AS n FROM customers WHERE delete_reason = '${reason}'`);
    // A batch whose COMMIT was already on its way may land too.
    expect(deleted).to.be.within(Number(line?.[1]), Number(line?.[1]) + 50);
    // Before, the line named the customers only: the orders and items the cascade took stay too.
    const orders = await n(
      `SELECT count(*) AS n FROM orders WHERE delete_op_id IN (SELECT delete_op_id FROM customers WHERE delete_reason = '${reason}')`,
    );
    expect(Number(line?.[2])).to.be.above(0);
    expect(orders).to.be.at.least(Number(line?.[2]));
    expect(
      await n(`SELECT count(*) AS n FROM customers WHERE delete_op_id = '${line?.[4]}'`),
      'the undo line names the op id of the rows it deleted',
    ).to.equal(deleted);
  });
});

describe('sdops demo on the embedded database', function () {
  this.timeout(180_000);

  it('runs the whole sequence in memory and prints the summary table', async () => {
    const r = await runCli(['--memory', 'demo', '--rows', '2000'], { DATABASE_URL: undefined });
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/Soft-delete demo summary/);
    for (const op of ['delete', 'restore', 'archive', 'purge']) expect(r.stdout).to.include(op);
    expect(r.stdout).to.match(/delete it again \(noop\)\s+customers\s+delete\s+0\s+1\s+0/);
  });

  it('gives a --loop one JSON line per run with --json, and says once why it reuses its data', async () => {
    const loop = (json: boolean) =>
      spawnSdops(
        [...(json ? ['--json'] : []), '--memory', 'demo', '--rows', '1000', '--loop', '--pause-ms', '50'],
        {
          DATABASE_URL: undefined,
        },
      );
    const json = loop(true);
    let stdout = '';
    json.child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString('utf8');
    });
    try {
      await json.waitFor(/"acts"[\s\S]*"acts"[\s\S]*"acts"/);
      json.child.kill('SIGINT');
      expect(await json.exited, json.output().slice(-2000)).to.equal(0);
    } finally {
      await json.stop('SIGKILL');
    }
    // Before: pretty-printed documents back to back, which no JSON or JSON Lines reader takes.
    const lines = stdout.trim().split('\n');
    expect(lines.length).to.be.at.least(3);
    for (const line of lines) expect(JSON.parse(line)).to.have.property('acts');

    const text = loop(false);
    try {
      await text.waitFor(/(Soft-delete demo summary[\s\S]*){3}/);
      text.child.kill('SIGINT');
      expect(await text.exited, text.output().slice(-2000)).to.equal(0);
    } finally {
      await text.stop('SIGKILL');
    }
    // Before: "already holds demo data ... --reset" on every run after the first, the loop's own data.
    expect(text.output()).not.to.include('already holds demo data');
  });

  it('says what Ctrl-C does, and a --loop stops in its pause at once', async () => {
    const demo = spawnSdops(['--memory', 'demo', '--rows', '2000', '--loop', '--pause-ms', '120000'], {
      DATABASE_URL: undefined,
    });
    try {
      await demo.waitFor(/Soft-delete demo summary/); // the first run is done: the loop pauses
      const signalled = Date.now();
      demo.child.kill('SIGINT');
      // Before: nothing was printed, and the loop slept out its pause before it stopped.
      await demo.waitFor(/SIGINT: the demo finishes the run in progress, then stops/);
      expect(await demo.exited, demo.output().slice(-2000)).to.equal(0);
      expect(Date.now() - signalled, 'stopped in its pause').to.be.below(30_000);
    } finally {
      await demo.stop('SIGKILL');
    }
  });
});
