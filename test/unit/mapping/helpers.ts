import { compileMapping, type FieldMapping, type MapOutcome, type MappingDocument, type SystemMapping } from '../../../lib/mapping';

/** A one-system mapping ("sys") for entity "thing" with the given rows and settings. */
export function oneSystem(fields: FieldMapping[], system: Partial<SystemMapping> = {}, canonical?: MappingDocument['canonical']) {
	const doc: MappingDocument = { entity: 'thing', systems: { sys: { fields, ...system } } };
	if (canonical) doc.canonical = canonical;
	return compileMapping(doc).systems.get('sys')!;
}

/** The mapped data, or a thrown error listing the field errors. */
export function data(outcome: MapOutcome): Record<string, unknown> {
	if (!outcome.ok) throw new Error(`expected valid, got: ${outcome.errors.map((e) => e.message).join('; ')}`);
	return outcome.data;
}

/** The field errors as [field, rule] pairs (empty when valid). */
export function broken(outcome: MapOutcome): Array<[string, string]> {
	return outcome.ok ? [] : outcome.errors.map((e) => [e.field, e.rule]);
}

/** Maps one value of a one-row mapping into the canonical shape ("v" ↔ "v"). */
export function inbound(row: Omit<FieldMapping, 'canonical' | 'system'>, value: unknown, system: Partial<SystemMapping> = {}): MapOutcome {
	return oneSystem([{ canonical: 'v', system: 'v', ...row }], { direction: 'toCanonical', ...system }).toCanonical({ v: value }, '1');
}

export function outbound(row: Omit<FieldMapping, 'canonical' | 'system'>, value: unknown): MapOutcome {
	return oneSystem([{ canonical: 'v', system: 'v', ...row }], { direction: 'toSystem' }).toSystem({ v: value }, '1');
}
