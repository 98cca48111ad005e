/**
 * Fuzz targets (issue 13, item 6): property-based runs of the mapping compiler, of compiled mappings in
 * both directions and of the trigger's body parser. The same properties run a few hundred times in
 * `npm test` (test/unit/fuzz/*.test.ts) and 10,000 times each in `npm run fuzz` (scripts/fuzz.ts).
 *
 * What every target promises: never a crash, never an exception other than the module's own error class
 * (MappingConfigError naming the system, PayloadError with a reason), field errors naming the record and
 * the field, and Object.prototype / Array.prototype never changed.
 */
import fc from 'fast-check';

import { DEFAULT_LIMITS, PayloadError, parseDelivery, type ChangeFields } from '../../../lib/connectors/webhook/changes';
import type { SyncItem } from '../../../lib/item';
import { MappingConfigError, SHIPPED_MAPPINGS, SHIPPED_MAPPING_NAMES, compileMapping, type FieldError, type MapOutcome, type MappingDocument } from '../../../lib/mapping';
import { parsePath } from '../../../lib/mapping/path';

/** Every rule name a field error may carry (lib/mapping/FORMAT.md, "Checks"). */
export const RULES = ['required', 'type', 'pattern', 'min', 'max', 'enum', 'email', 'maxLength', 'currency', 'format', 'unknownValue', 'constant', 'unmapped', 'text'];

/** A value that must never reach an output, an error message or the Invalid output's record. */
export const CANARY = 'CANARY-7f3a9c-secret';

/** How far the runs got (compiled, refused, valid, invalid, round trips): printed by scripts/fuzz.ts, so a fuzz that only ever hits refusals shows. */
export const stats: Record<string, number> = {};
function count(what: string): void {
	stats[what] = (stats[what] ?? 0) + 1;
}

// ---- prototype pollution -----------------------------------------------------------------------------

const PROTOTYPES = [Object.prototype, Array.prototype, Function.prototype, String.prototype];
const snapshot = PROTOTYPES.map((p) => new Map(Reflect.ownKeys(p).map((k) => [k, Object.getOwnPropertyDescriptor(p, k)!.value as unknown])));

/** Throws when any built-in prototype gained, lost or changed a property since this module loaded. */
export function assertNoPollution(): void {
	PROTOTYPES.forEach((proto, i) => {
		const keys = Reflect.ownKeys(proto);
		const before = snapshot[i];
		if (keys.length !== before.size) throw new Error(`prototype polluted: ${keys.filter((k) => !before.has(k)).map(String).join(', ')} added`);
		for (const k of keys) {
			if (!before.has(k) || Object.getOwnPropertyDescriptor(proto, k)!.value !== before.get(k)) throw new Error(`prototype polluted: ${String(k)} changed`);
		}
	});
}

// ---- hostile values -----------------------------------------------------------------------------------

/** Strings that broke parsers somewhere: impossible dates, NUL, lone surrogates, SQL, reserved keys, huge numbers. */
export const HOSTILE_STRINGS = [
	'',
	' ',
	'\u0000',
	'a\u0000b',
	'\uD800',
	'\uDFFF',
	'x\uD83D',
	'\uFEFF',
	'\u202E',
	'2023-02-29',
	'2024-02-30',
	'0000-01-01',
	'0000-00-00',
	'2024-01-01T24:00:00Z',
	'2024-13-01',
	'29/02/2023',
	'31/04/2024 24:00:00',
	'1e309',
	'-0',
	'NaN',
	'Infinity',
	'0x10',
	'1,234.5',
	'1.234,5',
	'12.505',
	'9007199254740993',
	'__proto__',
	'__proto__.polluted',
	'constructor.prototype.polluted',
	'constructor',
	'prototype',
	'toString',
	'hasOwnProperty',
	"'; DROP TABLE contacts; --",
	'" OR 1=1 --',
	'`id`; --',
	'/* comment */',
	'a.b',
	'[0]',
	'x'.repeat(300),
	'ä'.repeat(101),
	'<script>alert(1)</script>',
	'%00',
	'Y',
	'N',
	'yes',
	'1',
	'0',
	'true',
	'ADMIN',
	'active',
	'USD',
	'usd',
	'JPY',
	'de',
	'DE',
];

export const HOSTILE_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', 'a.b', '[0]', '', ' ', '\u0000', 'x\uD800', "name'; --"];

/** Defines an own, enumerable property: `__proto__` becomes a plain key, as JSON.parse makes it. */
export function defineOwn(target: Record<string, unknown>, key: string, value: unknown): void {
	Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

const hostileString = fc.oneof(fc.constantFrom(...HOSTILE_STRINGS), fc.string({ unit: 'binary', maxLength: 20 }), fc.string({ maxLength: 12 }));

/** Any leaf a record from another n8n node could hold. */
export const hostileLeaf: fc.Arbitrary<unknown> = fc.oneof(
	hostileString,
	fc.integer(),
	fc.double(),
	fc.constantFrom(0, -0, 1, 19.99, 1e21, -1, Number.MAX_SAFE_INTEGER + 2, NaN, Infinity, -Infinity, 1_704_067_200, 1_704_067_200_000),
	fc.boolean(),
	fc.constant(null),
	fc.constant(undefined),
);

/** Objects whose keys may be hostile, built with own properties (so `__proto__` is a real key). */
function objectOf(keys: fc.Arbitrary<string>, values: fc.Arbitrary<unknown>, maxKeys: number): fc.Arbitrary<Record<string, unknown>> {
	return fc.array(fc.tuple(keys, values), { maxLength: maxKeys }).map((pairs) => {
		const o: Record<string, unknown> = {};
		for (const [k, v] of pairs) defineOwn(o, k, v);
		return o;
	});
}

export const hostileValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
	value: fc.oneof(
		{ depthSize: 'small', withCrossShrink: true },
		hostileLeaf,
		fc.array(tie('value'), { maxLength: 3 }),
		objectOf(fc.oneof(fc.constantFrom(...HOSTILE_KEYS), fc.string({ maxLength: 6 })), tie('value'), 3),
	),
})).value;

// ---- mapping: garbled documents --------------------------------------------------------------------

type Segment = string | number;

/** All paths into a JSON-like value (objects and arrays), the root included. */
function allPaths(value: unknown, prefix: Segment[] = [], out: Segment[][] = []): Segment[][] {
	out.push(prefix);
	if (Array.isArray(value)) value.forEach((v, i) => allPaths(v, [...prefix, i], out));
	else if (value !== null && typeof value === 'object') for (const k of Object.keys(value)) allPaths((value as Record<string, unknown>)[k], [...prefix, k], out);
	return out;
}

function parentOf(root: unknown, path: Segment[]): Record<string | number, unknown> | undefined {
	let current = root as Record<string | number, unknown>;
	for (const s of path.slice(0, -1)) current = current[s] as Record<string | number, unknown>;
	return current;
}

export type Mutation = { kind: 'replace'; at: number; value: unknown } | { kind: 'delete'; at: number } | { kind: 'add'; at: number; key: string; value: unknown };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
	fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), value: hostileValue }),
	fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
	fc.record({ kind: fc.constant('add' as const), at: fc.nat(), key: fc.oneof(fc.constantFrom(...HOSTILE_KEYS, 'transform', 'options', 'inverse', 'fields', 'pattern', 'enum'), fc.string({ maxLength: 8 })), value: hostileValue }),
);

/** Applies mutations to a copy of the document; returns it with the paths that were touched. */
export function mutate(doc: MappingDocument, mutations: Mutation[]): { doc: unknown; touched: Segment[][] } {
	let root: unknown = structuredClone(doc);
	const touched: Segment[][] = [];
	for (const m of mutations) {
		const paths = allPaths(root);
		const path = paths[m.at % paths.length];
		touched.push(path);
		if (m.kind === 'replace') {
			if (path.length === 0) root = m.value;
			else parentOf(root, path)![path[path.length - 1]] = m.value;
		} else if (m.kind === 'delete') {
			if (path.length === 0) continue;
			const parent = parentOf(root, path)!;
			if (Array.isArray(parent)) parent.splice(path[path.length - 1] as number, 1);
			else delete parent[path[path.length - 1]];
		} else {
			let target: unknown = root;
			for (const s of path) target = (target as Record<string | number, unknown>)[s];
			if (target !== null && typeof target === 'object' && !Array.isArray(target)) defineOwn(target as Record<string, unknown>, m.key, m.value);
			else if (Array.isArray(target)) target.push(m.value);
		}
	}
	return { doc: root, touched };
}

export const garbledDocument = fc.tuple(fc.constantFrom(...SHIPPED_MAPPING_NAMES), fc.array(mutation, { minLength: 1, maxLength: 4 })).map(([name, mutations]) => ({ name, mutations }));

/** Compiling a garbled document either works or throws MappingConfigError with a message naming the place. */
export function compileGarbled({ name, mutations }: { name: string; mutations: Mutation[] }): void {
	const { doc, touched } = mutate(SHIPPED_MAPPINGS[name], mutations);
	let thrown: unknown;
	let compiled: ReturnType<typeof compileMapping> | undefined;
	try {
		compiled = compileMapping(doc);
	} catch (e) {
		thrown = e;
	}
	assertNoPollution();
	// What compiled maps its system's example record both ways without a throw or a changed prototype.
	for (const [system, mapper] of compiled?.systems ?? []) {
		const example = SHIPPED_MAPPINGS[name].examples?.[system];
		if (!example) continue;
		const inbound = mapper.toCanonical(structuredClone(example), '1');
		checkOutcome(inbound, compiled!.entity, system, '1');
		if (inbound.ok && mapper.supports('toSystem')) checkOutcome(mapper.toSystem(inbound.data, '1'), compiled!.entity, system, '1');
		assertNoPollution();
	}
	count(thrown === undefined ? 'garbled: compiled' : 'garbled: refused');
	if (thrown === undefined) return;
	if (!(thrown instanceof MappingConfigError)) throw new Error(`compile threw ${(thrown as Error)?.name}: ${(thrown as Error)?.message}`, { cause: thrown });
	if (thrown.message.trim().length < 10) throw new Error(`unexplained MappingConfigError: ${JSON.stringify(thrown.message)}`);
	// One touched system: an error from it names that system.
	const systems = new Set(touched.filter((p) => p[0] === 'systems' && p.length >= 2).map((p) => String(p[1])));
	const elsewhere = touched.some((p) => p[0] !== 'systems' || p.length < 2);
	if (systems.size === 1 && !elsewhere) {
		const [system] = [...systems];
		if (Object.keys(SHIPPED_MAPPINGS[name].systems).includes(system) && !thrown.message.includes(`system "${system}"`)) {
			throw new Error(`the error does not name system "${system}": ${thrown.message}`);
		}
	}
}

// ---- mapping: generated documents, applied both ways ------------------------------------------------

const FIELD_NAMES = ['a', 'b', 'c', 'n.x', 'n.y', 'list[0]', 'list[1].v', 'constructor', 'constructor.prototype.x', 'toString', 'valueOf', 'currency', '__proto__', '__proto__.polluted', 'a.__proto__.polluted'];

const options: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
	fc.constant({}),
	fc.constantFrom<Record<string, unknown>>(
		{ format: 'dd/MM/yyyy' },
		{ format: 'iso' },
		{ format: 'epochSeconds' },
		{ format: 'epochMillis' },
		{ format: 'dd/MM/yyyy HH:mm:ss', zone: 'Europe/Berlin' },
		{ format: 'yyyy-MM-dd', zone: 'Mars/Olympus' },
		{ locale: 'de-DE' },
		{ decimalSeparator: ',', groupSeparator: '.' },
		{ decimals: 2 },
		{ unit: 'minor', currency: 'USD' },
		{ unit: 'decimal', currency: 'JPY' },
		{ unit: 'number', currencyField: 'currency' },
		{ unit: 'minor', currencyField: 'currency' },
		{ values: { A: 'active', I: 'inactive' } },
		{ values: { A: 'x', B: 'x' } },
		{ values: [{ system: 1, canonical: true }, { system: 0, canonical: false }], default: false },
		{ canonical: 'upper', system: 'lower' },
		{ canonical: 'title' },
		{ true: 'Y', false: 'N' },
		{ true: 1, false: 0 },
		{ canonical: 'n/a', system: '' },
		{ value: 'USD' },
		{ separator: ' ' },
		{ separator: '' },
	),
	objectOf(fc.constantFrom('format', 'zone', 'locale', 'values', 'unit', 'currency', 'value', 'separator', 'canonical', 'system', '__proto__'), hostileValue, 3),
);

const side = fc.oneof(fc.constantFrom(...FIELD_NAMES), fc.uniqueArray(fc.constantFrom(...FIELD_NAMES), { minLength: 2, maxLength: 3 }), hostileValue);

/** A row that may be anything: wrong sides, unknown transforms, hostile options. */
const garbageRow = fc.record(
	{
		canonical: side,
		system: side,
		transform: fc.oneof(
			fc.constantFrom('rename', 'date', 'datetime', 'number', 'currency', 'valueMap', 'case', 'trim', 'boolean', 'default', 'constant', 'split', 'combine'),
			hostileValue,
		),
		options,
		inverse: fc.oneof(fc.constant(undefined), fc.record({ transform: fc.constantFrom('split', 'trim', 'case', 'rename', 'nope'), options })),
	},
	{ requiredKeys: ['canonical', 'system'] },
);

/** Rows as an analyst writes them (transform and options that fit): the sides are filled in per document. */
const ROW_TEMPLATES: Array<{ transform?: string; options?: Record<string, unknown>; inverse?: Record<string, unknown>; parts?: 'split' | 'combine'; only?: 'canonical' | 'system' }> = [
	{},
	{ transform: 'date', options: { format: 'dd/MM/yyyy' } },
	{ transform: 'date', options: { format: 'MM/dd/yyyy' } },
	{ transform: 'datetime', options: { format: 'iso' } },
	{ transform: 'datetime', options: { format: 'epochSeconds' } },
	{ transform: 'datetime', options: { format: 'epochMillis' } },
	{ transform: 'datetime', options: { format: 'dd/MM/yyyy HH:mm:ss', zone: 'Europe/Berlin' } },
	{ transform: 'number', options: { locale: 'de-DE' } },
	{ transform: 'number', options: { decimalSeparator: ',', groupSeparator: '.', decimals: 2 } },
	{ transform: 'currency', options: { unit: 'minor', currency: 'USD' } },
	{ transform: 'currency', options: { unit: 'decimal', currency: 'JPY' } },
	{ transform: 'currency', options: { unit: 'number', currency: 'KWD' } },
	{ transform: 'valueMap', options: { values: { A: 'active', I: 'inactive' } } },
	{ transform: 'valueMap', options: { values: [{ system: 1, canonical: true }, { system: 0, canonical: false }] } },
	{ transform: 'case', options: { canonical: 'upper', system: 'lower' } },
	{ transform: 'trim', inverse: { transform: 'trim' } },
	{ transform: 'boolean', options: { true: 'Y', false: 'N' } },
	{ transform: 'boolean', options: { true: 1, false: 0 } },
	{ transform: 'default', options: { canonical: 'n/a', system: '' } },
	{ transform: 'constant', options: { value: 'USD' }, only: 'canonical' },
	{ transform: 'constant', options: { value: 'fixed' }, only: 'system' },
	{ transform: 'split', options: { separator: ' ' }, parts: 'split' },
	{ transform: 'combine', options: { separator: ', ' }, inverse: { transform: 'split', options: { separator: ', ' } }, parts: 'combine' },
];

/** Distinct field names per side, so that well-formed rows do not overlap. */
const CANONICAL_NAMES = ['a', 'b', 'c', 'n.x', 'n.y', 'list[0]', 'constructor', 'toString', 'valueOf', 'd', '__proto__.polluted'];
const SYSTEM_NAMES = ['a', 'b', 'c', 's.x', 's.y', 'arr[0]', 'constructor', 'hasOwnProperty', 'valueOf', 'e', 'x.__proto__.polluted'];

const wellFormedRows = fc
	.tuple(
		fc.array(fc.nat(ROW_TEMPLATES.length - 1), { minLength: 1, maxLength: 4 }),
		fc.shuffledSubarray(CANONICAL_NAMES, { minLength: CANONICAL_NAMES.length, maxLength: CANONICAL_NAMES.length }),
		fc.shuffledSubarray(SYSTEM_NAMES, { minLength: SYSTEM_NAMES.length, maxLength: SYSTEM_NAMES.length }),
	)
	.map(([picks, canonicalNames, systemNames]) =>
		picks.map((pick) => {
			const { parts, only, ...rest } = ROW_TEMPLATES[pick];
			const take = (names: string[], n: number) => (n === 1 ? names.shift()! : names.splice(0, n));
			const row: Record<string, unknown> = { ...structuredClone(rest) };
			if (only !== 'system') row.canonical = take(canonicalNames, parts === 'split' ? 2 : 1);
			if (only !== 'canonical') row.system = take(systemNames, parts === 'combine' ? 2 : 1);
			return row;
		}),
	);

const rules = fc.oneof(
	{ weight: 6, arbitrary: fc.constantFrom<Record<string, unknown>>({ type: 'string', maxLength: 5 }, { type: 'date', min: '1800-01-01' }, { type: 'datetime' }, { type: 'integer', min: 0 }, { type: 'number', max: 10 }, { required: true }, { pattern: '[A-Z]{2}' }, { enum: ['a', 'b'] }, { email: true }, {}) },
	{
		weight: 1,
		arbitrary: fc.constantFrom<Record<string, unknown>>({ type: 'decimal', currencyField: 'currency' }, { pattern: '(' }, { enum: [] }, { type: 'bogus' }, { type: 'toString' }, { maxLength: -1 }, { min: 'soon' }),
	},
	{ weight: 1, arbitrary: objectOf(fc.constantFrom('type', 'required', 'pattern', 'min', 'max', 'enum', 'email', 'maxLength', 'currencyField', 'nope'), hostileValue, 2) },
);

/** A generated one-system mapping document: mostly rows that fit (to get past compiling), sometimes a garbled row among them. */
export const generatedDocument = fc.record({
	direction: fc.constantFrom('both', 'toCanonical', 'toSystem'),
	unmapped: fc.constantFrom('drop', 'keep', 'fail'),
	fields: fc.oneof(
		{ weight: 4, arbitrary: wellFormedRows },
		{
			weight: 1,
			arbitrary: fc.tuple(wellFormedRows, garbageRow, fc.nat()).map(([rows, bad, at]) => [...rows.slice(0, at % (rows.length + 1)), bad, ...rows.slice(at % (rows.length + 1))]),
		},
	),
	canonicalRules: fc.oneof({ weight: 3, arbitrary: fc.constant({}) }, { weight: 2, arbitrary: fc.dictionary(fc.constantFrom(...CANONICAL_NAMES), rules, { maxKeys: 2 }) }),
	validate: fc.oneof({ weight: 3, arbitrary: fc.constant({}) }, { weight: 2, arbitrary: fc.dictionary(fc.constantFrom(...SYSTEM_NAMES), rules, { maxKeys: 2 }) }),
	sensitive: fc.subarray(['secret', 'n.secret']),
});

const recordValue = fc.oneof(
	{ weight: 3, arbitrary: hostileValue },
	{ weight: 2, arbitrary: fc.constantFrom<unknown>('A', 'I', 'Y', 'N', 1, 0, true, false, 'active', 'inactive', 'Ada Lovelace', '1.234,5', 1234.5, '19.99', 1999, '29/02/2024', '02/29/2024', '2024-02-29', '2024-05-01T10:00:00.000Z', 1_704_067_200, '31/03/2024 02:30:00', 'USD', 'de', 'DE') },
	{ weight: 1, arbitrary: fc.record({ x: hostileValue, y: hostileValue }, { requiredKeys: [] }) },
	{ weight: 1, arbitrary: fc.array(hostileValue, { maxLength: 2 }) },
);

/** Records with the fields of the generated rows (both sides' names), hostile keys and hostile values. */
export const record = objectOf(
	fc.oneof({ weight: 4, arbitrary: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'n', 's', 'arr', 'list', 'constructor', 'toString', 'valueOf', 'hasOwnProperty', 'secret', 'id') }, { weight: 1, arbitrary: fc.constantFrom(...HOSTILE_KEYS) }),
	recordValue,
	8,
);

function toDocument(g: GeneratedDocument): MappingDocument {
	return {
		entity: 'thing',
		canonical: { fields: g.canonicalRules as never, sensitive: ['secret'] },
		systems: { sys: { idField: 'id', direction: g.direction as never, unmapped: g.unmapped as never, sensitive: g.sensitive, fields: g.fields as never, validate: g.validate as never } },
	};
}
export type GeneratedDocument = typeof generatedDocument extends fc.Arbitrary<infer T> ? T : never;

/** Checks one outcome: valid data is a plain object, every error names the record, the field and a known rule. */
export function checkOutcome(outcome: MapOutcome, entity: string, system: string, id: string | null): void {
	if (outcome === null || typeof outcome !== 'object') throw new Error('no outcome');
	if (outcome.ok) {
		if (Object.getPrototypeOf(outcome.data) !== Object.prototype) throw new Error('the mapped data is not a plain object');
		if (Object.prototype.hasOwnProperty.call(outcome.data, '__proto__')) throw new Error('the mapped data has an own "__proto__" key');
		return;
	}
	if (!Array.isArray(outcome.errors) || outcome.errors.length === 0) throw new Error('an invalid outcome without errors');
	for (const e of outcome.errors as FieldError[]) {
		if (e.entity !== entity || e.system !== system || e.id !== id) throw new Error(`the error names another record: ${JSON.stringify(e)}`);
		// A record may really have a field named "" (rule "unmapped" then names it so); every other error names a field of the mapping.
		if (typeof e.field !== 'string' || (e.field === '' && e.rule !== 'unmapped')) throw new Error(`the error names no field: ${e.message}`);
		if (!RULES.includes(e.rule)) throw new Error(`unknown rule "${e.rule}": ${e.message}`);
		const head = `${entity} ${id ?? '(new)'} in ${system}: field "${e.field}" `;
		if (!e.message.startsWith(head) || !e.message.endsWith(`(rule "${e.rule}")`)) throw new Error(`the message does not name the record, field and rule: ${e.message}`);
	}
}

/** Compiles a generated document (or refuses it properly), then maps arbitrary records both ways. */
export function applyGenerated(g: GeneratedDocument, records: Array<Record<string, unknown>>): void {
	let compiled;
	try {
		compiled = compileMapping(toDocument(g));
	} catch (e) {
		if (!(e instanceof MappingConfigError)) throw new Error(`compile threw ${(e as Error)?.name}: ${(e as Error)?.message}`, { cause: e });
		if (!e.message.includes('system "sys"') && !e.message.includes('"canonical.')) throw new Error(`the error does not say where: ${e.message}`);
		assertNoPollution();
		count('generated: refused');
		return;
	}
	count('generated: compiled');
	const mapper = compiled.systems.get('sys')!;
	records.forEach((r, i) => {
		const id = i % 2 ? null : String(i);
		for (const way of ['toCanonical', 'toSystem'] as const) {
			if (!mapper.supports(way)) continue;
			const outcome = mapper[way](r, id);
			checkOutcome(outcome, 'thing', 'sys', id);
			count(`generated ${way}: ${outcome.ok ? 'valid' : 'invalid'}`);
		}
		assertNoPollution();
	});
}

// ---- mapping: the shipped mappings on perturbed records --------------------------------------------

/** A shipped mapping, one of its systems, and a record of that system perturbed field by field. */
export const shippedCase = fc
	.constantFrom(...SHIPPED_MAPPING_NAMES.flatMap((name) => Object.keys(SHIPPED_MAPPINGS[name].systems).map((system) => [name as string, system] as const)))
	.chain(([name, system]) => {
		const example = SHIPPED_MAPPINGS[name].examples![system] as Record<string, unknown>;
		const keys = Object.keys(example);
		return fc.record({
			name: fc.constant(name),
			system: fc.constant(system),
			changes: fc.array(fc.tuple(fc.oneof(fc.constantFrom(...keys), fc.constantFrom(...HOSTILE_KEYS)), fc.oneof(hostileValue, fc.constant('__delete__'))), { maxLength: 4 }),
		});
	});

/** Every sensitive path of the document with the canary, on the given side. */
function plantCanary(target: Record<string, unknown>, paths: string[]): void {
	for (const text of paths) {
		const segments = parsePath(text)!.segments;
		let current: Record<string | number, unknown> = target;
		for (let i = 0; i < segments.length - 1; i++) {
			const s = segments[i];
			if (current[s] === null || typeof current[s] !== 'object') current[s] = typeof segments[i + 1] === 'number' ? [] : {};
			current = current[s] as Record<string | number, unknown>;
		}
		current[segments[segments.length - 1]] = CANARY;
	}
}

const compiledShipped = new Map<string, ReturnType<typeof compileMapping>>(SHIPPED_MAPPING_NAMES.map((n) => [n, compileMapping(SHIPPED_MAPPINGS[n])]));

/**
 * A perturbed system record in, canonical out and back: never a throw, errors naming the field, the
 * canary of the sensitive fields nowhere; and when both ways are valid, the canonical record is a fixed
 * point (mapping the written system record in again gives the same canonical record).
 */
export function shippedBothWays({ name, system, changes }: { name: string; system: string; changes: Array<[string, unknown]> }): void {
	const doc = SHIPPED_MAPPINGS[name];
	const mapper = compiledShipped.get(name)!.systems.get(system)!;
	const input = structuredClone(doc.examples![system]) as Record<string, unknown>;
	for (const [key, value] of changes) {
		if (value === '__delete__') delete input[key];
		else defineOwn(input, key, value);
	}
	plantCanary(input, doc.systems[system].sensitive ?? []);
	const inbound = mapper.toCanonical(input, '42');
	checkOutcome(inbound, name, system, '42');
	if (JSON.stringify(inbound).includes(CANARY)) throw new Error('a sensitive value reached the canonical outcome');
	if (JSON.stringify(mapper.redact(input, 'system')).includes(CANARY)) throw new Error('a sensitive value reached the Invalid output');
	assertNoPollution();
	count(`shipped toCanonical: ${inbound.ok ? 'valid' : 'invalid'}`);
	if (!inbound.ok) return;
	const canonical = structuredClone(inbound.data);
	plantCanary(canonical, doc.canonical?.sensitive ?? []);
	const outbound = mapper.toSystem(canonical, '42');
	checkOutcome(outbound, name, system, '42');
	if (JSON.stringify(outbound).includes(CANARY)) throw new Error('a sensitive value reached the system outcome');
	if (JSON.stringify(mapper.redact(canonical, 'canonical')).includes(CANARY)) throw new Error('a sensitive value reached the Invalid output');
	assertNoPollution();
	count(`shipped toSystem: ${outbound.ok ? 'valid' : 'invalid'}`);
	if (!outbound.ok) return;
	const again = mapper.toCanonical(outbound.data, '42');
	if (!again.ok) throw new Error(`the system record written from a valid canonical record is refused: ${again.errors.map((e) => e.message).join('; ')}`);
	const a = JSON.stringify(sortKeys(inbound.data));
	const b = JSON.stringify(sortKeys(again.data));
	if (a !== b) throw new Error(`round trip changed the canonical record:\n${a}\n${b}`);
	count('shipped: round trips');
}

function sortKeys(v: unknown): unknown {
	if (Array.isArray(v)) return v.map(sortKeys);
	if (v !== null && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]));
	return v;
}

// ---- the trigger's body parser -----------------------------------------------------------------------

export const CHANGE_FIELDS: ChangeFields[] = [
	{ changesPath: '', id: 'id', op: 'op', changedAt: 'changedAt', actor: 'actor', data: 'data', deleteValues: ['delete', 'deleted'] },
	{ changesPath: 'changes', id: 'record.id', op: 'type', changedAt: 'at', actor: 'meta.user', data: '', deleteValues: ['delete'] },
];

/** Mostly the right kind of value (so that bodies get past the first check), sometimes anything. */
const mostly = <T>(good: fc.Arbitrary<T>) => fc.oneof({ weight: 12, arbitrary: good }, { weight: 1, arbitrary: hostileValue });

const change = fc.record(
	{
		id: mostly(fc.oneof(fc.string({ minLength: 1, maxLength: 10 }), fc.integer(), fc.constantFrom('x'.repeat(255), 'x'.repeat(256), ' ', 'a\u0000b', 'a\u2028b', '\uD800', 'ü-ñ-漢字', '1e3'))),
		op: mostly(fc.constantFrom('upsert', 'delete', 'deleted', 'create', 'update', 'DELETE', ' Upsert ', '', 'drop', 'explode')),
		changedAt: mostly(fc.constantFrom('2024-05-01T10:00:00Z', '2024-05-01T10:00:00.123456+02:00', '2023-02-29T10:00:00Z', '2024-01-01T24:00:00Z', '0000-01-01T00:00:00Z', '2024-05-01', 1_714_557_600, 1_714_557_600_000)),
		actor: mostly(fc.oneof(fc.string({ maxLength: 8 }), fc.integer())),
		data: mostly(objectOf(fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom(...HOSTILE_KEYS)), hostileValue, 4)),
		record: fc.record({ id: mostly(fc.oneof(fc.string({ minLength: 1, maxLength: 10 }), fc.integer())) }),
		type: mostly(fc.constantFrom('upsert', 'delete', 'update', 'nope')),
		at: mostly(fc.constantFrom('2024-05-01T10:00:00Z', 1_714_557_600)),
	},
	{ requiredKeys: ['id', 'op', 'data', 'record', 'type'] },
);

/** Raw bodies: JSON of one change or a list (also under "changes"), truncated, deeply nested, or bytes. */
export const rawBody: fc.Arbitrary<Buffer> = fc.oneof(
	{ weight: 3, arbitrary: change.map((c) => JSON.stringify(c)) },
	{ weight: 2, arbitrary: fc.array(change, { maxLength: 3 }).map((cs) => JSON.stringify(cs)) },
	{ weight: 3, arbitrary: fc.array(change, { maxLength: 3 }).map((cs) => JSON.stringify({ changes: cs })) },
	fc.tuple(change, fc.nat()).map(([c, n]) => {
		const s = JSON.stringify(c) ?? '';
		return s.slice(0, n % (s.length + 1));
	}),
	fc.constantFrom(
		'{"__proto__":{"polluted":1},"id":"1","data":{"__proto__":{"polluted":2}}}',
		'{"id":"1","data":{"constructor":{"prototype":{"polluted":3}}}}',
		'{"id":{"toString":"x"},"data":{}}',
		'{"id":"a\\u0000b","data":{}}',
		'{"id":"\\ud800","data":{}}',
		'{"id":"","data":{}}',
		'{"id":"1","op":"explode","data":{}}',
		'{"id":"1","data":[]}',
		'[]',
		'null',
		'"text"',
		'',
		'\u0000',
	),
	fc.integer({ min: 1, max: 6000 }).map((depth) => `${'['.repeat(depth)}${']'.repeat(depth)}`),
	fc.integer({ min: 1, max: 6000 }).map((depth) => `{"id":"1","data":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`),
	fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes).toString('latin1')),
).map((s) => (Buffer.isBuffer(s) ? s : Buffer.from(s, 'utf8')));

export interface BodyParser {
	name: string;
	/** Whether it promises bounded printable ids, refuses `__proto__` keys and answers with a status (parseDelivery does). */
	strict: boolean;
	parse(raw: Buffer, fields: ChangeFields, contentType: string | undefined): SyncItem[];
}

/** Content types a sender puts on a delivery: JSON mostly, sometimes something else or nothing. */
export const contentType = fc.oneof(
	{ weight: 5, arbitrary: fc.constantFrom('application/json', 'application/json; charset=utf-8', 'application/vnd.api+json') },
	{ weight: 1, arbitrary: fc.constantFrom(undefined, '', 'text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=latin1', 'multipart/form-data; boundary=x', 'APPLICATION/JSON') },
);

// No control characters, no lone surrogates, no line or paragraph separator (docs/connectors.md, record ids).
const PRINTABLE = /^[^\p{Cc}\p{Cs}\u2028\u2029]+$/u;

/** The parser under test: the trigger's `parseDelivery` (raw bytes, content type, default limits). */
export function bodyParser(): BodyParser {
	const context = { entity: 'contact', system: 'crm', runId: 'fuzz' };
	return { name: 'parseDelivery', strict: true, parse: (raw, fields, type) => parseDelivery(raw, { contentType: type }, fields, context) };
}

/** The documented id limit (docs/connectors.md, DataSync Trigger): 255 characters by default. */
export const MAX_ID_LENGTH = DEFAULT_LIMITS.maxIdLength;

/** Only PayloadError is thrown; every item is well formed; no prototype changes. */
export function parseBody(parser: BodyParser, raw: Buffer, fieldsIndex: number, type: string | undefined = 'application/json'): void {
	// The settings that fit the body (a list under "changes" or not), and one time in eight the other ones.
	const fitting = raw.subarray(0, 11).toString('latin1') === '{"changes":' ? 1 : 0;
	const fields = CHANGE_FIELDS[fieldsIndex % 8 === 0 ? 1 - fitting : fitting];
	let items: SyncItem[] | undefined;
	try {
		items = parser.parse(raw, fields, type);
	} catch (e) {
		assertNoPollution();
		if (!(e instanceof PayloadError)) throw new Error(`${parser.name} threw ${(e as Error)?.name}: ${(e as Error)?.message}`, { cause: e });
		if (e.message.trim() === '') throw new Error('a PayloadError without a reason');
		const status = (e as PayloadError & { status?: number }).status;
		if (parser.strict && ![400, 413, 415].includes(status as number)) throw new Error(`a PayloadError with status ${String(status)}`);
		count(`body: refused ${status ?? ''}`.trim());
		return;
	}
	assertNoPollution();
	if (!Array.isArray(items) || items.length === 0) throw new Error('no items and no error');
	count('body: accepted');
	for (const item of items) {
		if (typeof item.id !== 'string' || item.id === '') throw new Error(`an item with id ${JSON.stringify(item.id)}`);
		if (item.op !== 'upsert' && item.op !== 'delete') throw new Error(`an item with op ${JSON.stringify(item.op)}`);
		if (item.data === null || typeof item.data !== 'object' || Array.isArray(item.data) || Object.getPrototypeOf(item.data) !== Object.prototype) {
			throw new Error('an item whose data is not a plain object');
		}
		if (parser.strict) {
			if (item.id.length > MAX_ID_LENGTH || !PRINTABLE.test(item.id)) throw new Error(`an id that is not a bounded printable string: ${JSON.stringify(item.id.slice(0, 40))}`);
			if (Object.prototype.hasOwnProperty.call(item.data, '__proto__')) throw new Error('an item whose data has an own "__proto__" key');
		}
	}
}
