import { expect } from 'chai';
import type { MetricData } from '@opentelemetry/sdk-metrics';
import { PROCESS_GAUGES } from '../../../src/observability/instruments.ts';
import type { ProcessRole } from '../../../src/observability/telemetry-settings.ts';
import { waitUntil } from '../../support/wait.ts';
import { startInMemoryTelemetry } from './harness.ts';

const UPTIME = PROCESS_GAUGES.processUptime.name;
const STOPPING = PROCESS_GAUGES.processStopping.name;

function uptime(metric: MetricData | undefined): number {
  expect(metric, `${UPTIME} was exported`).to.not.equal(undefined);
  const [point, ...more] = (metric as MetricData).dataPoints;
  expect(more, 'one point, without attributes').to.deep.equal([]);
  expect(point?.attributes).to.deep.equal({});
  return point?.value as number;
}

describe("a long-running process's sign of life (process.uptime)", () => {
  for (const role of ['api', 'worker'] as const) {
    it(`is exported by sdops ${role === 'api' ? 'serve' : 'worker'} in seconds since the start, and moves from one export to the next`, async () => {
      const t = await startInMemoryTelemetry({}, role);
      try {
        const first = uptime((await t.metrics()).get(UPTIME));
        expect(first).to.be.closeTo(process.uptime(), 1);
        const deadline = Date.now() + 1000;
        let second = first;
        while (second === first && Date.now() < deadline) second = uptime((await t.metrics()).get(UPTIME));
        expect(second, 'a later export reads a later uptime').to.be.greaterThan(first);
        expect((await t.metrics()).get(UPTIME)?.descriptor.unit).to.equal('s');
      } finally {
        await t.telemetry.shutdown();
      }
    });
  }

  for (const role of ['cli', 'migrate'] as ProcessRole[]) {
    it(`is not exported by a ${role} process, which ends by design`, async () => {
      const t = await startInMemoryTelemetry({}, role);
      try {
        void t.telemetry.stopRequested();
        const names = [...(await t.metrics()).keys()];
        expect(names).to.not.include(UPTIME);
        expect(names).to.not.include(STOPPING);
      } finally {
        await t.telemetry.shutdown();
      }
    });
  }
});

describe("a long-running process's word that it was asked to stop (sdops.process.stopping)", () => {
  for (const role of ['api', 'worker'] as const) {
    it(`is not exported by a running sdops ${role === 'api' ? 'serve' : 'worker'}, and is 1 at every export once a stop was asked for`, async () => {
      const t = await startInMemoryTelemetry({}, role);
      try {
        expect((await t.metrics()).get(STOPPING)?.dataPoints ?? [], 'no point while it runs').to.deep.equal(
          [],
        );
        void t.telemetry.stopRequested();
        for (let i = 0; i < 2; i++) {
          const metric = (await t.metrics()).get(STOPPING);
          expect(metric?.dataPoints.map((p) => [p.value, p.attributes])).to.deep.equal([[1, {}]]);
        }
        expect(uptime((await t.metrics()).get(UPTIME)), 'its uptime still moves').to.be.greaterThan(0);
      } finally {
        await t.telemetry.shutdown();
      }
    });

    it(`exports the word at once from sdops ${role === 'api' ? 'serve' : 'worker'}, not at its next interval (an hour here)`, async () => {
      const t = await startInMemoryTelemetry({}, role);
      try {
        expect(t.exportedMetrics().get(STOPPING), 'nothing exported before').to.equal(undefined);
        void t.telemetry.stopRequested();
        const exported = await waitUntil(
          'an export with sdops.process.stopping',
          () => t.exportedMetrics().get(STOPPING),
          { timeoutMs: 2_000 },
        );
        expect(exported.dataPoints.map((p) => p.value)).to.deep.equal([1]);
      } finally {
        await t.telemetry.shutdown();
      }
    });
  }
});
