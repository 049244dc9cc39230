import { ExportResultCode } from '@opentelemetry/core';
import { expect } from 'chai';
import { LineSink } from './harness.ts';
import { COOLDOWN_MS, letFinalFlushThrough, withCircuitBreaker } from '../../../src/observability/circuit.ts';
import { configureLogging } from '../../../src/observability/index.ts';
import {
  exportFailing,
  installExportErrorHandler,
  reportExportError,
  silenceExportWarning,
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
  let sink: LineSink;
  const realNow = Date.now;
  beforeEach(() => {
    clock = 1_000_000;
    Date.now = () => clock;
    // The breaker's warnings go to a sink, not the test output.
    sink = new LineSink();
    configureLogging({ console: sink });
    installExportErrorHandler('http://collector.invalid:4318');
  });
  afterEach(() => {
    Date.now = realNow;
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

  it('warns once per outage: a recovery says so and re-arms the warning, a flap within a minute stays quiet', async () => {
    const messages = () => sink.records().map((r) => r.message);
    const inner = scripted([
      ExportResultCode.FAILED, // outage 1: warned
      ExportResultCode.SUCCESS, // 15 s later: a flap, quiet
      ExportResultCode.FAILED, // suppressed
      ExportResultCode.SUCCESS, // a minute on: export works again
      ExportResultCode.FAILED, // outage 2: warned again
    ]);
    const breaker = withCircuitBreaker(inner, () => clock);
    for (let i = 0; i < 5; i++) {
      await exportOnce(breaker, i);
      clock += COOLDOWN_MS + (i === 2 ? 60_000 : 0);
    }
    // Before: the one warning of the first outage, and nothing about the recovery or the second.
    expect(messages()).to.deep.equal([
      'telemetry export failed; the program continues, further export errors are suppressed',
      'telemetry export works again',
      'telemetry export failed; the program continues, further export errors are suppressed',
    ]);
    expect(sink.records()[1]).to.include({ suppressed: 1 });
  });

  it('says nothing of a silenced session: neither its failed exports nor its last one that succeeds', async () => {
    const breaker = withCircuitBreaker(scripted([ExportResultCode.SUCCESS]), () => clock);
    // A command refused at start (a crash-looping service) flushes what it counted on its way out.
    silenceExportWarning();
    reportExportError(new Error('connect ECONNREFUSED 127.0.0.1:4318'));
    clock += 120_000;
    expect(await exportOnce(breaker, 1)).to.equal(ExportResultCode.SUCCESS);
    // Before: "telemetry export works again" before the command's error line, no export having failed.
    expect(sink.records().map((r) => r.message)).to.deep.equal([]);
  });

  it("does not take another signal's breaker dropping a batch after the recovery for a new outage", async () => {
    const messages = () => sink.records().map((r) => r.message);
    const traces = withCircuitBreaker(scripted([ExportResultCode.FAILED]), () => clock);
    const metrics = withCircuitBreaker(
      scripted([ExportResultCode.FAILED, ExportResultCode.FAILED]),
      () => clock,
    );
    // The SDK's processors hand every failed result's error to the global error handler.
    const viaSdk = (breaker: typeof traces, item: number) =>
      new Promise<void>((resolve) =>
        breaker.export(item, (r: { code: ExportResultCode; error?: Error }) => {
          if (r.code !== ExportResultCode.SUCCESS) reportExportError(r.error);
          resolve();
        }),
      );
    await viaSdk(traces, 1);
    await viaSdk(metrics, 1);
    clock += 55_000;
    await viaSdk(metrics, 2); // still down: its breaker opens for another cooldown
    clock += 6_000;
    await viaSdk(traces, 2); // the collector is back: export works again
    await viaSdk(metrics, 3); // its breaker is still cooling down: the batch is dropped untried
    // Before: a second "export failed" warning here, and the process's last word was that it failed.
    expect(messages()).to.deep.equal([
      'telemetry export failed; the program continues, further export errors are suppressed',
      'telemetry export works again',
    ]);
  });
});
