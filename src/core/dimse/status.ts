/** DIMSE status codes (PS3.7 Annex C) with their meaning and category. */
export type StatusCategory = 'Success' | 'Warning' | 'Failure' | 'Cancel' | 'Pending';

export const Status = {
  Success: 0x0000,
  // Warnings
  AttributeListError: 0x0107,
  AttributeValueOutOfRange: 0x0116,
  CoercionOfDataElements: 0xb000,
  ElementsDiscarded: 0xb006,
  DataSetDoesNotMatchSopClassWarning: 0xb007,
  SubOperationsCompleteWithFailures: 0xb000,
  // Cancel and pending
  Cancel: 0xfe00,
  Pending: 0xff00,
  PendingWithWarnings: 0xff01,
  // Failures (general, PS3.7 C.4 and the service classes of PS3.4)
  NoSuchAttribute: 0x0105,
  InvalidAttributeValue: 0x0106,
  ProcessingFailure: 0x0110,
  DuplicateSopInstance: 0x0111,
  NoSuchSopInstance: 0x0112,
  NoSuchEventType: 0x0113,
  InvalidArgumentValue: 0x0115,
  InvalidObjectInstance: 0x0117,
  NoSuchSopClass: 0x0118,
  ClassInstanceConflict: 0x0119,
  MissingAttribute: 0x0120,
  MissingAttributeValue: 0x0121,
  SopClassNotSupported: 0x0122,
  NoSuchActionType: 0x0123,
  NotAuthorized: 0x0124,
  DuplicateInvocation: 0x0210,
  UnrecognizedOperation: 0x0211,
  MistypedArgument: 0x0212,
  ResourceLimitation: 0x0213,
  OutOfResources: 0xa700,
  OutOfResourcesNumberOfMatches: 0xa701,
  OutOfResourcesSubOperations: 0xa702,
  MoveDestinationUnknown: 0xa801,
  DataSetDoesNotMatchSopClass: 0xa900,
  IdentifierDoesNotMatchSopClass: 0xa900,
  CannotUnderstand: 0xc000,
} as const;

/** The category of a status value (PS3.7 C.1 to C.5; A7xx, A9xx, Cxxx are failure ranges). */
export function statusCategory(status: number): StatusCategory {
  if (status === 0x0000) return 'Success';
  if (status === 0xfe00) return 'Cancel';
  if (status === 0xff00 || status === 0xff01) return 'Pending';
  if (status === 0x0001 || (status & 0xf000) === 0xb000 || status === 0x0107 || status === 0x0116)
    return 'Warning';
  return 'Failure';
}
