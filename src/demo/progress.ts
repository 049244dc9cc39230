/** A progress display for one step; the CLI passes its terminal bar, tests a no-op. */
interface StepProgress {
  update(processed: number, total?: number): void;
  stop(): void;
}

export type StartProgress = (label: string) => StepProgress;
