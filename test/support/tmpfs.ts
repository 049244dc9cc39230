import { mkdir } from 'node:fs/promises';
import { runCommand } from './cli.ts';

/**
 * Mounts a tmpfs of `size` (mount's form: 2m, 80m) at `dir` (made first): a small file system to
 * fill, for the embedded database short of space. Needs root, as CI runs; says so instead of failing
 * obscurely. Returns the unmount.
 */
export async function mountTmpfs(dir: string, size: string): Promise<() => Promise<void>> {
  await mkdir(dir, { recursive: true });
  const mount = await runCommand('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
  if (mount.code !== 0) throw new Error(`this test mounts a small tmpfs and needs root: ${mount.stderr}`);
  return async () => {
    await runCommand('umount', [dir]);
  };
}
