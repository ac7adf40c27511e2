/** The two kinds of rows an ingest records, each numbered by its own sequence. */
export type WindowKind = 'instance' | 'quarantine';

export interface Confirmed {
  readonly instance: number;
  readonly quarantine: number;
}

interface Entry {
  /** The highest ids known when the entry opened: any id it is given later is above them. */
  readonly floor: Confirmed;
  row?: { kind: WindowKind; id: number };
}

/**
 * The objects one process is recording whose index row may be committed before their file is durable
 * (docs/architecture.md, "Crash safety"). `confirmed` says up to which ids every row this process
 * recorded is durable with its file. Index ids grow with every insert (SQLite's autoincrement,
 * PostgreSQL's identity), so an object whose row has no id yet will get one above every id known now;
 * one with an id holds the confirmed id below it until it settles.
 */
export class DurabilityWindow {
  private readonly entries = new Map<number, Entry>();
  private next = 1;
  private known: { instance: number; quarantine: number };

  constructor(start: Confirmed) {
    this.known = { ...start };
  }

  /** An object starts its way to the index; the token names it in the calls below. */
  open(): number {
    const token = this.next++;
    this.entries.set(token, { floor: { ...this.known } });
    return token;
  }

  /** Its row was given this id (inside the unit of work, before the commit). */
  allocated(token: number, kind: WindowKind, id: number): void {
    const e = this.entries.get(token);
    if (!e) return;
    e.row = { kind, id };
    if (id > this.known[kind]) this.known[kind] = id;
  }

  /** Its row and file are durable, or it recorded nothing. */
  settled(token: number): void {
    this.entries.delete(token);
  }

  /** Objects still on their way. */
  get size(): number {
    return this.entries.size;
  }

  confirmed(): Confirmed {
    let instance = this.known.instance;
    let quarantine = this.known.quarantine;
    for (const e of this.entries.values()) {
      if (e.row) {
        if (e.row.kind === 'instance') instance = Math.min(instance, e.row.id - 1);
        else quarantine = Math.min(quarantine, e.row.id - 1);
      } else {
        instance = Math.min(instance, e.floor.instance);
        quarantine = Math.min(quarantine, e.floor.quarantine);
      }
    }
    return { instance, quarantine };
  }
}
