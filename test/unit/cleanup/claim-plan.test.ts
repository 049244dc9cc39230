import { expect } from 'chai';
import { ClaimPlanner } from '../../../src/cleanup/claim-plan.ts';
import { BUILTIN_JOB_TYPES, claimClassOf } from '../../../src/cleanup/job-types.ts';

const planner = () => new ClaimPlanner(BUILTIN_JOB_TYPES, claimClassOf);
const all = new Set<string>(BUILTIN_JOB_TYPES);

/** Takes every offer of a plan (as if each fetch returned what it was offered). */
function take(p: ClaimPlanner, free: number, waiting: ReadonlySet<string>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [type, n] of p.plan(free, waiting)) {
    p.claimed(type, n);
    out[type] = n;
  }
  return out;
}

/** Runs one claim at a time at concurrency 1 (each job finishes before the next claim). */
function serial(p: ClaimPlanner, claims: number, waiting: ReadonlySet<string>): string[] {
  const order: string[] = [];
  for (let i = 0; i < claims; i++) {
    const [[type]] = p.plan(1, waiting) as [[string, number]];
    p.claimed(type, 1);
    p.finished(type);
    order.push(type);
  }
  return order;
}

describe('claim planner: priorities between job types and fairness within them', () => {
  it('gives user-triggered types 12 and maintenance 4 of 16 free slots when everything waits, equal shares within each', () => {
    const got = take(planner(), 16, all);
    expect(got).to.deep.equal({
      cascade_soft_delete: 3,
      restore_cascade: 3,
      bulk_soft_delete: 3,
      bulk_restore: 3,
      purge_expired: 2,
      archive_entity: 1,
      noop: 1,
    });
  });

  it('offers the user class first: the plan lists its types before the maintenance ones', () => {
    const plan = planner().plan(16, all);
    const firstMaintenance = plan.findIndex(([t]) => claimClassOf(t) === 'maintenance');
    expect(plan.slice(0, firstMaintenance).every(([t]) => claimClassOf(t) === 'user')).to.equal(true);
    expect(plan.slice(firstMaintenance).every(([t]) => claimClassOf(t) === 'maintenance')).to.equal(true);
  });

  it('leaves a class with nothing waiting its share to the other', () => {
    expect(take(planner(), 16, new Set(['purge_expired', 'noop']))).to.deep.equal({
      purge_expired: 8,
      noop: 8,
    });
    expect(take(planner(), 16, new Set(['cascade_soft_delete']))).to.deep.equal({ cascade_soft_delete: 16 });
  });

  it('gives a freed slot to the type with the fewest running, so slow jobs hold at most an equal share of their class', () => {
    const p = planner();
    const waiting = new Set(['purge_expired', 'noop']);
    take(p, 16, waiting); // 8 purge, 8 noop running
    // The noop jobs finish quickly, again and again; the purge jobs never do.
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 8; i++) p.finished('noop');
      expect(take(p, 8, waiting)).to.deep.equal({ noop: 8 });
    }
    expect(p.running('purge_expired')).to.equal(8);
  });

  it('gives a cascade arriving behind a full worker of maintenance jobs the next freed slots, up to 3 of every 4', () => {
    const p = planner();
    take(p, 16, new Set(['purge_expired', 'archive_entity']));
    const waiting = new Set(['purge_expired', 'archive_entity', 'cascade_soft_delete']);
    const user: number[] = [];
    for (let i = 0; i < 16; i++) {
      // One maintenance job finishes; who gets the slot?
      p.finished(
        p.running('purge_expired') >= p.running('archive_entity') ? 'purge_expired' : 'archive_entity',
      );
      take(p, 1, waiting);
      user.push(p.running('cascade_soft_delete'));
    }
    // Each of the first 12 freed slots goes to the cascades; then maintenance keeps its quarter.
    expect(user).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 12, 12, 12, 12]);
  });

  it('alternates 3 : 1 at concurrency 1 while both classes wait, so maintenance is never starved', () => {
    const order = serial(planner(), 40, new Set(['cascade_soft_delete', 'purge_expired']));
    expect(order.filter((t) => t === 'purge_expired')).to.have.length(10);
    // Never more than 3 user claims in a row.
    expect(order.join(',')).to.not.include('cascade_soft_delete,'.repeat(4));
  });

  it('takes turns between types of one class at concurrency 1', () => {
    const order = serial(planner(), 9, new Set(['purge_expired', 'archive_entity', 'noop']));
    expect(order).to.deep.equal([
      'purge_expired',
      'archive_entity',
      'noop',
      'purge_expired',
      'archive_entity',
      'noop',
      'purge_expired',
      'archive_entity',
      'noop',
    ]);
  });

  it('does not let a class bank credit while it had nothing waiting', () => {
    const p = planner();
    serial(p, 100, new Set(['cascade_soft_delete'])); // an hour of user work, no maintenance
    const order = serial(p, 40, new Set(['cascade_soft_delete', 'purge_expired']));
    expect(order.filter((t) => t === 'purge_expired')).to.have.length(10);
    expect(order.slice(0, 8).filter((t) => t === 'purge_expired').length).to.be.at.most(2);
  });

  it('offers nothing when nothing waits or no slot is free, and never more than the free slots', () => {
    const p = planner();
    expect(p.plan(16, new Set())).to.deep.equal([]);
    expect(p.plan(0, all)).to.deep.equal([]);
    for (const free of [1, 2, 5, 16, 100]) {
      expect(
        p
          .plan(free, all)
          .map(([, n]) => n)
          .reduce((a, b) => a + b, 0),
      ).to.equal(free);
    }
  });
});
