import { Status, statusCategory } from './status.js';

export type SubOperationOutcome = 'Success' | 'Warning' | 'Failure';

/** Sub-operation counts as C-MOVE and C-GET responses carry them (PS3.4 C.4.2.1.3, C.4.3.1.3). */
export class SubOperations {
  completed = 0;
  failed = 0;
  warning = 0;
  constructor(public remaining: number) {}

  record(outcome: SubOperationOutcome): void {
    this.remaining--;
    if (outcome === 'Success') this.completed++;
    else if (outcome === 'Warning') this.warning++;
    else this.failed++;
  }

  fields() {
    return {
      NumberOfRemainingSuboperations: this.remaining,
      NumberOfCompletedSuboperations: this.completed,
      NumberOfFailedSuboperations: this.failed,
      NumberOfWarningSuboperations: this.warning,
    };
  }

  /** The final status: Cancel, Success, or B000H (complete with failures or warnings). */
  finalStatus(cancelled: boolean): number {
    if (cancelled) return Status.Cancel;
    return this.failed || this.warning ? Status.SubOperationsCompleteWithFailures : Status.Success;
  }
}

/** The outcome category of a C-STORE response status. */
export function storeOutcome(status: number | undefined): SubOperationOutcome {
  if (status === undefined) return 'Failure';
  const c = statusCategory(status);
  return c === 'Success' ? 'Success' : c === 'Warning' ? 'Warning' : 'Failure';
}
