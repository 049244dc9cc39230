import { expect } from 'chai';
import { RunLockedError } from '../../../src/migration/errors.ts';

describe('migration errors an operator reads', () => {
  const RUN = '01a24200-0000-7000-8000-000000000000';

  it('tells a resume of a running run to stop it first, and of a stopping run to wait until it is stopped', () => {
    const running = new RunLockedError(RUN, 'vm:42:ab12cd', 25_000);
    expect(running.message)
      .to.include('its lease expires in 25s')
      .and.include(`stop it with \`sdops migrate stop ${RUN}\``);
    // Before, a run already stopping got the same advice: stop it.
    const stopping = new RunLockedError(RUN, 'vm:42:ab12cd', 25_000, true);
    expect(stopping.message)
      .to.include(`run ${RUN} is stopping`)
      .and.include(`once \`sdops migrate status ${RUN}\` shows stopped`);
    expect(stopping.message).to.not.include('stop it with');
    expect(stopping.code).to.equal('run_locked');
  });

  it('gives a run whose owner is gone commands that can be pasted as they stand, with the run id', () => {
    const gone = new RunLockedError(RUN, 'vm:42:ab12cd', 26_000, false, true);
    // Before: "`sdops migrate stop --wait` waits for that and parks the run, then resume it" (no run id).
    expect(gone.message)
      .to.include(`\`sdops migrate stop ${RUN} --wait\``)
      .and.include(`\`sdops migrate resume ${RUN}\``);
  });
});
