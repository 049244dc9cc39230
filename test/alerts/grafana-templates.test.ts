import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { parse } from 'yaml';
import { ALERT_RULES, DASHBOARD_UID, REPO_ROOT, RUNBOOK_URL_PATH } from '../../grafana/src/index.ts';

const ROOT_URL = 'https://grafana.example.com/ops/';

/** Expands annotations with Go's text/template, as Grafana does (test/alerts/go-template). */
function expand(annotations: Record<string, string>[]): Promise<Record<string, string>[]> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'go',
      // One file, no module: `go run main.go` needs nothing but the toolchain.
      ['run', 'main.go', ROOT_URL],
      { cwd: join(REPO_ROOT, 'test/alerts/go-template') },
      (error, stdout, stderr) => {
        if (error) {
          const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
          reject(
            new Error(
              missing
                ? 'go is not on PATH: the Go toolchain that builds Prometheus and the collector runs this test too'
                : `go run failed: ${stderr}`,
            ),
          );
        } else resolve(JSON.parse(stdout) as Record<string, string>[]);
      },
    );
    // A go that fails at once closes its stdin: the error above says why, not this write.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(JSON.stringify(annotations));
  });
}

/**
 * Grafana stores provisioned annotations as written and expands them as Go templates at every
 * evaluation: an escape meant for provisioning (`$$labels`) or an unknown function fails there, and
 * every notification then carries the raw text. Each rule's annotations must expand.
 */
describe('Grafana-managed alert annotations (Go text/template, as Grafana expands them)', function () {
  this.timeout(120_000);

  it('expand for every rule: templates parse, labels and values fill in, links are absolute under root_url', async () => {
    const file = parse(
      await readFile(join(REPO_ROOT, 'grafana/provisioning/alerting/rules.yaml'), 'utf8'),
    ) as { groups: { rules: { title: string; annotations: Record<string, string> }[] }[] };
    const rules = file.groups.flatMap((g) => g.rules);
    expect(rules.map((r) => r.title)).to.deep.equal(ALERT_RULES.map((r) => r.name));
    const expanded = await expand(rules.map((r) => r.annotations));
    expanded.forEach((out, i) => {
      const rule = ALERT_RULES[i];
      if (!rule) throw new Error(`no rule ${i}`);
      expect(out, rule.name).to.not.have.property('error');
      expect(`${out.summary} ${out.description}`, rule.name).to.match(
        /noop|backfill-deleted-at|sdops-api|otlp_http\/tempo/,
      );
      expect(out.description, rule.name).to.not.include('{{');
      expect(out.runbook_url).to.equal(`${ROOT_URL}${RUNBOOK_URL_PATH.slice(1)}#${rule.runbookAnchor}`);
      expect(out.dashboard_url).to.equal(
        `${ROOT_URL}d/${DASHBOARD_UID}/soft-delete-operations?viewPanel=${rule.panelId}`,
      );
    });
  });
});
