import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { stringify } from 'yaml';
import { PANEL_IDS } from '../../grafana/src/index.ts';
import { prometheusTool, promtool } from '../support/prometheus-bin.ts';
import { panelQuery } from '../pipeline/workload/query.ts';

/**
 * Panel queries read by promtool over made-up histories, where a panel must tell a state apart that
 * the workload test never reaches (a collector outage against a service that is really down).
 */
describe('dashboard panels over made-up histories (promtool)', function () {
  this.timeout(60_000);
  let dir: string;
  before(async function () {
    this.timeout(20 * 60_000);
    await prometheusTool('promtool');
    dir = await mkdtemp(join(tmpdir(), 'sdops-panels-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('shows the live processes of a service as a gap during a collector outage, and as 0 when the service is down', async () => {
    const expr = panelQuery(PANEL_IDS.liveProcesses, 'A');
    const worker = (values: string) => ({
      series: 'process_uptime_seconds{job="sdops-worker",instance="w1"}',
      values,
    });
    const collector = (values: string) => ({
      series: 'up{job="otel-collector-exporter",instance="otel-collector:8889"}',
      values,
    });
    const file = join(dir, 'live-processes.test.yml');
    await writeFile(
      file,
      stringify({
        rule_files: [],
        evaluation_interval: '15s',
        tests: [
          // The collector stops at 5m for 4 minutes: the worker's series go stale with it.
          {
            interval: '15s',
            input_series: [worker('0+15x20 stale _x15 375+15x10'), collector('1x20 0x16 1x10')],
            promql_expr_test: [
              { expr, eval_time: '4m', exp_samples: [{ labels: '{job="sdops-worker"}', value: 1 }] },
              { expr, eval_time: '8m', exp_samples: [] },
            ],
          },
          // The worker is killed at 5m while the collector runs: its last value stays in the scrape.
          {
            interval: '15s',
            input_series: [worker('0+15x20 300x26'), collector('1x46')],
            promql_expr_test: [
              { expr, eval_time: '8m', exp_samples: [{ labels: '{job="sdops-worker"}', value: 0 }] },
            ],
          },
        ],
      }),
    );
    const { code, output } = await promtool(['test', 'rules', file]);
    expect(code, output).to.equal(0);
  });
});
