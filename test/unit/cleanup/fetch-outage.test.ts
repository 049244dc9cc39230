import { expect } from 'chai';
import { FetchOutage } from '../../../src/cleanup/waiting-types.ts';
import type { Logger } from '../../../src/observability/index.ts';

function recordingLogger(lines: string[]): Logger {
  const say = (level: string) => (message: string) => {
    lines.push(`${level} ${message}`);
  };
  const logger: Logger = {
    debug: say('debug'),
    info: say('info'),
    warn: say('warn'),
    error: say('error'),
    child: () => logger,
  };
  return logger;
}

describe("the worker's fetch loop when fetching fails", () => {
  const realNow = Date.now;
  let clock = 0;
  beforeEach(() => {
    clock = 1_000_000;
    Date.now = () => clock;
  });
  afterEach(() => {
    Date.now = realNow;
  });

  it('says a failure that repeats every poll (a revoked right) once a minute, and when fetching works again', () => {
    const lines: string[] = [];
    const outage = new FetchOutage(recordingLogger(lines));
    const denied = Object.assign(new Error('permission denied for table job'), { code: '42501' });
    // Before: one warning per poll, 60 a minute for as long as it lasted, and no word of its end.
    for (let second = 0; second < 125; second++) {
      outage.failed(undefined, denied);
      clock += 1_000;
    }
    outage.recovered();
    expect(lines).to.deep.equal([
      'warn fetching jobs failed; retrying after the poll interval (said once a minute while it lasts)',
      'warn fetching jobs failed; retrying after the poll interval (said once a minute while it lasts)',
      'warn fetching jobs failed; retrying after the poll interval (said once a minute while it lasts)',
      'info fetching jobs works again',
    ]);
    outage.recovered();
    expect(lines).to.have.length(4);
  });
});
