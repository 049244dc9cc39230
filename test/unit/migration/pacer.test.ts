import { expect } from 'chai';
import { Pacer } from '../../../src/migration/pacer.ts';

describe('migration pacer (--max-rows-per-second)', () => {
  function pacerAt(rate: number): { pacer: Pacer; at: (ms: number) => void } {
    let now = 0;
    return { pacer: new Pacer(rate, () => now), at: (ms) => (now = ms) };
  }

  it('spaces batches so the session stays at the rate', () => {
    const { pacer, at } = pacerAt(20);
    expect(pacer.delayMs(20)).to.equal(1000);
    at(1000);
    expect(pacer.delayMs(40)).to.equal(1000);
    at(2500); // a slow batch: half a second late, caught up at once
    expect(pacer.delayMs(60)).to.equal(500);
  });

  it('makes up at most one second of rows after an outage instead of bursting through the time lost', () => {
    const { pacer, at } = pacerAt(20);
    expect(pacer.delayMs(20)).to.equal(1000);
    at(31_000); // the database was unreachable for 30 s
    expect(pacer.delayMs(40)).to.equal(0);
    // Averaged over the session, the next 580 rows would have gone through without a pause.
    expect(pacer.delayMs(60)).to.equal(1000);
    at(32_000);
    expect(pacer.delayMs(80)).to.equal(1000);
  });

  it('never waits without a rate, or again for rows it already waited for', () => {
    expect(new Pacer(null, () => 0).delayMs(1_000_000)).to.equal(0);
    const { pacer } = pacerAt(10);
    expect(pacer.delayMs(10)).to.equal(1000);
    expect(pacer.delayMs(10)).to.equal(0);
  });
});
