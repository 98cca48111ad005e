/**
 * The long fuzz (issue 13, item 6): the properties of test/unit/fuzz/properties.ts, 10,000 runs each
 * (`npm run fuzz`; `FUZZ_RUNS=n` and `FUZZ_SEED=s` change the count and replay a seed). Prints per
 * target: runs, failures, time, and the seed and counterexample of a failure. Exits 1 when one fails.
 */
import fc from 'fast-check';

import {
	applyGenerated,
	bodyParser,
	compileGarbled,
	contentType,
	garbledDocument,
	generatedDocument,
	parseBody,
	rawBody,
	record,
	shippedBothWays,
	shippedCase,
	stats,
} from '../test/unit/fuzz/properties';

const runs = Number(process.env.FUZZ_RUNS ?? 10_000);
const seed = process.env.FUZZ_SEED === undefined ? Date.now() ^ (Math.random() * 0x7fffffff) : Number(process.env.FUZZ_SEED);
const parser = bodyParser();

const targets: Array<[string, fc.IRawProperty<never>]> = [
	['mapping compile (garbled shipped documents)', fc.property(garbledDocument, compileGarbled) as never],
	['mapping apply both ways (generated mappings, arbitrary records)', fc.property(generatedDocument, fc.array(record, { minLength: 1, maxLength: 4 }), applyGenerated) as never],
	['shipped mappings both ways (perturbed records, canary, round trip)', fc.property(shippedCase, shippedBothWays) as never],
	[`trigger body parser (${parser.name})`, fc.property(rawBody, fc.nat(), contentType, (raw, fields, type) => parseBody(parser, raw, fields, type)) as never],
];

let failed = 0;
console.log(`fuzz: ${runs} runs per target, seed ${seed}`);
for (const [name, property] of targets) {
	for (const k of Object.keys(stats)) delete stats[k];
	const started = process.hrtime.bigint();
	const details = fc.check(property, { numRuns: runs, seed, endOnFailure: true }) as unknown as fc.RunDetails<unknown>;
	const ms = Number(process.hrtime.bigint() - started) / 1e6;
	const failures = details.failed ? 1 : 0;
	failed += failures;
	console.log(`${name}: runs ${details.numRuns}, failures ${failures}, time ${(ms / 1000).toFixed(1)} s`);
	console.log(`  ${Object.entries(stats).map(([k, v]) => `${k} ${v}`).join(', ')}`);
	if (details.failed) {
		console.log(`  seed ${details.seed}, path ${details.counterexamplePath}`);
		console.log(`  counterexample: ${fc.stringify(details.counterexample).slice(0, 2000)}`);
		const error = details.errorInstance as Error & { cause?: Error };
		console.log(`  error: ${String(error?.message ?? error).slice(0, 2000)}`);
		if (process.env.FUZZ_STACK) console.log(error?.cause?.stack ?? error?.stack);
	}
}
process.exit(failed ? 1 : 0);
