import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  grafanaAlertRules,
  grafanaContactPoints,
  grafanaNotificationPolicies,
  renderPrometheusRules,
  renderYaml,
} from './alert-render.ts';
import { DASHBOARD_FILE, RUNBOOK_HTML_FILE, RUNBOOK_PATH } from './catalog.ts';
import { renderDashboard } from './dashboard.ts';
import { datasources } from './datasources.ts';
import { renderRunbookHtml } from './runbook-html.ts';

/**
 * Every generated file, as (repo-relative path, exact content). `npm run generate` writes them;
 * test/unit/grafana/generated.test.ts compares them with the committed files, so the code and the
 * committed JSON/YAML cannot drift.
 */

export interface GeneratedFile {
  readonly path: string;
  readonly content: string;
}

/** Where compose.yaml must mount grafana/ into the Grafana container. */
export const GRAFANA_MOUNTS = {
  provisioning: { source: './grafana/provisioning', target: '/etc/grafana/provisioning' },
  dashboards: { source: './grafana/dashboards', target: '/var/lib/grafana/dashboards/soft-delete-ops' },
  /** Grafana serves its static folder under /public/: RUNBOOK_URL_PATH lives here. */
  public: { source: './grafana/public', target: '/usr/share/grafana/public/sdops' },
} as const;

export const PROMETHEUS_RULES_FILE = 'prometheus/rules/soft-delete.rules.yml';

function dashboardProviders(): Record<string, unknown> {
  return {
    apiVersion: 1,
    providers: [
      {
        name: 'soft-delete-ops',
        orgId: 1,
        folder: 'Soft Delete Ops',
        type: 'file',
        // The JSON in git is the source of truth: UI edits are not saved back over it.
        disableDeletion: true,
        allowUiUpdates: false,
        updateIntervalSeconds: 30,
        options: { path: GRAFANA_MOUNTS.dashboards.target, foldersFromFilesStructure: false },
      },
    ],
  };
}

export function generatedFiles(): GeneratedFile[] {
  const runbook = readFileSync(join(REPO_ROOT, RUNBOOK_PATH), 'utf8');
  return [
    { path: RUNBOOK_HTML_FILE, content: renderRunbookHtml(runbook, 'Soft-delete operations runbook') },
    { path: `grafana/dashboards/${DASHBOARD_FILE}`, content: renderDashboard() },
    { path: 'grafana/provisioning/datasources/datasources.yaml', content: renderYaml(datasources()) },
    { path: 'grafana/provisioning/dashboards/dashboards.yaml', content: renderYaml(dashboardProviders()) },
    { path: 'grafana/provisioning/alerting/rules.yaml', content: renderYaml(grafanaAlertRules()) },
    {
      path: 'grafana/provisioning/alerting/contact-points.yaml',
      content: renderYaml(grafanaContactPoints()),
    },
    {
      path: 'grafana/provisioning/alerting/notification-policies.yaml',
      content: renderYaml(grafanaNotificationPolicies()),
    },
    { path: PROMETHEUS_RULES_FILE, content: renderPrometheusRules() },
  ];
}

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export async function writeGeneratedFiles(root: string = REPO_ROOT): Promise<string[]> {
  const written: string[] = [];
  for (const file of generatedFiles()) {
    const target = join(root, file.path);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, file.content);
    written.push(file.path);
  }
  return written;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  writeGeneratedFiles().then(
    (paths) => {
      for (const path of paths) console.log(`generated ${path}`);
    },
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
