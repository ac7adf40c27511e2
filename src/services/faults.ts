/**
 * Errors that no code path expected (a bug reached by some input, not a peer's bad request): each is
 * reported (logged by the composition root) and counted, never hidden and never fatal to the process.
 * `/healthz` shows the count, so monitoring sees a rising number.
 */
export class FaultMonitor {
  private n = 0;
  private lastWhere: string | undefined;

  constructor(private readonly report: (e: Error, where: string) => void) {}

  record(e: unknown, where: string): void {
    this.n++;
    this.lastWhere = where;
    this.report(e instanceof Error ? e : new Error(String(e)), where);
  }

  /** How many faults since the start, and where the last one was. */
  get summary(): { readonly count: number; readonly last?: string } {
    return this.lastWhere ? { count: this.n, last: this.lastWhere } : { count: 0 };
  }
}
