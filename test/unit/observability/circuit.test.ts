import { ExportResultCode } from '@opentelemetry/core';
import { expect } from 'chai';
import { LineSink } from './harness.ts';
import { COOLDOWN_MS, letFinalFlushThrough, withCircuitBreaker } from '../../../src/observability/circuit.ts';
import { configureLogging } from '../../../src/observability/index.ts';
import {
  exportFailing,
  installExportErrorHandler,
  uninstallExportErrorHandler,
} from '../../../src/observability/diagnostics.ts';

/** An exporter whose next results are scripted; counts what reached it. */
function scripted(results: ExportResultCode[]) {
  const calls: number[] = [];
  return {
    calls,
    export(items: number, done: (r: { code: ExportResultCode }) => void) {
      calls.push(items);
      done({ code: results.shift() ?? ExportResultCode.SUCCESS });
    },
  };
}

function exportOnce(
  exporter: { export: (i: number, d: (r: { code: ExportResultCode }) => void) => void },
  item: number,
) {
  return new Promise<ExportResultCode>((resolve) => exporter.export(item, (r) => resolve(r.code)));
}

describe('the export circuit breaker', () => {
  let clock = 0;
  beforeEach(() => {
    clock = 1_000_000;
    // The breaker's one warning goes to a sink, not the test output.
    configureLogging({ console: new LineSink() });
    installExportErrorHandler('http://collector.invalid:4318');
  });
  afterEach(() => {
    letFinalFlushThrough(false);
    uninstallExportErrorHandler();
  });

  it('drops batches for the cooldown after a failure, then probes; a success ends "exports failing"', async () => {
    const inner = scripted([ExportResultCode.FAILED, ExportResultCode.SUCCESS]);
    const breaker = withCircuitBreaker(inner, () => clock);
    expect(await exportOnce(breaker, 1)).to.equal(ExportResultCode.FAILED);
    expect(exportFailing()).to.equal(true);
    clock += COOLDOWN_MS - 1;
    expect(await exportOnce(breaker, 2)).to.equal(ExportResultCode.FAILED);
    expect(inner.calls, 'dropped without trying').to.deep.equal([1]);
    clock += 1;
    expect(await exportOnce(breaker, 3)).to.equal(ExportResultCode.SUCCESS);
    expect(inner.calls).to.deep.equal([1, 3]);
    expect(exportFailing()).to.equal(false);
  });

  it('lets the final flush through an open breaker, so a short-lived process exports what it counted', async () => {
    const inner = scripted([ExportResultCode.FAILED, ExportResultCode.SUCCESS]);
    const breaker = withCircuitBreaker(inner, () => clock);
    await exportOnce(breaker, 1);
    letFinalFlushThrough();
    expect(await exportOnce(breaker, 2)).to.equal(ExportResultCode.SUCCESS);
    expect(inner.calls).to.deep.equal([1, 2]);
  });
});
