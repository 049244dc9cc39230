import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { stringify } from 'yaml';
import { prometheusTool, promtool } from '../../support/prometheus-bin.ts';
import { codeBlocks, RUNBOOK_PATH, readDoc } from '../../unit/docs/support/markdown.ts';

/**
 * Every PromQL query of the runbook parses: each becomes a recording rule in a scratch rules file
 * that `promtool check rules` validates (promtool of the release compose runs; see scripts/prometheus-build.sh).
 */
describe('the PromQL in the runbook', function () {
  this.timeout(60_000);

  // Without SDOPS_PROMETHEUS_BIN_DIR (scripts/test.sh sets it) promtool is built first, 10-16 minutes
  // on a cold cache: wait for it here, so no test times out and leaves the build running.
  before(async function () {
    this.timeout(20 * 60_000);
    await prometheusTool('promtool');
  });

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
      const { code, output } = await promtool(['check', 'rules', file]);
      expect(code, `promtool rejects a runbook query:\n${output}`).to.equal(0);
      expect(output).to.include(`${queries.length} rules found`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
