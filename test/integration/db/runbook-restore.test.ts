import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { type CliResult, runCommand, SDOPS_BIN } from '../../support/cli.ts';
import { section } from '../../drills/support/runbook.ts';
import { codeBlocks } from '../../unit/docs/support/markdown.ts';

/**
 * The runbook's "put the data back" block of "Procedure: the embedded database is in use", run as
 * an operator runs it: pasted whole, from the directory sdops runs in, with the default relative
 * data directory and the set-aside folder's path as the warning prints it. A probe pasting that
 * path lost the data (the block's `find` deleted the folder too), and its last line looked for the
 * database inside the data directory.
 */

const PLACEHOLDER = '<the folder the warning named>';

function restoreBlock(): string {
  const block = codeBlocks(section('Procedure: the embedded database is in use').text).find(
    (b) => b.lang === 'bash' && b.text.includes(PLACEHOLDER),
  );
  if (!block) throw new Error(`the section has no bash block with ${PLACEHOLDER}`);
  return block.text;
}

describe("the runbook's restore of an embedded database whose files a start set aside", function () {
  this.timeout(180_000);
  let work = '';

  afterEach(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  /** A bash in an empty working directory whose `sdops` is this checkout's. */
  async function operatorShell(): Promise<(script: string) => Promise<CliResult>> {
    work = await mkdtemp(join(tmpdir(), 'sdops-runbook-restore-'));
    const bin = join(work, 'bin');
    const sdops = join(bin, 'sdops');
    await mkdir(bin);
    await mkdir(join(work, 'app'));
    await writeFile(sdops, `#!/bin/sh\nexec '${process.execPath}' '${SDOPS_BIN}' "$@"\n`);
    await chmod(sdops, 0o755);
    const env = {
      PATH: `${bin}:${process.env.PATH ?? ''}`,
      HOME: process.env.HOME ?? work,
      OTEL_SDK_DISABLED: 'true',
      LOG_LEVEL: 'warn',
    };
    return (script) => runCommand('bash', ['-c', script], { cwd: join(work, 'app'), env });
  }

  it('brings the rows back when the warning printed a relative path, and leaves nothing set aside', async () => {
    const sh = await operatorShell();
    const seeded = await sh('sdops --json seed --rows 40');
    expect(seeded.code, seeded.stderr).to.equal(0);
    const customers = (JSON.parse(seeded.stdout) as Record<string, number>).customers ?? 0;
    expect(customers).to.be.greaterThan(0);
    // The mark beside a database that holds data (a copy made by hand with the mark among it).
    await writeFile(join(work, 'app', '.sdops', 'data', '.sdops-creating'), '12345\n');
    const moved = await sh('sdops list customers');
    const printed = /its files were moved to (\S+)/.exec(moved.stderr)?.[1];
    expect(printed, moved.stderr).to.match(/\.sdops-unfinished-/);

    const run = await sh(restoreBlock().replace(PLACEHOLDER, printed as string));
    expect(run.code, `${run.stdout}\n${run.stderr}`).to.equal(0);
    expect(run.stdout).to.not.include('nothing was changed');
    const counted = await sh(
      `sdops --json list customers --scope all --limit ${customers + 10} | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).rows.length))'`,
    );
    expect(counted.stdout.trim(), counted.stderr).to.equal(String(customers));
    const left = (await readdir(join(work, 'app', '.sdops', 'data'))).filter((n) => n.startsWith('.sdops-'));
    expect(left, 'no folder set aside, no creation mark').to.deep.equal([]);
  });

  it('changes nothing when the folder it is given is not in the directory', async () => {
    const sh = await operatorShell();
    expect((await sh('sdops seed --rows 10')).code).to.equal(0);
    const before = (await readdir(join(work, 'app', '.sdops', 'data'))).sort();
    const run = await sh(restoreBlock().replace(PLACEHOLDER, '.sdops/data/.sdops-unfinished-never'));
    expect(run.stdout).to.include(
      './.sdops/data/.sdops-unfinished-never is not the newest set-aside folder holding a database: nothing was changed',
    );
    expect((await readdir(join(work, 'app', '.sdops', 'data'))).sort()).to.deep.equal(before);
  });

  it('changes nothing when given an older set-aside folder, and leaves it there after the right one is restored', async () => {
    const sh = await operatorShell();
    const seeded = await sh('sdops --json seed --rows 20');
    expect(seeded.code, seeded.stderr).to.equal(0);
    const data = join(work, 'app', '.sdops', 'data');
    // A leftover of an earlier incident, never deleted for you (a probe pasted its path and lost the data).
    const older = '.sdops-unfinished-2020-01-01T00-00-00.000Z';
    await mkdir(join(data, older));
    await writeFile(join(data, older, 'PG_VERSION'), '17\n');
    await writeFile(join(data, '.sdops-creating'), '12345\n');
    const moved = await sh('sdops list customers');
    const printed = /its files were moved to (\S+)/.exec(moved.stderr)?.[1] as string;
    const wrong = await sh(restoreBlock().replace(PLACEHOLDER, join('.sdops', 'data', older)));
    expect(wrong.stdout).to.include(
      'is not the newest set-aside folder holding a database: nothing was changed',
    );
    expect(await readdir(data)).to.include.members([older, printed.split('/').at(-1) as string]);

    const right = await sh(restoreBlock().replace(PLACEHOLDER, printed));
    expect(right.code, `${right.stdout}\n${right.stderr}`).to.equal(0);
    const listed = await sh('sdops --json list customers --scope all --limit 1');
    expect(listed.code, listed.stderr).to.equal(0);
    expect(
      (JSON.parse(listed.stdout) as { rows: unknown[] }).rows,
      'the seeded rows are back',
    ).to.have.length(1);
    expect(await readdir(data), 'the older folder stays; the restored one is gone').to.include(older);
    expect((await readdir(data)).filter((n) => n.startsWith('.sdops-unfinished-'))).to.deep.equal([older]);
  });
});
