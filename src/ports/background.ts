/** Work that runs beside the servers for the life of the process (the audit export), started and stopped by main. */
export interface BackgroundTask {
  start(): void;
  stop(): Promise<void>;
}
