import { expect } from 'chai';
import { ALERT_RULES, prometheusExpr } from '../../grafana/src/index.ts';
import { configureLogging } from '../../src/observability/index.ts';
import { DRILLS } from './drills.ts';
import { Operator } from './support/operator.ts';
import { headingOf, section } from './support/runbook.ts';
import { DRILL_RULES, type DrillStack, startDrillStack } from './support/stack.ts';
import { waitUntil } from '../support/wait.ts';

/**
 * The on-call path, drilled: for every alert rule (grafana/src/alerts.ts), its condition is caused on
 * real PostgreSQL with real sdops processes exporting through the real collector to the Prometheus
 * compose runs, the alert is seen firing there, and then an engineer holding only the runbook follows
 * the alert's section (and the procedures it sends them to): every command as written, every SQL and
 * PromQL block, to the outcome the section promises (queue drained, run succeeded) and the alert
 * expression back to no data.
 *
 * Which alert expression is evaluated where: Prometheus loads the production rules and the same
 * rules with drill-sized thresholds and windows (DRILL_PARAMS: same expressions, same code). Firing and
 * resolving are watched on the drill-sized rules (the production `for`, 10-minute stall and 1-hour
 * or 15-minute windows do not fit a test); the production expression is checked as well wherever
 * the drill reaches its threshold, and for instant gauges it must be back to no data too. The
 * production windows and `for` durations are proven by `promtool test rules` (test/alerts/), which is
 * the honest place for time spans no drill should wait out.
 */
describe('on-call drills: each alert caused for real and resolved by its runbook section alone', function () {
  this.timeout(300_000);

  before(() => configureLogging({ level: 'warn', console: 'stderr' }));

  it('has a drill for every alert rule, so a new alert without one fails here', () => {
    const missing = ALERT_RULES.map((r) => r.name).filter((name) => DRILLS[name] === undefined);
    expect(missing, `alerts without a drill in test/drills/drills.ts: ${missing.join(', ')}`).to.deep.equal(
      [],
    );
    expect(Object.keys(DRILLS).filter((name) => !ALERT_RULES.some((r) => r.name === name))).to.deep.equal([]);
  });

  for (const rule of ALERT_RULES) {
    const drill = DRILLS[rule.name];
    if (drill === undefined) continue;
    const drillRule = DRILL_RULES.find((r) => r.name === rule.name);

    it(`${rule.name}: caused on PostgreSQL, seen firing in Prometheus, resolved by following the runbook`, async () => {
      if (!drillRule) throw new Error(`no drill-sized rule ${rule.name}`);
      const stack: DrillStack = await startDrillStack(rule.uid.replace(/^sdops-/, ''));
      let op: Operator | undefined;
      try {
        const alerts = (state?: string) =>
          stack.query(
            `ALERTS{alertname="${rule.name}",drill="true"${state ? `,alertstate="${state}"` : ''}}`,
          );

        await drill.cause(stack);
        await waitUntil(
          `${rule.name} (drill-sized) to fire`,
          async () => ((await alerts('firing')).length > 0 ? true : undefined),
          {
            timeoutMs: 90_000,
            intervalMs: 500,
          },
        );
        if (drill.productionFires) {
          expect(
            await stack.query(prometheusExpr(rule)),
            `the production expression of ${rule.name}`,
          ).to.not.deep.equal([]);
        }

        const sections = [section(headingOf(rule.runbookAnchor)), ...(drill.procedures ?? []).map(section)];
        op = new Operator(stack, sections);
        await drill.follow(op, stack);

        await waitUntil(
          `${rule.name} to resolve after the mitigation`,
          async () =>
            (await alerts()).length === 0 && (await stack.query(prometheusExpr(drillRule))).length === 0
              ? true
              : undefined,
          { timeoutMs: 90_000, intervalMs: 1000 },
        );
        if (drill.productionResolves) {
          expect(
            await stack.query(prometheusExpr(rule)),
            `the production expression of ${rule.name}`,
          ).to.deep.equal([]);
        }
        expect(
          op.unfollowed(),
          'runbook steps the drill neither followed nor skipped with a reason',
        ).to.deep.equal([]);
        expect(await op.stopAll(), 'the workers the engineer started exit 0 on SIGTERM').to.satisfy(
          (codes: (number | null)[]) => codes.every((c) => c === 0),
        );
      } catch (error) {
        if (op)
          (error as Error).message +=
            `\n--- what the engineer ran ---\n${op.transcript.join('\n').slice(-6000)}`;
        throw error;
      } finally {
        await op?.stopAll();
        await stack.stop();
      }
    });
  }
});
