import { expect } from 'chai';
import {
  BACKGROUND_WARNING_EVERY_MS,
  BackgroundFailures,
  failureKind,
} from '../../../src/cleanup/background-failures.ts';

function pgError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

describe("warnings about pg-boss's background work", () => {
  it('names an outage as one kind, another database error by its SQLSTATE, anything else by its message', () => {
    expect(failureKind(pgError('57P01', 'terminating connection'))).to.equal('unavailable');
    expect(failureKind(pgError('08006', 'connection failure'))).to.equal('unavailable');
    expect(failureKind(pgError('42501', 'permission denied for table job'))).to.equal('sqlstate 42501');
    // pg-boss re-emits some failures as plain objects.
    expect(failureKind({ message: 'boom' })).to.equal('boom');
  });

  it('says a failure that repeats every maintenance pass once a minute, not every 5 seconds', () => {
    const failures = new BackgroundFailures();
    const denied = () => pgError('42501', 'permission denied for table job');
    const said = [];
    for (let now = 0; now <= 3 * BACKGROUND_WARNING_EVERY_MS; now += 5_000) {
      if (failures.shouldSay(denied(), now)) said.push(now);
    }
    expect(said).to.deep.equal([0, 60_000, 120_000, 180_000]);
  });

  it('says a new kind of failure at once, while another kind is being held back', () => {
    const failures = new BackgroundFailures();
    expect(failures.shouldSay(pgError('42501', 'permission denied'), 0)).to.equal(true);
    expect(failures.shouldSay(pgError('42501', 'permission denied'), 5_000)).to.equal(false);
    expect(failures.shouldSay(pgError('57P01', 'terminating connection'), 10_000)).to.equal(true);
    expect(failures.shouldSay(pgError('42P01', 'relation does not exist'), 15_000)).to.equal(true);
    expect(failures.shouldSay(pgError('57P01', 'terminating connection'), 20_000)).to.equal(false);
  });
});
