import { expect } from 'chai';
import { closedPort, runFixture } from './child-process.ts';
import { measured } from '../../support/measured.ts';

interface FixtureResult {
  operations: number;
  succeeded: number;
  elapsedMs: number;
  shutdownMs: number;
  heapGrowthBytes: number;
  rssGrowthBytes: number;
}

describe('telemetry with the collector unreachable', () => {
  it('completes 10k instrumented operations with exactly one warning and bounded memory', async function () {
    this.timeout(90_000);
    const port = await closedPort();
    const child = await runFixture('unreachable-collector.ts', {
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
      FIXTURE_OPERATIONS: '10000',
    });
    expect(child.code, child.stderr).to.equal(0);
    const result = JSON.parse(child.stdout.trim()) as FixtureResult;
    expect(result.succeeded).to.equal(10_000);
    const warnings = child.stderr
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as { level: string; message: string });
    expect(warnings, child.stderr).to.have.length(1);
    expect(warnings[0]).to.include({ level: 'warn' });
    expect(warnings[0]?.message).to.match(/telemetry export failed/);
    // Heap: measured ~2 MB after gc regardless of 10k or 160k operations; queues are capped at 2048.
    expect(result.heapGrowthBytes).to.be.below(16 * 1024 * 1024);
    // RSS is allocator-noisy (measured 15-85 MB, not growing with N); this catches a real leak only.
    expect(result.rssGrowthBytes).to.be.below(200 * 1024 * 1024);
    // Shutdown does not wait for retries once exports are known to fail.
    expect(result.shutdownMs).to.be.below(1500);
    measured(`${JSON.stringify(result)}`);
  });
});
