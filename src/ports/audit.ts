/** One stored audit record: the event's canonical JSON and the hash chain around it. */
export interface AuditRow {
  readonly id: number;
  readonly at: string;
  readonly eventId: string;
  readonly action: string;
  readonly outcome: number;
  readonly userId: string;
  readonly patientIds: readonly string[];
  readonly studyUids: readonly string[];
  /** Canonical JSON of the event (the text the hash covers). */
  readonly event: string;
  readonly prevHash: string;
  readonly hash: string;
}

export interface AuditFilter {
  readonly from?: string;
  readonly to?: string;
  readonly userId?: string;
  readonly patientId?: string;
  readonly studyUid?: string;
  readonly eventId?: string;
  readonly outcome?: number;
}

/** The append-only audit trail in the index database, each record chained by hash to its predecessor. */
export interface AuditStore {
  /**
   * Appends a record: its number and hash are computed from the current head inside one transaction, so
   * records chain in the order they are committed, across processes.
   */
  append(
    rec: Omit<AuditRow, 'id' | 'prevHash' | 'hash'>,
    hash: (prevHash: string, id: number) => string,
  ): Promise<AuditRow>;
  /** Records matching a filter, newest first. */
  list(filter: AuditFilter, limit: number, offset: number): Promise<AuditRow[]>;
  /** Records in chain order, after `afterId`. */
  scan(afterId: number, limit: number): Promise<AuditRow[]>;
  head(): Promise<{ id: number; hash: string } | undefined>;
}
