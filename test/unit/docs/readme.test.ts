import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import type { Command } from 'commander';
import { parse } from 'yaml';
import { ALERT_RULES } from '../../../grafana/src/alerts.ts';
import { buildProgram } from '../../../src/cli/program.ts';
import { entityNames, getEntity } from '../../../src/soft-delete/index.ts';
import { codeBlocks, readDoc, ROOT, sdopsCommands } from './support/markdown.ts';

const readme = readDoc('README.md');

/** Leaf commands of the real program with their long options (help excluded). */
function leaves(cmd: Command, path: string[] = []): { path: string; options: string[] }[] {
  const subs = cmd.commands.filter((c) => c.name() !== 'help');
  if (subs.length === 0 && path.length > 0) {
    return [
      { path: path.join(' '), options: cmd.options.map((o) => o.long).filter((l): l is string => !!l) },
    ];
  }
  return subs.flatMap((c) => leaves(c, [...path, c.name()]));
}

describe('README.md', () => {
  it('starts with the two commands: the demo and the test suite', () => {
    const first = codeBlocks(readme)[0];
    expect(first?.lang).to.equal('bash');
    const lines = first?.text.split('\n').map((l) => l.replace(/\s+#.*$/, '').trim());
    expect(lines).to.deep.equal(['npm ci && npm run demo', 'npm test']);
    expect(readme.indexOf('```')).to.be.lessThan(readme.indexOf('\n## '));
  });

  it('names every shipped alert rule, and no other, in its table of what lives where', () => {
    const row = readme.split('\n').find((line) => line.startsWith('| Alert rules: '));
    expect(row, 'the "| Alert rules: ..." row').to.not.equal(undefined);
    const named = (row ?? '')
      .split('|')[1]
      ?.replace('Alert rules:', '')
      .split(',')
      .map((n) => n.trim());
    expect(named).to.have.members(ALERT_RULES.map((rule) => rule.name));
  });

  it("states each entity's purge retention as the registry has it", () => {
    const said =
      /without `--older-than-days` removes the rows deleted\s+longer ago than their entity's retention: ([^.]+)\./.exec(
        readme,
      );
    expect(said, "README's sentence on purge's default retention").to.not.equal(null);
    // "30 days for customers, orders and order_items, 90 for documents"
    const stated = new Map<string, number>();
    for (const [, days, names] of (said?.[1] ?? '').matchAll(/(\d+)(?: days)? for ([a-z_, ]+?)(?=, \d|$)/g)) {
      for (const name of (names ?? '').split(/, | and /)) stated.set(name.trim(), Number(days));
    }
    expect(Object.fromEntries(stated)).to.deep.equal(
      Object.fromEntries(entityNames().map((name) => [name, getEntity(name).retentionDays])),
    );
  });

  it('lists every command and every option of the real CLI in its CLI block', () => {
    const block = codeBlocks(readme).find((b) => b.lang === 'text' && b.text.includes('sdops migrate start'));
    expect(block, 'a ```text block with the CLI synopsis').to.not.equal(undefined);
    const lines = sdopsCommands(`\`\`\`text\n${block?.text}\n\`\`\``, 'README.md');
    const documented = lines.map((l) => ({
      words: l.args.join(' '),
      flags: l.args.filter((a) => a.startsWith('--')),
    }));
    const program = buildProgram('0.0.0-test');
    const real = leaves(program);
    expect(real.length).to.be.greaterThan(15);
    for (const leaf of real) {
      const mine = documented.filter((d) => d.words === leaf.path || d.words.startsWith(`${leaf.path} `));
      expect(mine, `README documents "sdops ${leaf.path}"`).to.not.be.empty;
      const flags = new Set(mine.flatMap((d) => d.flags));
      for (const option of leaf.options)
        expect(flags.has(option), `sdops ${leaf.path} ${option}`).to.equal(true);
    }
    const globals = program.options.map((o) => o.long).filter((l) => l && l !== '--version');
    for (const g of globals) expect(readme, `global option ${g}`).to.include(`\`${g}`);
  });

  it('names every port compose.yaml publishes and the Grafana folder the dashboard is provisioned into', () => {
    const compose = parse(readFileSync(join(ROOT, 'compose.yaml'), 'utf8')) as {
      services: Record<string, { ports?: string[] }>;
    };
    const ports = Object.values(compose.services).flatMap((s) => (s.ports ?? []).map((p) => p.split(':')[0]));
    expect(ports.length).to.be.greaterThan(8);
    for (const port of ports) expect(readme, `port ${port}`).to.match(new RegExp(`[:]${port}\\b`));
    const provider = parse(
      readFileSync(join(ROOT, 'grafana/provisioning/dashboards/dashboards.yaml'), 'utf8'),
    ) as {
      providers: { folder: string }[];
    };
    expect(readme).to.include(`folder **${provider.providers[0]?.folder}**`);
    expect(readme).to.include('docker compose up --build');
  });

  it('documents every benchmark that npm run bench accepts', () => {
    const main = readFileSync(join(ROOT, 'bench/main.ts'), 'utf8');
    const names = /const BENCHES = \[([^\]]+)\]/.exec(main)?.[1]?.match(/'([^']+)'/g) ?? [];
    expect(names.length).to.be.greaterThan(3);
    for (const quoted of names) expect(readme).to.include(`npm run bench -- ${quoted.slice(1, -1)}`);
  });
});
