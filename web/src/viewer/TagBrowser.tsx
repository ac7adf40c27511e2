import { useEffect, useMemo, useRef, useState } from 'react';
import { formatTag, isPrivateTag, lookupTag } from '../../../src/core/dicom/dictionary.js';
import type { JsonAttribute, JsonDataset } from '../lib/dicom-json.js';

interface Row {
  readonly depth: number;
  readonly tag: string;
  readonly name: string;
  readonly vr: string;
  readonly value: string;
}

function valueText(a: JsonAttribute): string {
  if (a.BulkDataURI) return '(bulk data)';
  if (a.InlineBinary) return `(binary, ${Math.floor((a.InlineBinary.length * 3) / 4)} bytes)`;
  return (a.Value ?? [])
    .map((v) =>
      v !== null && typeof v === 'object'
        ? Object.values(v as Record<string, string>).join(' = ')
        : String(v),
    )
    .join('\\');
}

/** The data set as rows, sequences' items indented under them. */
function rowsOf(ds: JsonDataset, depth = 0, out: Row[] = []): Row[] {
  for (const hex of Object.keys(ds).sort()) {
    const a = ds[hex];
    const tag = parseInt(hex, 16) >>> 0;
    out.push({
      depth,
      tag: formatTag(tag),
      name: lookupTag(tag)?.keyword ?? (isPrivateTag(tag) ? 'Private' : 'Unknown'),
      vr: a.vr,
      value: a.vr === 'SQ' ? `${a.Value?.length ?? 0} item(s)` : valueText(a),
    });
    if (a.vr === 'SQ') for (const item of (a.Value ?? []) as JsonDataset[]) rowsOf(item, depth + 1, out);
  }
  return out;
}

/** The DICOM tag browser of the image shown: every attribute, filterable by tag, name or value. */
export function TagBrowser({ instance, onClose }: { instance: JsonDataset; onClose: () => void }) {
  const [filter, setFilter] = useState('');
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    dialog.current?.showModal();
  }, []);
  const rows = useMemo(() => rowsOf(instance), [instance]);
  const f = filter.trim().toLowerCase();
  const shown = f ? rows.filter((r) => `${r.tag} ${r.name} ${r.value}`.toLowerCase().includes(f)) : rows;
  return (
    <dialog ref={dialog} className="tags" onClose={onClose} aria-labelledby="tags-title">
      <header>
        <h2 id="tags-title">DICOM attributes</h2>
        <label>
          Filter <input value={filter} onChange={(e) => setFilter(e.target.value)} autoFocus />
        </label>
        <button type="button" onClick={() => dialog.current?.close()}>
          Close
        </button>
      </header>
      <table>
        <thead>
          <tr>
            <th scope="col">Tag</th>
            <th scope="col">Name</th>
            <th scope="col">VR</th>
            <th scope="col">Value</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((r, i) => (
            <tr key={i} className={`depth-${Math.min(r.depth, 4)}`}>
              <td className="mono">{r.tag}</td>
              <td>{r.name}</td>
              <td className="mono">{r.vr}</td>
              <td className="value">{r.value}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </dialog>
  );
}
