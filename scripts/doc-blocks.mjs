// The generated blocks of the documentation, shared by scripts/gen-docs.mjs and the tests that check them.
import { resolve } from 'node:path';

/** Replaces the text between `<!-- NAME:begin ... -->` and `<!-- NAME:end -->` in `text`. */
export function replaceBlock(text, name, content, where = 'the page') {
  const markers = new RegExp(`(?<=<!-- ${name}:begin\\b[^\\n]*-->\\n)[\\s\\S]*?(?=<!-- ${name}:end -->)`);
  if (!markers.test(text))
    throw new Error(`${where} has no <!-- ${name}:begin --> ... <!-- ${name}:end --> markers`);
  return text.replace(markers, () => `\n${content}\n\n`);
}

/** Every generated block: its page, its marker name and its content, from the built code under `root`. */
export async function generatedBlocks(root, load = (p) => import(resolve(root, p))) {
  const { settingsTable } = await load('dist/config.js');
  const { conformanceTable } = await load('dist/servers/dimse/registry.js');
  const { SERVICE_CLASSES } = await load('dist/servers/dimse/service-classes.js');
  return [
    { page: 'docs/configuration.md', name: 'settings', content: settingsTable() },
    { page: 'docs/conformance.md', name: 'services', content: conformanceTable(SERVICE_CLASSES) },
  ];
}
