import { Status } from '../../core/dimse/status.js';
import type { DimseHandler } from '../../net/dimse/association.js';

/** C-ECHO (PS3.4 A): the association works. */
export const echo: DimseHandler = async () => ({ status: Status.Success });
