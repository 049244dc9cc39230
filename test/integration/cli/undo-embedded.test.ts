import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { runCli } from '../../support/cli.ts';

describe("a CLI delete's undo line on the embedded database", function () {
  this.timeout(120_000);
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sdops-undo-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('names the data directory SDOPS_DATA_DIR chose, so pasted where that is unset it restores the rows', async () => {
    const here = { SDOPS_DATA_DIR: dir, DATABASE_URL: undefined };
    expect((await runCli(['seed', '--rows', '20'], here)).code).to.equal(0);
    const listed = await runCli(['--json', 'list', 'documents', '--limit', '1'], here);
    const id = String((JSON.parse(listed.stdout) as { rows: { id: string }[] }).rows[0]?.id);
    const deleted = await runCli(['delete', 'documents', id], here);
    expect(deleted.code, deleted.stderr).to.equal(0);
    // Before: `undo: sdops restore ...`, which elsewhere restored nothing in a new, empty database.
    const undo = /^undo: sdops (--data-dir \S+ restore documents --filter delete_op_id=\S+)$/m.exec(
      deleted.stdout,
    )?.[1];
    expect(undo?.startsWith(`--data-dir ${dir} restore documents`), deleted.stdout).to.equal(true);
    const restored = await runCli(['--json', ...(undo ?? '').split(' ')], {
      SDOPS_DATA_DIR: undefined,
      DATABASE_URL: undefined,
    });
    expect(restored.code, restored.stderr).to.equal(0);
    expect((JSON.parse(restored.stdout) as { counts: { success: number } }).counts.success).to.equal(1);
  });
});
