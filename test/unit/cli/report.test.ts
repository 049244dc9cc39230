import { expect } from 'chai';
import { undoHint } from '../../../src/cli/report.ts';
import type { OperationResult } from '../../../src/soft-delete/index.ts';

function result(over: Partial<OperationResult>): OperationResult {
  return {
    entity: 'customers',
    operation: 'delete',
    counts: { success: 0, noop: 0, failure: 0 },
    cascaded: {},
    batches: 1,
    durationMs: 1,
    ...over,
  };
}

describe("a CLI delete's undo line", () => {
  const opId = 'b4615c3f-f875-49ae-89af-470961189598';

  it('names the restore by op id of a delete that changed rows, its own or only cascaded ones', () => {
    const line = `undo: sdops restore customers --filter delete_op_id=${opId}`;
    expect(undoHint(result({ opId, counts: { success: 2, noop: 0, failure: 0 } }), 'sdops')).to.equal(line);
    expect(undoHint(result({ opId, cascaded: { orders: 3 } }), 'sdops')).to.equal(line);
  });

  it("runs sdops on the delete's own data directory, and is not written for one in memory, gone with its process", () => {
    const deleted = result({ opId, counts: { success: 1, noop: 0, failure: 0 } });
    expect(undoHint(deleted, "sdops --data-dir '/tmp/my data'")).to.equal(
      `undo: sdops --data-dir '/tmp/my data' restore customers --filter delete_op_id=${opId}`,
    );
    expect(undoHint(deleted, undefined)).to.equal(undefined);
  });

  it('is not written for a delete that changed nothing, or for any other operation', () => {
    expect(undoHint(result({ opId, counts: { success: 0, noop: 4, failure: 0 } }), 'sdops')).to.equal(
      undefined,
    );
    expect(
      undoHint(result({ operation: 'restore', opId, counts: { success: 1, noop: 0, failure: 0 } }), 'sdops'),
    ).to.equal(undefined);
  });
});
