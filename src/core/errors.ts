/**
 * The error catalogue. Every error Lantern raises on purpose has a stable code, a short meaning, and where it
 * applies an HTTP status and a DIMSE status; servers map errors to the wire in one place each, by code.
 * docs/errors.md lists the same codes (a test keeps them in step).
 */
export const ERROR_CATALOGUE = {
  LNT_DICOM_NOT_DICOM: {
    http: 400,
    dimse: 0xc000,
    meaning: 'The input is not a DICOM dataset or Part 10 file.',
  },
  LNT_DICOM_TRUNCATED: {
    http: 400,
    dimse: 0xc000,
    meaning: 'The input ends inside an element, item or sequence.',
  },
  LNT_DICOM_BAD_LENGTH: {
    http: 400,
    dimse: 0xc000,
    meaning: 'An element length runs past its item, sequence or file, or is otherwise impossible.',
  },
  LNT_DICOM_ODD_LENGTH: {
    http: 400,
    dimse: 0xc000,
    meaning: 'An element has an odd value length (PS3.5 7.1.1).',
  },
  LNT_DICOM_UNKNOWN_VR: {
    http: 400,
    dimse: 0xc000,
    meaning: 'An explicit VR element carries a VR that PS3.5 does not define.',
  },
  LNT_DICOM_TOO_DEEP: {
    http: 400,
    dimse: 0xc000,
    meaning: 'Sequences are nested deeper than the configured limit.',
  },
  LNT_DICOM_BAD_STRUCTURE: {
    http: 400,
    dimse: 0xc000,
    meaning: 'A tag appears where PS3.5 does not allow it (e.g. a non-item inside a sequence).',
  },
  LNT_DICOM_TOO_LARGE: {
    http: 413,
    dimse: 0xa700,
    meaning: 'An element or object is larger than the configured limit.',
  },
  LNT_DICOM_UNSUPPORTED_TRANSFER_SYNTAX: {
    http: 415,
    dimse: 0xc000,
    meaning: 'The transfer syntax is unknown or cannot be read.',
  },
  LNT_DICOM_MISSING_ATTRIBUTE: {
    http: 400,
    dimse: 0xa900,
    meaning: 'A required attribute (e.g. SOP Instance UID) is missing or empty.',
  },
  LNT_DICOM_INVALID_UID: { http: 400, dimse: 0xa900, meaning: 'A UID is not well formed (PS3.5 9.1).' },
  LNT_DICOM_INCONSISTENT_META: {
    http: 400,
    dimse: 0xa900,
    meaning: 'The file meta information disagrees with the dataset (SOP class or instance UID).',
  },
  LNT_DICOM_CHARSET: {
    http: 400,
    dimse: 0xc000,
    meaning: 'A value cannot be encoded in the character set in use.',
  },
  LNT_DIMSE_INCOMPLETE: {
    http: 400,
    dimse: 0xc000,
    meaning:
      'A data set stopped before its last fragment: the association was released, aborted or closed first. Nothing was stored.',
  },
  LNT_DIMSE_ASSOCIATION: {
    http: 502,
    dimse: 0xa702,
    meaning:
      'An association with a DICOM peer could not be made or ended early: rejected, aborted, closed, timed out, or the peer broke the protocol.',
  },
  LNT_DIMSE_PDU: {
    http: 400,
    dimse: 0xc000,
    meaning: 'A PDU could not be read (PS3.8 9.3), or is larger than accepted; the association is aborted.',
  },
  LNT_DIMSE_COMMAND: {
    http: 400,
    dimse: 0xc000,
    meaning: 'A DIMSE command set could not be read (PS3.7 E); the association is aborted.',
  },
  LNT_DIMSE_NO_ADDRESS: {
    http: 409,
    dimse: 0xa801,
    meaning: 'The AE has no registered host and port to be reached at.',
  },
  LNT_JSON_INVALID: {
    http: 400,
    dimse: 0xc000,
    meaning: 'A DICOM JSON document does not follow PS3.18 Annex F.',
  },
  LNT_INGEST_CONFLICT: {
    http: 409,
    dimse: 0xa900,
    meaning: 'The object conflicts with what the archive holds; it was quarantined, the original untouched.',
  },
  LNT_STORAGE_FAILED: { http: 503, dimse: 0xa700, meaning: 'Storage could not write or sync the object.' },
  LNT_INDEX_FAILED: { http: 503, dimse: 0xa700, meaning: 'The index could not record or read the object.' },
  LNT_QUERY_INVALID: {
    http: 400,
    dimse: 0xa900,
    meaning: 'A query key or value is not valid for its attribute.',
  },
  LNT_NOT_FOUND: { http: 404, dimse: 0xa801, meaning: 'The requested object does not exist in the archive.' },
  LNT_PATIENT_NOT_IDENTIFIED: {
    http: 422,
    dimse: 0xc000,
    meaning:
      'An operation on a patient needs at least two different identifiers that match the archive (name, HKID, birth date, phone, address, birth certificate), and none that does not.',
  },
  LNT_OBJECT_DAMAGED: {
    http: 500,
    dimse: 0xc000,
    meaning:
      'The stored object failed its integrity check (its bytes differ from those stored, or its file is missing); it is not served until restored.',
  },
  LNT_HTTP_BAD_REQUEST: {
    http: 400,
    dimse: 0xc000,
    meaning: 'The HTTP request is malformed (headers, body or URL).',
  },
  LNT_HTTP_NOT_ACCEPTABLE: {
    http: 406,
    dimse: 0xc000,
    meaning: 'None of the media types or transfer syntaxes the request accepts can be produced.',
  },
  LNT_HTTP_UNSUPPORTED_MEDIA_TYPE: {
    http: 415,
    dimse: 0xc000,
    meaning: 'The request body is of a media type this resource does not take.',
  },
  LNT_HTTP_TOO_LARGE: {
    http: 413,
    dimse: 0xa700,
    meaning: 'The request body is larger than the configured limit.',
  },
  LNT_HTTP_RANGE: {
    http: 416,
    dimse: 0xc000,
    meaning: 'The byte range asked for is outside the value.',
  },
  LNT_HTTP_TIMEOUT: {
    http: 408,
    dimse: 0xc000,
    meaning:
      'The request did not arrive whole within http.requestTimeoutSeconds, or a STOW-RS body stopped arriving for longer than http.bodyIdleSeconds.',
  },
  LNT_HTTP_TOO_MANY_CONNECTIONS: {
    http: 429,
    dimse: 0xa700,
    meaning: 'The client holds http.maxConnectionsPerAddress connections already; the new one was closed.',
  },
  LNT_HTTP_HOST_NOT_ALLOWED: {
    http: 421,
    dimse: 0xc000,
    meaning:
      'The Host header names a host this server does not answer for (http.allowedHosts): a misdirected or DNS-rebinding request.',
  },
  LNT_IMAGE_INVALID: {
    http: 422,
    dimse: 0xc000,
    meaning:
      'The pixel data does not match its declared geometry, cannot be decoded, or is too large to render.',
  },
  LNT_IMAGE_UNSUPPORTED: {
    http: 406,
    dimse: 0xc000,
    meaning: 'The object has no pixel data, or its transfer syntax has no decoder here.',
  },
  LNT_BUSY: {
    http: 503,
    dimse: 0xa700,
    meaning: 'Too many image requests are waiting; try again shortly.',
  },
  LNT_AUTH_REQUIRED: {
    http: 401,
    dimse: 0x0124,
    meaning: 'The request carries no valid credentials (no session, or one that ended; no valid token).',
  },
  LNT_AUTH_FAILED: {
    http: 401,
    dimse: 0x0124,
    meaning: 'The login or the password is wrong (the same answer for both).',
  },
  LNT_AUTH_LOCKED: {
    http: 429,
    dimse: 0x0124,
    meaning: 'Too many failed logins for this account or address; try again later.',
  },
  LNT_PASSWORD_CHANGE_REQUIRED: {
    http: 403,
    dimse: 0x0124,
    meaning: 'The password was set by someone else and must be changed before anything else.',
  },
  LNT_MFA_REQUIRED: {
    http: 401,
    dimse: 0x0124,
    meaning:
      'The account logs in with a second factor: send the code from its authenticator app (or a recovery code) with the password.',
  },
  LNT_MFA_FAILED: {
    http: 401,
    dimse: 0x0124,
    meaning: 'The second-factor code is wrong, too old or used already; it counts as a failed login.',
  },
  LNT_MFA_SETUP_REQUIRED: {
    http: 403,
    dimse: 0x0124,
    meaning:
      "The account's role requires a second factor (security.mfaRoles): enrol one (POST /api/auth/mfa) before anything else.",
  },
  LNT_REAUTH_FAILED: {
    http: 403,
    dimse: 0x0124,
    meaning:
      'The password given to confirm a sensitive operation (creating an API token) is missing or wrong; the session stays.',
  },
  LNT_FORBIDDEN: {
    http: 403,
    dimse: 0x0124,
    meaning: "The actor's roles do not permit this operation.",
  },
  LNT_CSRF: {
    http: 403,
    dimse: 0xc000,
    meaning: 'A state change from a browser session lacks its X-CSRF-Token header.',
  },
  LNT_PASSWORD_POLICY: {
    http: 400,
    dimse: 0xc000,
    meaning:
      'The new password is too short, too common, too easy to guess (strength score below 3), or contains the login.',
  },
  LNT_CONFLICT: {
    http: 409,
    dimse: 0xc000,
    meaning: 'The resource exists already (e.g. a login that is taken).',
  },
  LNT_AUDIT_FAILED: {
    http: 503,
    dimse: 0xa700,
    meaning: 'The audit record of the operation could not be written, so the operation was not done.',
  },
  LNT_CONFIG_INVALID: {
    http: 500,
    dimse: 0xc000,
    meaning: 'The configuration is invalid; the message names the setting.',
  },
  LNT_INTERNAL: {
    http: 500,
    dimse: 0xc000,
    meaning: 'An unexpected failure; the operational log has the details.',
  },
} as const satisfies Record<string, { http: number; dimse: number; meaning: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export class LanternError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
  get httpStatus(): number {
    return ERROR_CATALOGUE[this.code].http;
  }
  get dimseStatus(): number {
    return ERROR_CATALOGUE[this.code].dimse;
  }
}

/** The input is not valid DICOM: parse and validation failures of received bytes. */
export class DicomFormatError extends LanternError {
  /** Byte offset in the input where the problem was found, when known. */
  readonly offset: number | undefined;
  /** The problem without its offset. */
  readonly reason: string;
  constructor(code: ErrorCode, message: string, offset?: number) {
    super(code, offset === undefined ? message : `${message} (at byte ${offset})`);
    this.offset = offset;
    this.reason = message;
  }
}

/**
 * An error as a short comment for the wire (a DIMSE Error Comment is LO, 64 characters at most): the byte
 * offset first, where one is known, so that it survives the cut.
 */
export function shortComment(e: LanternError, max = 64): string {
  const text =
    e instanceof DicomFormatError && e.offset !== undefined ? `at byte ${e.offset}: ${e.reason}` : e.message;
  return text.length <= max ? text : `${text.slice(0, max - 3)}...`;
}

export class ConfigError extends LanternError {
  constructor(message: string) {
    super('LNT_CONFIG_INVALID', message);
  }
}

export class QueryError extends LanternError {
  constructor(message: string) {
    super('LNT_QUERY_INVALID', message);
  }
}

export class NotFoundError extends LanternError {
  constructor(message: string) {
    super('LNT_NOT_FOUND', message);
  }
}

export function isLanternError(e: unknown): e is LanternError {
  return e instanceof LanternError;
}
