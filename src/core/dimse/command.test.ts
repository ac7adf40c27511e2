import { describe, expect, it } from 'vitest';
import { CommandField, decodeCommand, encodeCommand, hasDataset, NO_DATASET } from './command.js';
import { statusCategory } from './status.js';

describe('DIMSE command sets', () => {
  it('encodes a C-ECHO-RQ as PS3.7 lays it out', () => {
    const bytes = encodeCommand({
      AffectedSOPClassUID: '1.2.840.10008.1.1',
      CommandField: CommandField.C_ECHO_RQ,
      MessageID: 7,
      CommandDataSetType: NO_DATASET,
    });
    expect(Buffer.from(bytes).toString('hex')).toBe(
      [
        '00000000' + '04000000' + '38000000', // (0000,0000) UL 4: group length 56
        '00000200' + '12000000' + Buffer.from('1.2.840.10008.1.1\0').toString('hex'), // (0000,0002) UI, NUL padded
        '00000001' + '02000000' + '3000', // (0000,0100) command field 0030H
        '00001001' + '02000000' + '0700', // (0000,0110) message ID 7
        '00000008' + '02000000' + '0101', // (0000,0800) no data set
      ].join(''),
    );
    expect(decodeCommand(bytes)).toEqual({
      CommandGroupLength: 56,
      AffectedSOPClassUID: '1.2.840.10008.1.1',
      CommandField: 0x30,
      MessageID: 7,
      CommandDataSetType: NO_DATASET,
    });
  });

  it('round-trips responses with AE titles, comments and tags', () => {
    const cmd = {
      CommandField: CommandField.C_MOVE_RSP,
      MessageIDBeingRespondedTo: 3,
      CommandDataSetType: NO_DATASET,
      Status: 0xa801,
      ErrorComment: 'unknown destination',
      OffendingElement: [0x00000600],
      NumberOfRemainingSuboperations: 0,
      MoveOriginatorApplicationEntityTitle: 'MOVER',
    };
    const back = decodeCommand(encodeCommand(cmd));
    expect(back).toMatchObject(cmd);
    expect(hasDataset(back)).toBe(false);
  });

  it('refuses malformed command sets', () => {
    expect(() => decodeCommand(Uint8Array.of(0, 0, 0, 1, 2, 0, 0, 0))).toThrow(/runs past/);
    expect(() => decodeCommand(Uint8Array.of(8, 0, 0x18, 0, 0, 0, 0, 0))).toThrow(/not a command element/);
    expect(() => decodeCommand(Uint8Array.of(0, 0, 0, 1, 1, 0, 0, 0, 0x30))).toThrow(/2 bytes long/);
  });

  it('categorises statuses', () => {
    expect(statusCategory(0x0000)).toBe('Success');
    expect(statusCategory(0xff00)).toBe('Pending');
    expect(statusCategory(0xfe00)).toBe('Cancel');
    expect(statusCategory(0xb007)).toBe('Warning');
    expect(statusCategory(0xa900)).toBe('Failure');
    expect(statusCategory(0xc123)).toBe('Failure');
  });
});
