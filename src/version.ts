/** Identity written into meta headers we create (PS3.7 D.3.3.2) and reported by --version. */
export const VERSION = '0.1.0';
/** Lantern's implementation class UID: a UUID-derived UID (ISO/IEC 9834-8, root 2.25). */
export const IMPLEMENTATION_CLASS_UID = '2.25.196582671211553486936946622043397729514';
export const IMPLEMENTATION_VERSION_NAME = `LANTERN_${VERSION.replace(/\./g, '')}`;
