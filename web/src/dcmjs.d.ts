/** The part of dcmjs (which ships no types) that the web app uses: Part 10 reading and writing. */
declare module 'dcmjs' {
  // dcmjs data sets are untyped: naturalised keywords to values of any VR.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  type Naturalized = Record<string, any>;
  const dcmjs: {
    data: {
      DicomDict: new (meta: Record<string, unknown>) => {
        dict: Record<string, unknown>;
        write(): ArrayBuffer;
      };
      DicomMessage: {
        readFile(buffer: ArrayBuffer): { dict: Record<string, unknown>; meta: Record<string, unknown> };
      };
      DicomMetaDictionary: {
        naturalizeDataset(ds: Record<string, unknown>): Naturalized;
        denaturalizeDataset(ds: Record<string, unknown>): Record<string, unknown>;
        uid(): string;
      };
    };
  };
  export default dcmjs;
}
