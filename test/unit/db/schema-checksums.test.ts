import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { schemaFiles } from '../../../src/db/schema.ts';

/**
 * Schema files are immutable once on main: a database that applied one refuses to start with an
 * sdops whose file differs (`schema_checksum_mismatch`), and the check hashes the whole file,
 * comments included. Two files were once edited after their commit (a comment each) and nothing
 * said so. The checksums of every file are pinned here; a new file adds its line, an old one never
 * changes or goes.
 */
const PINNED = new URL('./schema-checksums.json', import.meta.url);

describe('schema files', () => {
  it('are each exactly the text pinned when they were added, and none was removed', async () => {
    const pinned = JSON.parse(readFileSync(PINNED, 'utf8')) as Record<string, string>;
    const files = new Map((await schemaFiles()).map((f) => [f.version, f.checksum]));
    for (const [version, checksum] of Object.entries(pinned)) {
      expect(files.has(version), `${version}.sql was removed: released schema files stay`).to.equal(true);
      expect(
        files.get(version),
        `${version}.sql changed after it was added: put the change in a new numbered file`,
      ).to.equal(checksum);
    }
    for (const [version, checksum] of files) {
      expect(
        pinned[version],
        `new schema file ${version}.sql: add "${version}": "${checksum}" to test/unit/db/schema-checksums.json`,
      ).to.equal(checksum);
    }
  });
});
