/**
 * Fuzzing the mapping engine (issue 13, item 6): garbled documents compile or are refused with
 * MappingConfigError naming the system; generated mappings map arbitrary records both ways without a
 * throw, every field error naming the record, the field and a known rule; the shipped mappings keep
 * sensitive values out of every outcome and are a fixed point on the canonical side. A few hundred runs
 * each here; `npm run fuzz` runs 10,000 each (scripts/fuzz.ts).
 */
import fc from 'fast-check';

import { applyGenerated, compileGarbled, garbledDocument, generatedDocument, record, shippedBothWays, shippedCase } from './properties';

const RUNS = 300;

describe('mapping fuzz', () => {
	test('a garbled shipped document compiles or is refused with a MappingConfigError naming the system, and pollutes nothing', () => {
		fc.assert(fc.property(garbledDocument, compileGarbled), { numRuns: RUNS });
	});

	test('generated mappings map arbitrary records to and from canonical without a throw, errors naming record, field and rule', () => {
		fc.assert(fc.property(generatedDocument, fc.array(record, { minLength: 1, maxLength: 4 }), applyGenerated), { numRuns: RUNS });
	});

	test('the shipped mappings on perturbed records: no throw, no sensitive value out, canonical records a fixed point of the round trip', () => {
		fc.assert(fc.property(shippedCase, shippedBothWays), { numRuns: RUNS });
	});
});
