import { expect } from 'chai';
import { expireJobsOfGoneWorkers, readJob } from '../../../src/cleanup/index.ts';
import { queueName } from '../../../src/cleanup/queue-names.ts';
import { openQueueTestDb, type QueueTestDb } from './support.ts';

/** The jobs of a killed process on the embedded database: handed back at the next command's start. */
describe('jobs of a process that was killed, handed back', function () {
  this.timeout(60_000);
  let t: QueueTestDb;
  before(async () => {
    t = await openQueueTestDb();
  });
  after(async () => t?.close());

  it('ends the lease at once, and still shows when the attempt really started (not a lease before it was created)', async () => {
    const [id] = await t.queue.enqueueMany('noop', [{}]);
    const [claimed] = await t.queue.boss.fetch(queueName('noop'), { batchSize: 1 });
    expect(claimed?.id).to.equal(id);
    const before = await readJob(t.db, id!);

    expect(await expireJobsOfGoneWorkers(t.db)).to.equal(1);
    const after = await readJob(t.db, id!);
    expect(after.state).to.equal('active');
    expect(after.startedAt).to.equal(before.startedAt);
    expect(Date.parse(after.startedAt ?? '')).to.be.at.least(Date.parse(after.createdAt));
    expect(Date.parse(after.leaseEndsAt ?? '')).to.be.below(Date.now());

    // Every command opens the database: a job handed back already is left as it is.
    expect(await expireJobsOfGoneWorkers(t.db)).to.equal(0);
    expect((await readJob(t.db, id!)).startedAt).to.equal(before.startedAt);
  });
});
