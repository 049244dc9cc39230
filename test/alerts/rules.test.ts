import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { parse } from 'yaml';
import {
  ALERT_RULES,
  GRAFANA_URL_DEFAULT,
  PINT_VERSION,
  PROMETHEUS_RULES_FILE,
  prometheusRules,
  REPO_ROOT,
  RUNBOOK_ANCHORS,
  RUNBOOK_URL_PATH,
} from '../../grafana/src/index.ts';
import { prometheusTool, promtool } from '../support/prometheus-bin.ts';

const TEST_DIR = 'test/alerts';

async function testFiles(): Promise<string[]> {
  const names = await readdir(join(REPO_ROOT, TEST_DIR));
  return names.filter((n) => n.endsWith('.test.yml')).map((n) => `${TEST_DIR}/${n}`);
}

interface AlertTestCase {
  eval_time: string;
  alertname: string;
  exp_alerts?: unknown[];
}

describe('Prometheus alert rules (promtool)', function () {
  this.timeout(60_000);

  // Without SDOPS_PROMETHEUS_BIN_DIR (scripts/test.sh sets it) promtool is built first, 10-16 minutes
  // on a cold cache: wait for it here, so no test times out and leaves the build running.
  before(async function () {
    this.timeout(20 * 60_000);
    await prometheusTool('promtool');
  });

  it('pass `promtool check rules`', async () => {
    const { code, output } = await promtool(['check', 'rules', PROMETHEUS_RULES_FILE]);
    expect(code, output).to.equal(0);
    expect(output).to.include(`SUCCESS: ${ALERT_RULES.length} rules found`);
  });

  it('pass every `promtool test rules` unit test in test/alerts', async () => {
    const files = await testFiles();
    expect(files.length).to.be.greaterThan(0);
    const { code, output } = await promtool(['test', 'rules', ...files]);
    expect(code, output).to.equal(0);
    expect(output).to.not.include('FAILED');
  });

  it('have, for every rule, a promtool case where it fires and one where it must stay silent', async () => {
    const cases: AlertTestCase[] = [];
    for (const file of await testFiles()) {
      const doc = parse(await readFile(join(REPO_ROOT, file), 'utf8')) as {
        tests: { alert_rule_test?: AlertTestCase[] }[];
      };
      for (const t of doc.tests) cases.push(...(t.alert_rule_test ?? []));
    }
    for (const rule of ALERT_RULES) {
      const mine = cases.filter((c) => c.alertname === rule.name);
      expect(
        mine.some((c) => (c.exp_alerts ?? []).length > 0),
        `${rule.name} fires somewhere`,
      ).to.be.true;
      expect(
        mine.some((c) => (c.exp_alerts ?? []).length === 0),
        `${rule.name} is silent somewhere`,
      ).to.be.true;
    }
  });
});

describe('alert rule policy (the same policy .pint.hcl enforces)', () => {
  const rules = prometheusRules().groups.flatMap((g) => g.rules);

  for (const rule of rules) {
    it(`${rule.alert} has a severity, summary, description with the live value, runbook and panel link`, () => {
      expect(rule.labels.severity).to.be.oneOf(['warning', 'critical']);
      expect(rule.annotations.summary).to.be.a('string').and.not.equal('');
      expect(rule.annotations.description).to.include('$value');
      const [path, anchor] = (rule.annotations.runbook_url ?? '').split('#');
      // Absolute, under Grafana's URL (compose default for Prometheus's copies): the served runbook.
      expect(path).to.equal(`${GRAFANA_URL_DEFAULT}${RUNBOOK_URL_PATH}`);
      expect(RUNBOOK_ANCHORS).to.include(anchor);
      expect(anchor).to.equal(`alert-${rule.alert.toLowerCase()}`);
      expect(rule.annotations.dashboard_url).to.match(
        /^http:\/\/localhost:3000\/d\/soft-delete-ops\/.+viewPanel=\d+$/,
      );
    });
  }

  it('says in the failure-ratio description how many attempts an hour it needs before it alerts', () => {
    const ratio = rules.find((r) => r.alert === 'CleanupJobFailureRatioHigh');
    expect(ratio?.annotations.description).to.include('at least 20 attempts');
  });

  it('pins one pint version in the install script and the code', async () => {
    const script = await readFile(join(REPO_ROOT, 'scripts/ensure-pint.sh'), 'utf8');
    expect(script).to.include(`PINT_VERSION="${PINT_VERSION}"`);
    const config = await readFile(join(REPO_ROOT, '.pint.hcl'), 'utf8');
    expect(config).to.match(/label "severity"[^}]*required = true/);
    expect(config).to.match(/annotation "runbook_url"[^}]*required = true/);
  });
});
