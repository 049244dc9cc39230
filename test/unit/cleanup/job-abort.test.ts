import { expect } from 'chai';
import { JobAbort } from '../../../src/cleanup/job-abort.ts';

describe('JobAbort', () => {
  it('tells its listener once, with the first reason, and a signal read afterwards is already aborted', () => {
    const abort = new JobAbort();
    const heard: unknown[] = [];
    abort.onAbort((reason) => heard.push(reason));
    abort.abort('lease');
    abort.abort('shutdown');
    expect(heard).to.deep.equal(['lease']);
    expect(abort.signal.aborted).to.equal(true);
    expect(abort.signal.reason).to.equal('lease');
  });

  it('aborts a signal read before the abort, and calls a listener set after it at once', () => {
    const abort = new JobAbort();
    const signal = abort.signal;
    let fired = 0;
    signal.addEventListener('abort', () => fired++);
    abort.abort('shutdown');
    expect(fired).to.equal(1);
    expect(signal.reason).to.equal('shutdown');
    let late: unknown;
    abort.onAbort((reason) => {
      late = reason;
    });
    expect(late).to.equal('shutdown');
  });

  it('stops telling a listener that was removed', () => {
    const abort = new JobAbort();
    let fired = 0;
    abort.onAbort(() => fired++);
    abort.onAbort(undefined);
    abort.abort('x');
    expect(fired).to.equal(0);
  });
});
