/** Transfer syntaxes of PS3.6 Table A-1 and how each encodes the dataset. */
export interface TransferSyntax {
  readonly uid: string;
  readonly name: string;
  readonly explicitVr: boolean;
  readonly littleEndian: boolean;
  /** Pixel data in fragments (PS3.5 A.4). */
  readonly encapsulated: boolean;
  /** The dataset after the meta header is deflate-compressed (RFC 1951). */
  readonly deflated: boolean;
  /** Pixel data is referenced (JPIP) or the codec is lossy. */
  readonly lossy: boolean;
  readonly retired: boolean;
}

export const TransferSyntaxUid = {
  ImplicitVRLittleEndian: '1.2.840.10008.1.2',
  ExplicitVRLittleEndian: '1.2.840.10008.1.2.1',
  EncapsulatedUncompressedExplicitVRLittleEndian: '1.2.840.10008.1.2.1.98',
  DeflatedExplicitVRLittleEndian: '1.2.840.10008.1.2.1.99',
  ExplicitVRBigEndian: '1.2.840.10008.1.2.2',
  JPEGBaseline8Bit: '1.2.840.10008.1.2.4.50',
  JPEGExtended12Bit: '1.2.840.10008.1.2.4.51',
  JPEGLossless: '1.2.840.10008.1.2.4.57',
  JPEGLosslessSV1: '1.2.840.10008.1.2.4.70',
  JPEGLSLossless: '1.2.840.10008.1.2.4.80',
  JPEGLSNearLossless: '1.2.840.10008.1.2.4.81',
  JPEG2000Lossless: '1.2.840.10008.1.2.4.90',
  JPEG2000: '1.2.840.10008.1.2.4.91',
  JPEG2000MCLossless: '1.2.840.10008.1.2.4.92',
  JPEG2000MC: '1.2.840.10008.1.2.4.93',
  JPIPReferenced: '1.2.840.10008.1.2.4.94',
  JPIPReferencedDeflate: '1.2.840.10008.1.2.4.95',
  MPEG2MPML: '1.2.840.10008.1.2.4.100',
  MPEG2MPMLF: '1.2.840.10008.1.2.4.100.1',
  MPEG2MPHL: '1.2.840.10008.1.2.4.101',
  MPEG2MPHLF: '1.2.840.10008.1.2.4.101.1',
  MPEG4HP41: '1.2.840.10008.1.2.4.102',
  MPEG4HP41F: '1.2.840.10008.1.2.4.102.1',
  MPEG4HP41BD: '1.2.840.10008.1.2.4.103',
  MPEG4HP41BDF: '1.2.840.10008.1.2.4.103.1',
  MPEG4HP422D: '1.2.840.10008.1.2.4.104',
  MPEG4HP422DF: '1.2.840.10008.1.2.4.104.1',
  MPEG4HP423D: '1.2.840.10008.1.2.4.105',
  MPEG4HP423DF: '1.2.840.10008.1.2.4.105.1',
  MPEG4HP42STEREO: '1.2.840.10008.1.2.4.106',
  MPEG4HP42STEREOF: '1.2.840.10008.1.2.4.106.1',
  HEVCMP51: '1.2.840.10008.1.2.4.107',
  HEVCM10P51: '1.2.840.10008.1.2.4.108',
  JPEGXLLossless: '1.2.840.10008.1.2.4.110',
  JPEGXLJPEGRecompression: '1.2.840.10008.1.2.4.111',
  JPEGXL: '1.2.840.10008.1.2.4.112',
  HTJ2KLossless: '1.2.840.10008.1.2.4.201',
  HTJ2KLosslessRPCL: '1.2.840.10008.1.2.4.202',
  HTJ2K: '1.2.840.10008.1.2.4.203',
  JPIPHTJ2KReferenced: '1.2.840.10008.1.2.4.204',
  JPIPHTJ2KReferencedDeflate: '1.2.840.10008.1.2.4.205',
  RLELossless: '1.2.840.10008.1.2.5',
  SMPTEST211020UncompressedProgressiveActiveVideo: '1.2.840.10008.1.2.7.1',
  SMPTEST211020UncompressedInterlacedActiveVideo: '1.2.840.10008.1.2.7.2',
  SMPTEST211030PCMDigitalAudio: '1.2.840.10008.1.2.7.3',
  DeflatedImageFrameCompression: '1.2.840.10008.1.2.8.1',
} as const;

type Flags = [name: string, encapsulated: boolean, lossy: boolean, retired?: boolean];
const ENCAPSULATED: Record<string, Flags> = {
  '1.2.840.10008.1.2.1.98': ['Encapsulated Uncompressed Explicit VR Little Endian', true, false],
  '1.2.840.10008.1.2.4.50': ['JPEG Baseline (Process 1)', true, true],
  '1.2.840.10008.1.2.4.51': ['JPEG Extended (Process 2 & 4)', true, true],
  '1.2.840.10008.1.2.4.52': ['JPEG Extended (Process 3 & 5)', true, true, true],
  '1.2.840.10008.1.2.4.53': ['JPEG Spectral Selection, Non-Hierarchical (Process 6 & 8)', true, true, true],
  '1.2.840.10008.1.2.4.54': ['JPEG Spectral Selection, Non-Hierarchical (Process 7 & 9)', true, true, true],
  '1.2.840.10008.1.2.4.55': ['JPEG Full Progression, Non-Hierarchical (Process 10 & 12)', true, true, true],
  '1.2.840.10008.1.2.4.56': ['JPEG Full Progression, Non-Hierarchical (Process 11 & 13)', true, true, true],
  '1.2.840.10008.1.2.4.57': ['JPEG Lossless, Non-Hierarchical (Process 14)', true, false],
  '1.2.840.10008.1.2.4.58': ['JPEG Lossless, Non-Hierarchical (Process 15)', true, false, true],
  '1.2.840.10008.1.2.4.59': ['JPEG Extended, Hierarchical (Process 16 & 18)', true, true, true],
  '1.2.840.10008.1.2.4.60': ['JPEG Extended, Hierarchical (Process 17 & 19)', true, true, true],
  '1.2.840.10008.1.2.4.61': ['JPEG Spectral Selection, Hierarchical (Process 20 & 22)', true, true, true],
  '1.2.840.10008.1.2.4.62': ['JPEG Spectral Selection, Hierarchical (Process 21 & 23)', true, true, true],
  '1.2.840.10008.1.2.4.63': ['JPEG Full Progression, Hierarchical (Process 24 & 26)', true, true, true],
  '1.2.840.10008.1.2.4.64': ['JPEG Full Progression, Hierarchical (Process 25 & 27)', true, true, true],
  '1.2.840.10008.1.2.4.65': ['JPEG Lossless, Hierarchical (Process 28)', true, false, true],
  '1.2.840.10008.1.2.4.66': ['JPEG Lossless, Hierarchical (Process 29)', true, false, true],
  '1.2.840.10008.1.2.4.70': [
    'JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14 SV1)',
    true,
    false,
  ],
  '1.2.840.10008.1.2.4.80': ['JPEG-LS Lossless Image Compression', true, false],
  '1.2.840.10008.1.2.4.81': ['JPEG-LS Lossy (Near-Lossless) Image Compression', true, true],
  '1.2.840.10008.1.2.4.90': ['JPEG 2000 Image Compression (Lossless Only)', true, false],
  '1.2.840.10008.1.2.4.91': ['JPEG 2000 Image Compression', true, true],
  '1.2.840.10008.1.2.4.92': [
    'JPEG 2000 Part 2 Multi-component Image Compression (Lossless Only)',
    true,
    false,
  ],
  '1.2.840.10008.1.2.4.93': ['JPEG 2000 Part 2 Multi-component Image Compression', true, true],
  '1.2.840.10008.1.2.4.94': ['JPIP Referenced', false, true],
  '1.2.840.10008.1.2.4.100': ['MPEG2 Main Profile / Main Level', true, true],
  '1.2.840.10008.1.2.4.100.1': ['Fragmentable MPEG2 Main Profile / Main Level', true, true],
  '1.2.840.10008.1.2.4.101': ['MPEG2 Main Profile / High Level', true, true],
  '1.2.840.10008.1.2.4.101.1': ['Fragmentable MPEG2 Main Profile / High Level', true, true],
  '1.2.840.10008.1.2.4.102': ['MPEG-4 AVC/H.264 High Profile / Level 4.1', true, true],
  '1.2.840.10008.1.2.4.102.1': ['Fragmentable MPEG-4 AVC/H.264 High Profile / Level 4.1', true, true],
  '1.2.840.10008.1.2.4.103': ['MPEG-4 AVC/H.264 BD-compatible High Profile / Level 4.1', true, true],
  '1.2.840.10008.1.2.4.103.1': [
    'Fragmentable MPEG-4 AVC/H.264 BD-compatible High Profile / Level 4.1',
    true,
    true,
  ],
  '1.2.840.10008.1.2.4.104': ['MPEG-4 AVC/H.264 High Profile / Level 4.2 For 2D Video', true, true],
  '1.2.840.10008.1.2.4.104.1': [
    'Fragmentable MPEG-4 AVC/H.264 High Profile / Level 4.2 For 2D Video',
    true,
    true,
  ],
  '1.2.840.10008.1.2.4.105': ['MPEG-4 AVC/H.264 High Profile / Level 4.2 For 3D Video', true, true],
  '1.2.840.10008.1.2.4.105.1': [
    'Fragmentable MPEG-4 AVC/H.264 High Profile / Level 4.2 For 3D Video',
    true,
    true,
  ],
  '1.2.840.10008.1.2.4.106': ['MPEG-4 AVC/H.264 Stereo High Profile / Level 4.2', true, true],
  '1.2.840.10008.1.2.4.106.1': ['Fragmentable MPEG-4 AVC/H.264 Stereo High Profile / Level 4.2', true, true],
  '1.2.840.10008.1.2.4.107': ['HEVC/H.265 Main Profile / Level 5.1', true, true],
  '1.2.840.10008.1.2.4.108': ['HEVC/H.265 Main 10 Profile / Level 5.1', true, true],
  '1.2.840.10008.1.2.4.110': ['JPEG XL Lossless', true, false],
  '1.2.840.10008.1.2.4.111': ['JPEG XL JPEG Recompression', true, false],
  '1.2.840.10008.1.2.4.112': ['JPEG XL', true, true],
  '1.2.840.10008.1.2.4.201': ['High-Throughput JPEG 2000 Image Compression (Lossless Only)', true, false],
  '1.2.840.10008.1.2.4.202': [
    'High-Throughput JPEG 2000 with RPCL Options Image Compression (Lossless Only)',
    true,
    false,
  ],
  '1.2.840.10008.1.2.4.203': ['High-Throughput JPEG 2000 Image Compression', true, true],
  '1.2.840.10008.1.2.4.204': ['JPIP HTJ2K Referenced', false, true],
  '1.2.840.10008.1.2.5': ['RLE Lossless', true, false],
  '1.2.840.10008.1.2.7.1': ['SMPTE ST 2110-20 Uncompressed Progressive Active Video', false, false],
  '1.2.840.10008.1.2.7.2': ['SMPTE ST 2110-20 Uncompressed Interlaced Active Video', false, false],
  '1.2.840.10008.1.2.7.3': ['SMPTE ST 2110-30 PCM Digital Audio', false, false],
  '1.2.840.10008.1.2.8.1': ['Deflated Image Frame Compression', true, false],
};

const TABLE = new Map<string, TransferSyntax>();
function add(t: TransferSyntax): void {
  TABLE.set(t.uid, t);
}
const base = { encapsulated: false, deflated: false, lossy: false, retired: false };
add({
  ...base,
  uid: '1.2.840.10008.1.2',
  name: 'Implicit VR Little Endian',
  explicitVr: false,
  littleEndian: true,
});
add({
  ...base,
  uid: '1.2.840.10008.1.2.1',
  name: 'Explicit VR Little Endian',
  explicitVr: true,
  littleEndian: true,
});
add({
  ...base,
  uid: '1.2.840.10008.1.2.1.99',
  name: 'Deflated Explicit VR Little Endian',
  explicitVr: true,
  littleEndian: true,
  deflated: true,
});
add({
  ...base,
  uid: '1.2.840.10008.1.2.2',
  name: 'Explicit VR Big Endian',
  explicitVr: true,
  littleEndian: false,
  retired: true,
});
add({
  ...base,
  uid: '1.2.840.10008.1.2.4.95',
  name: 'JPIP Referenced Deflate',
  explicitVr: true,
  littleEndian: true,
  deflated: true,
  lossy: true,
});
add({
  ...base,
  uid: '1.2.840.10008.1.2.4.205',
  name: 'JPIP HTJ2K Referenced Deflate',
  explicitVr: true,
  littleEndian: true,
  deflated: true,
  lossy: true,
});
for (const [uid, [name, encapsulated, lossy, retired]] of Object.entries(ENCAPSULATED)) {
  add({
    uid,
    name,
    explicitVr: true,
    littleEndian: true,
    encapsulated,
    deflated: false,
    lossy,
    retired: !!retired,
  });
}

export function lookupTransferSyntax(uid: string): TransferSyntax | undefined {
  return TABLE.get(uid);
}

export function allTransferSyntaxes(): readonly TransferSyntax[] {
  return [...TABLE.values()];
}

export const IMPLICIT_LE = TABLE.get(TransferSyntaxUid.ImplicitVRLittleEndian)!;
export const EXPLICIT_LE = TABLE.get(TransferSyntaxUid.ExplicitVRLittleEndian)!;
export const EXPLICIT_BE = TABLE.get(TransferSyntaxUid.ExplicitVRBigEndian)!;
