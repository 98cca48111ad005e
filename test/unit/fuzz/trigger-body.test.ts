/**
 * Fuzzing the DataSync Trigger's body parser (issue 13, item 6): raw bodies (JSON of changes with hostile
 * ids, ops and data, truncated JSON, deep nesting, random bytes) give well-formed items or a PayloadError
 * with a reason, and never change a built-in prototype. `npm run fuzz` runs 10,000 (scripts/fuzz.ts).
 */
import fc from 'fast-check';

import { bodyParser, contentType, parseBody, rawBody } from './properties';

test(`the trigger's body parser gives well-formed items or a PayloadError, nothing else`, () => {
	const parser = bodyParser();
	fc.assert(fc.property(rawBody, fc.nat(), contentType, (raw, fields, type) => parseBody(parser, raw, fields, type)), { numRuns: 300 });
});
