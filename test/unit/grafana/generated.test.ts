import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { generatedFiles, REPO_ROOT } from '../../../grafana/src/index.ts';

describe('generated Grafana and Prometheus files', () => {
  for (const file of generatedFiles()) {
    it(`committed ${file.path} is exactly what the code generates (run \`npm run generate\` if not)`, async () => {
      let committed: string;
      try {
        committed = await readFile(join(REPO_ROOT, file.path), 'utf8');
      } catch {
        throw new Error(`${file.path} is missing: run \`npm run generate\` and commit the result`);
      }
      expect(
        committed === file.content,
        `${file.path} differs from the generator's output: run \`npm run generate\``,
      ).to.be.true;
    });
  }

  it('generation is deterministic', () => {
    const a = generatedFiles();
    const b = generatedFiles();
    expect(a.map((f) => f.content)).to.deep.equal(b.map((f) => f.content));
  });
});
