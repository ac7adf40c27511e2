/**
 * Wildcard matching on characters, not bytes (C.2.2.2.4): `*` any run, `?` exactly one character. Linear in
 * practice and O(pattern x value) at worst, whatever the pattern: no regular expression, no backtracking
 * beyond the last `*` (the classic greedy algorithm), so a key such as `*A*A*A*A*B` cannot stall the process.
 */
export function wildcardMatch(pattern: string, value: string, caseInsensitive = false): boolean {
  const p = Array.from(caseInsensitive ? pattern.toLocaleUpperCase() : pattern);
  const v = Array.from(caseInsensitive ? value.toLocaleUpperCase() : value);
  let i = 0; // in v
  let j = 0; // in p
  let star = -1; // position in p after the last `*` seen
  let mark = 0; // position in v where that `*` began to match
  while (i < v.length) {
    if (j < p.length && (p[j] === '?' || (p[j] !== '*' && p[j] === v[i]))) {
      i++;
      j++;
    } else if (j < p.length && p[j] === '*') {
      star = ++j;
      mark = i;
    } else if (star >= 0) {
      // The last `*` takes one more character; everything after it is matched again from there.
      j = star;
      i = ++mark;
    } else return false;
  }
  while (j < p.length && p[j] === '*') j++;
  return j === p.length;
}
