import { expect } from 'chai';
import { RunLockedError } from '../../../src/migration/errors.ts';

describe('migration errors an operator reads', () => {
  const RUN = '01a24200-0000-7000-8000-000000000000';

  it('tells a resume of a running run to stop it first, and of a stopping run to wait until it is stopped', () => {
    const running = new RunLockedError(RUN, 'vm:42:ab12cd', 25_000);
    expect(running.message)
      .to.include('its lease expires in 25s')
      .and.include('stop it with `sdops migrate stop`');
    // Before, a run already stopping got the same advice: stop it.
    const stopping = new RunLockedError(RUN, 'vm:42:ab12cd', 25_000, true);
    expect(stopping.message)
      .to.include(`run ${RUN} is stopping`)
      .and.include('once `sdops migrate status` shows stopped');
    expect(stopping.message).to.not.include('stop it with');
    expect(stopping.code).to.equal('run_locked');
  });
});
