import { SHIPPED_MAPPINGS, SHIPPED_MAPPING_NAMES, compileMapping, shippedMapping } from '../../../lib/mapping';
import { deletePath, getPath, parsePath } from '../../../lib/mapping/path';

function without(record: Record<string, unknown>, paths: Array<string | undefined>): Record<string, unknown> {
	const copy = structuredClone(record);
	for (const p of paths) {
		if (!p) continue;
		const { segments } = parsePath(p)!;
		deletePath(copy, segments);
		// A nested sensitive field leaves its parent behind; the mapper writes no empty parent.
		const parent = getPath(copy, segments.slice(0, -1));
		if (segments.length > 1 && parent && Object.keys(parent).length === 0) deletePath(copy, segments.slice(0, -1));
	}
	return copy;
}

describe('shipped mappings', () => {
	it('ships contact, inventory, order and user for crm, erp and shop', () => {
		expect([...SHIPPED_MAPPING_NAMES].sort()).toEqual(['contact', 'inventory', 'order', 'user']);
		for (const name of SHIPPED_MAPPING_NAMES) {
			expect(Object.keys(SHIPPED_MAPPINGS[name].systems).sort()).toEqual(['crm', 'erp', 'shop']);
		}
	});

	it('hands out copies', () => {
		const copy = shippedMapping('contact')!;
		copy.entity = 'changed';
		expect(shippedMapping('contact')!.entity).toBe('contact');
		expect(shippedMapping('nope')).toBeUndefined();
	});

	describe.each(SHIPPED_MAPPING_NAMES)('%s', (name) => {
		const doc = SHIPPED_MAPPINGS[name];
		const mapping = compileMapping(doc);

		it('documents every canonical field it maps', () => {
			const documented = Object.keys(doc.canonical!.fields!);
			for (const system of Object.values(doc.systems)) {
				for (const row of system.fields) {
					for (const c of [row.canonical ?? []].flat()) expect(documented).toContain(c);
				}
			}
		});

		it('maps every system example to the same canonical record, without sensitive fields', () => {
			const canonical = Object.entries(doc.examples!).map(([system, record]) => {
				const outcome = mapping.systems.get(system)!.toCanonical(record, 'x');
				if (!outcome.ok) throw new Error(outcome.errors.map((e) => e.message).join('\n'));
				return outcome.data;
			});
			for (const c of canonical) expect(c).toEqual(canonical[0]);
			const text = JSON.stringify(canonical[0]);
			for (const [system, spec] of Object.entries(doc.systems)) {
				for (const s of spec.sensitive ?? []) {
					const value = getPath(doc.examples![system], parsePath(s)!.segments);
					if (typeof value === 'string') expect(text).not.toContain(value);
				}
			}
		});

		it('maps the canonical record back to each system example (minus id and sensitive fields)', () => {
			const first = Object.entries(doc.examples!)[0];
			const canonical = mapping.systems.get(first[0])!.toCanonical(first[1], 'x');
			if (!canonical.ok) throw new Error('example does not map');
			for (const [system, record] of Object.entries(doc.examples!)) {
				const spec = doc.systems[system];
				const back = mapping.systems.get(system)!.toSystem(canonical.data, 'x');
				if (!back.ok) throw new Error(back.errors.map((e) => e.message).join('\n'));
				expect(back.data).toEqual(without(record, [spec.idField, ...(spec.sensitive ?? [])]));
			}
		});
	});
});
