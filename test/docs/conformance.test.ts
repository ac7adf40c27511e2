import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as prettier from 'prettier';
import { describe, expect, it } from 'vitest';
import { conformanceTable, ServiceRegistry } from '../../src/servers/dimse/registry.js';
import { SERVICE_CLASSES, type ServiceDeps } from '../../src/servers/dimse/service-classes.js';
import { SopClass } from '../../src/core/dicom/dictionary.js';
import { ServiceSopClass } from '../../src/core/dimse/sop-classes.js';
import { CommandField } from '../../src/core/dimse/command.js';

// The conformance statement's table of presentation contexts accepted is generated from the DICOM service
// classes the listener registers (`npm run build && npm run gen:docs`), so the two cannot disagree.

const page = resolve(import.meta.dirname, '../../docs/conformance.md');
const doc = readFileSync(page, 'utf8');
const markers = /(?<=<!-- services:begin\b[^\n]*-->\n)[\s\S]*?(?=<!-- services:end -->)/;

describe('docs/conformance.md', () => {
  it('holds the presentation contexts table generated from the service classes', async () => {
    expect(doc).toMatch(markers);
    const generated = doc.replace(markers, () => `\n${conformanceTable(SERVICE_CLASSES)}\n\n`);
    const formatted = await prettier.format(generated, {
      ...(await prettier.resolveConfig(page)),
      filepath: page,
    });
    expect(doc).toBe(formatted);
  });

  it('the registry routes each command on the service class of its context, and nothing else', () => {
    // The handlers are only looked at, never run: the services they close over are not needed.
    const registry = new ServiceRegistry(SERVICE_CLASSES, {} as ServiceDeps);
    const ctx = (abstractSyntax: string) => ({ id: 1, abstractSyntax, transferSyntax: '1.2.840.10008.1.2' });
    expect(registry.route(ctx(ServiceSopClass.Verification), CommandField.C_ECHO_RQ)).toBeDefined();
    expect(registry.route(ctx(SopClass.CTImageStorage), CommandField.C_STORE_RQ)).toBeDefined();
    expect(registry.route(ctx(SopClass.CTImageStorage), CommandField.C_ECHO_RQ)).toBeUndefined();
    expect(registry.route(ctx(ServiceSopClass.StudyRootFind), CommandField.C_FIND_RQ)).toBeDefined();
    expect(registry.route(ctx(ServiceSopClass.StudyRootFind), CommandField.C_MOVE_RQ)).toBeUndefined();
    expect(
      registry.route(ctx(ServiceSopClass.StorageCommitmentPushModel), CommandField.N_ACTION_RQ),
    ).toBeDefined();
    const caps = registry.capabilities();
    expect(caps.transferSyntaxesFor('1.2.3.4')).toBeUndefined();
    expect(caps.acceptScpRole?.(SopClass.CTImageStorage)).toBe(true);
    expect(caps.acceptScpRole?.(ServiceSopClass.StudyRootFind)).toBe(false);
    expect([
      ...(caps.answerExtended?.(ServiceSopClass.StudyRootFind, Uint8Array.of(1, 1, 1, 1)) ?? []),
    ]).toEqual([1, 0, 1]);
    expect(caps.answerExtended?.(ServiceSopClass.StudyRootMove, Uint8Array.of(1))).toBeUndefined();
  });
});
