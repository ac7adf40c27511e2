import { type Command, InvalidArgumentError } from 'commander';
import type { App } from '../app.js';
import { loadConfig } from '../config.js';
import { createApp } from '../main.js';

/** An option argument that must be a whole number. */
export const int = (v: string) => {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError('must be a whole number');
  return Number(v);
};

/** A repeatable option: each use adds a value. */
export function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

/** The options of every command that opens the archive. */
export interface Common {
  data?: string;
  config?: string;
}

/** Adds --data and --config (in that order) to a command that opens the archive. */
export function appOptions(c: Command, dataHelp = 'data folder'): Command {
  return c.option('--data <dir>', dataHelp).option('--config <file>', 'JSON configuration file');
}

export function configFrom(opts: Common, flags: Record<string, unknown> = {}) {
  return loadConfig({ file: opts.config, flags: { dataDir: opts.data, ...flags } });
}

/** Runs `fn` with the archive the options name, closed afterwards whatever happens. */
export async function withApp<T>(opts: Common, fn: (app: App) => Promise<T>): Promise<T> {
  const app = await createApp(configFrom(opts));
  try {
    return await fn(app);
  } finally {
    await app.close();
  }
}
