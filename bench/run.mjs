// Runs every benchmark (after `npm run build`). Each prints its figures and the ratio to a reference run
// in the same process; none asserts a time. Set BENCH_ONLY=header-parse,import,large-file,cstore,cstore-large,cstore-scale,cfind,qido,qido-fuzzy,query,query-scale,wado,cmove,rendered,cstore-audit,web to choose.
const only = process.env.BENCH_ONLY?.split(',');
const benches = [
  'header-parse',
  'import',
  'large-file',
  'cstore',
  'cstore-large',
  'cstore-scale',
  'cfind',
  'qido',
  'qido-fuzzy',
  'query',
  'query-scale',
  'wado',
  'cmove',
  'rendered',
  'cstore-audit',
  'web',
];
for (const name of benches) {
  if (only && !only.includes(name)) continue;
  console.log(`\n== ${name}`);
  const { run } = await import(`./${name}.mjs`);
  await run();
}
