import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The folder of pydicom's sample files (Debian's python3-pydicom), found under Python's dist-packages. */
export function pydicomDataDir(): string {
  const candidates = ['/usr/lib/python3/dist-packages/pydicom/data'];
  if (existsSync(join(candidates[0], 'test_files'))) return candidates[0];
  try {
    const out = execFileSync(
      'python3',
      ['-c', 'import pydicom,os;print(os.path.dirname(pydicom.__file__))'],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    ).trim();
    if (out) candidates.unshift(join(out, 'data'));
  } catch {
    // Python without pydicom: fall back to Debian's path.
  }
  for (const c of candidates) if (existsSync(join(c, 'test_files'))) return c;
  throw new Error('pydicom sample files not found: install python3-pydicom (npm test does this as root)');
}

export function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) out.push(...listFiles(p));
    else out.push(p);
  }
  return out;
}

/** Every .dcm file pydicom ships (test_files and charset_files, DICOMDIR tests included). */
export function pydicomFiles(): string[] {
  const d = pydicomDataDir();
  return [...listFiles(join(d, 'test_files')), ...listFiles(join(d, 'charset_files'))].filter(
    (f) => f.endsWith('.dcm') || /DICOMDIR$/.test(f),
  );
}

let python: string | undefined;
/** A Python interpreter that imports pydicom (Debian's, when another python3 comes first on the PATH). */
export function pydicomPython(): string {
  if (python) return python;
  for (const candidate of ['/usr/bin/python3', 'python3']) {
    try {
      execFileSync(candidate, ['-c', 'import pydicom'], { stdio: 'ignore' });
      return (python = candidate);
    } catch {
      // next
    }
  }
  throw new Error('no python3 with pydicom: install python3-pydicom (npm test does this as root)');
}
