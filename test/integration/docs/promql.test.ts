import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { stringify } from 'yaml';
import { codeBlocks, RUNBOOK_PATH, readDoc } from '../../unit/docs/support/markdown.ts';

const run = promisify(execFile);

/**
 * Every PromQL query of the runbook parses: each becomes a recording rule in a scratch rules file
 * that `promtool check rules` validates (npm test installs promtool; see scripts/ensure-prometheus.sh).
 */
describe('the PromQL in the runbook', function () {
  this.timeout(60_000);

  it('parses with promtool, every query', async () => {
    const queries = codeBlocks(readDoc(RUNBOOK_PATH))
      .filter((b) => b.lang === 'promql')
      .map((b) => b.text.trim());
    expect(queries.length).to.be.greaterThan(10);
    const dir = await mkdtemp(join(tmpdir(), 'sdops-runbook-promql-'));
    try {
      const file = join(dir, 'runbook.rules.yml');
      const rules = queries.map((expr, i) => ({ record: `runbook_query_${i + 1}`, expr }));
      await writeFile(file, stringify({ groups: [{ name: 'runbook', rules }] }));
      let result: { stdout: string; stderr: string };
      try {
        result = await run('promtool', ['check', 'rules', file]);
      } catch (error) {
        const e = error as NodeJS.ErrnoException & { stdout?: string; stderr?: string };
        if (e.code === 'ENOENT') {
          throw new Error(
            'promtool is not on PATH: run through `npm test` or `bash scripts/ensure-prometheus.sh`',
          );
        }
        throw new Error(`promtool rejects a runbook query:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
      }
      expect(`${result.stdout}${result.stderr}`).to.include(`${queries.length} rules found`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
