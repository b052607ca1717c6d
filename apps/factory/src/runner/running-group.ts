import { killGroupNow } from "../engines/process-group.js";

/**
 * The process group a runner has running now (engine, reviewer or verify gate): a second signal
 * SIGKILLs it synchronously, the attempt's end waits for it to be gone before the worktree goes,
 * and it is noted in the workspace record so that a restart after a crash can kill it.
 */
export class RunningGroup {
  private pgid: number | undefined;
  private exited: Promise<unknown> = Promise.resolve();

  constructor(private readonly note: (pgid: number) => void) {}

  /** A group started; `exited` settles once it is gone. */
  started(pgid: number | undefined, exited?: Promise<unknown>): void {
    this.pgid = pgid;
    if (exited) this.exited = exited.catch(() => undefined);
    if (pgid !== undefined) this.note(pgid);
  }

  ended(): void {
    this.pgid = undefined;
  }

  killNow(): void {
    if (this.pgid !== undefined) killGroupNow(this.pgid);
  }

  /** Settles once the last group started (with an `exited` promise) is gone. */
  gone(): Promise<unknown> {
    return this.exited;
  }
}
