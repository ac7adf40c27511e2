export type AePermission = 'store' | 'find' | 'get' | 'move' | 'destination';

/** A known DICOM peer (the AE registry). */
export interface AeRecord {
  readonly aeTitle: string;
  /** Host name or address the peer calls from and listens on; '' accepts any address. */
  readonly host: string;
  /** Port the peer listens on (for C-MOVE destinations and storage commitment reports); 0 when it has none. */
  readonly port: number;
  readonly tls: boolean;
  readonly permissions: readonly AePermission[];
  /**
   * Who is behind the title: a `device` (a modality, a router: its grants stand) or `people` (a workstation:
   * every association must carry a user identity, and the person's role narrows the grants).
   */
  readonly mode: 'device' | 'people';
  /** The SHA-256 of the TLS client certificate bound to this title (lower-case hex), '' for none. */
  readonly certSha256: string;
}

/** Where the AE registry keeps its peers (the index database, so that every node sees the same). */
export interface AeStore {
  listAes(): Promise<AeRecord[]>;
  findAe(aeTitle: string): Promise<AeRecord | undefined>;
  putAe(ae: AeRecord, now: string): Promise<void>;
  /** True when the AE existed. */
  removeAe(aeTitle: string): Promise<boolean>;
}
