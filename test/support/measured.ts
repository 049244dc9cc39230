/**
 * Shows a measured value (a timing, a ratio) under the running test. It goes to stderr: stdout
 * belongs to mocha's reporter, and one stray line there breaks a machine-read (JSON) report.
 */
export function measured(text: string): void {
  process.stderr.write(`      measured: ${text}\n`);
}
