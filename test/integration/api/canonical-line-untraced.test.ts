import { expect } from 'chai';
import { jsonRecords, type SdopsProcess, spawnSdops } from '../../support/sdops-process.ts';
import { waitUntil } from '../../support/wait.ts';
import { type MigrationTestDb, openMigrationTestDb, seedDocuments } from '../migration/support.ts';

/**
 * With OTEL_SDK_DISABLED=true there is no OpenTelemetry context manager, and the request's line rode
 * on its context: every delete wrote the core's line beside the access line, and the access lines of
 * migration requests lost their run_id (a re-check probe).
 */
describe('the access line of sdops serve with telemetry disabled', function () {
  this.timeout(60_000);
  let t: MigrationTestDb;
  let serve: SdopsProcess | undefined;

  before(async () => {
    t = await openMigrationTestDb();
    await seedDocuments(t.db, { legacy: 0, deleted: 0, live: 3 });
  });
  after(async () => {
    await serve?.stop();
    await t?.close();
  });

  it("is the request's one line, with the operation's fields and a migration request's run_id", async () => {
    const { rows } = await t.db.query<{ id: string }>('SELECT min(id)::text AS id FROM documents');
    const id = rows[0]!.id;
    serve = spawnSdops(['serve', '--port', '0'], {
      DATABASE_URL: t.test.url,
      SDOPS_API_TOKENS: undefined,
      OTEL_SDK_DISABLED: 'true',
    });
    const [, url] = await serve.waitFor(/sdops api listening on (\S+)/);
    expect((await fetch(`${url}/v1/documents/${id}`, { method: 'DELETE' })).status).to.equal(200);
    const started = await fetch(`${url}/v1/migrations/backfill-deleted-at/start`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ dryRun: true }),
    });
    expect(started.status).to.equal(202);
    const { run } = (await started.json()) as { run: { runId: string } };
    const lines = await waitUntil('both access lines', () => {
      const access = jsonRecords(serve!.output()).filter((r) => r.message === 'request');
      return access.length >= 2 ? access : undefined;
    });
    expect(lines[0]).to.include({
      route: '/v1/:entity/:id',
      entity: 'documents',
      operation: 'delete',
      count: 1,
    });
    expect(lines[1]).to.include({ route: '/v1/migrations/:name/start', run_id: run.runId });
    expect(jsonRecords(serve.output()).filter((r) => r.message === 'soft_delete operation')).to.deep.equal(
      [],
    );
  });
});
