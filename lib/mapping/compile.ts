/**
 * Compiles a mapping document once (per execution) into plain functions: paths parsed, transforms
 * built, checks compiled, and every configuration mistake refused with a message that names the system,
 * the row and the field. Mapping a record is then a walk over the compiled rows.
 */
import { MappingConfigError, RuleError, attempt, preview, type FieldError } from './errors';
import { PathSet, RESERVED_KEY, deletePath, getPath, parsePath, pathsOverlap, setPath, type FieldPath } from './path';
import { compileRules, type FieldCheck } from './rules';
import { TRANSFORM_NAMES, createValueTransform, isValueTransform, type ValueTransform } from './transforms';
import {
	MAPPING_FORMAT,
	type FieldMapping,
	type MappingDirection,
	type MappingDocument,
	type SystemMapping,
	type TransformRef,
	type UnmappedPolicy,
} from './types';

export type MapOutcome = { ok: true; data: Record<string, unknown> } | { ok: false; errors: FieldError[] };

type Record_ = Record<string, unknown>;

/** A rule broken while mapping one row, with the field it is about. */
class RowError extends Error {
	constructor(
		readonly field: string,
		readonly rule: string,
		message: string,
	) {
		super(message);
	}
}

interface CompiledRow {
	systemPaths: FieldPath[];
	canonicalPaths: FieldPath[];
	readsCanonical?: string;
	invertible: boolean;
	/** system record → canonical record under construction */
	toCanonical(system: Record_, canonical: Record_): void;
	/** canonical record → system record under construction; absent when the row has no way back */
	toSystem?(canonical: Record_, system: Record_): void;
}

const DIRECTIONS: MappingDirection[] = ['both', 'toCanonical', 'toSystem'];
const POLICIES: UnmappedPolicy[] = ['drop', 'keep', 'fail'];
const SYSTEM_KEYS = ['idField', 'direction', 'unmapped', 'sideField', 'sensitive', 'fields', 'validate', 'description'];
const ROW_KEYS = ['canonical', 'system', 'transform', 'options', 'inverse', 'description'];
const DOC_KEYS = ['$schema', 'format', 'entity', 'description', 'canonical', 'systems', 'examples'];

function isObject(v: unknown): v is Record_ {
	return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Runs a transform factory, putting the row in front of its configuration errors. */
function withContext<T>(where: string, build: () => T): T {
	const built = attempt(build);
	if (built.ok) return built.value;
	throw built.error instanceof MappingConfigError ? new MappingConfigError(`${where}: ${built.error.message}`) : built.error;
}

function pathList(value: unknown, where: string, side: 'canonical' | 'system'): FieldPath[] {
	if (value === undefined || value === '' || (Array.isArray(value) && value.length === 0)) return [];
	const list = Array.isArray(value) ? value : [value];
	return list.map((p) => {
		const parsed = typeof p === 'string' ? parsePath(p) : undefined;
		if (!parsed) throw new MappingConfigError(`${where}: ${side} field ${preview(p)} is not a field name or dotted path${reservedNote(p)}`);
		return parsed;
	});
}

/** Why a path that names `__proto__` is refused, for the message. */
export function reservedNote(text: unknown): string {
	return typeof text === 'string' && text.includes(RESERVED_KEY) ? ` ("${RESERVED_KEY}" is reserved: it would write to every object's prototype)` : '';
}

function fieldLabel(paths: FieldPath[]): string {
	return paths.map((p) => `"${p.text}"`).join(' + ') || 'nothing';
}

function isAbsent(v: unknown): boolean {
	return v === undefined || v === null;
}

/**
 * Joins the present parts with the separator; null when the parts are null (cleared), so a cleared name
 * is cleared on the other side too (as `null` stays `null` for one field); nothing when all are absent.
 */
function joinParts(values: unknown[], separator: string, field: string): string | null | undefined {
	const present = values.filter((v) => !isAbsent(v));
	if (present.length === 0) return values.some((v) => v === null) ? null : undefined;
	for (const v of present) if (typeof v !== 'string') throw new RowError(field, 'type', `must be text, got ${preview(v)}`);
	for (const v of present) checkStorable(v, field);
	return present.join(separator);
}

/** Splits at the first n-1 separators: the last part keeps the rest, so joining gives the text back. */
function splitParts(value: string, separator: string, n: number): string[] {
	const parts: string[] = [];
	let rest = value;
	while (parts.length < n - 1) {
		const at = rest.indexOf(separator);
		if (at < 0) break;
		parts.push(rest.slice(0, at));
		rest = rest.slice(at + separator.length);
	}
	parts.push(rest);
	return parts;
}

function separatorOption(ref: { options?: Record_ }, transform: string, where: string): string {
	const options = ref.options ?? {};
	for (const key of Object.keys(options)) {
		if (key !== 'separator') throw new MappingConfigError(`${where}: transform "${transform}" has no option "${key}" (it takes separator)`);
	}
	const sep = options.separator ?? ' ';
	if (typeof sep !== 'string' || sep === '') throw new MappingConfigError(`${where}: transform "${transform}" option "separator" must be a non-empty string`);
	return sep;
}

/** NUL, or a UTF-16 surrogate without its pair: text no target stores as sent (Postgres refuses NUL, UTF-8 has no lone surrogate). */
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Refuses text that would be changed or refused where it is written, naming the field (rule "text"). */
function checkStorable(v: unknown, field: string): void {
	if (typeof v !== 'string' || !UNSTORABLE.test(v)) return;
	throw new RowError(field, 'text', v.includes('\u0000') ? 'holds a NUL character, which no target stores' : 'holds a lone UTF-16 surrogate (not valid Unicode)');
}

/** Runs a value transform on one path → one path, with the field named in errors. */
function valueStep(from: FieldPath, to: FieldPath, transform: ValueTransform, fn: (v: unknown, canonical: Record_) => unknown, canonicalOf: (src: Record_, dst: Record_) => Record_) {
	const fromSegments = from.segments;
	const toSegments = to.segments;
	return (src: Record_, dst: Record_): void => {
		const v = getPath(src, fromSegments);
		checkStorable(v, from.text);
		if (!transform.fillsMissing) {
			if (v === undefined) return;
			if (v === null) {
				setPath(dst, toSegments, null);
				return;
			}
		}
		// Per value, so no closure: the failure is kept and thrown after the catch (see errors.ts attempt).
		let result: unknown;
		let failed = false;
		let failure: unknown;
		try {
			result = fn(v, canonicalOf(src, dst));
		} catch (e) {
			failed = true;
			failure = e;
		}
		if (failed) throw failure instanceof RuleError ? new RowError(from.text, failure.rule, failure.message) : failure;
		if (result !== undefined) setPath(dst, toSegments, result);
	};
}

const canonicalIsDst = (_src: Record_, dst: Record_) => dst;
const canonicalIsSrc = (src: Record_) => src;

function compileRow(row: FieldMapping, where: string): CompiledRow {
	if (!isObject(row)) throw new MappingConfigError(`${where}: must be an object with "canonical", "system" and "transform"`);
	for (const key of Object.keys(row)) {
		if (!ROW_KEYS.includes(key)) throw new MappingConfigError(`${where}: unknown key "${key}" (a row has ${ROW_KEYS.join(', ')})`);
	}
	const canonicalPaths = pathList(row.canonical, where, 'canonical');
	const systemPaths = pathList(row.system, where, 'system');
	const transformName = row.transform === undefined || row.transform === '' ? 'rename' : row.transform;
	if (typeof transformName !== 'string' || !TRANSFORM_NAMES.includes(transformName)) {
		throw new MappingConfigError(`${where}: unknown transform ${preview(transformName)} (transforms: ${TRANSFORM_NAMES.join(', ')})`);
	}
	const options = row.options ?? {};
	if (!isObject(options)) throw new MappingConfigError(`${where}: "options" must be an object`);
	const inverse = row.inverse as TransformRef | undefined;
	if (inverse !== undefined && (!isObject(inverse) || typeof inverse.transform !== 'string' || (inverse.options !== undefined && !isObject(inverse.options)))) {
		throw new MappingConfigError(`${where}: "inverse" must be { "transform": "...", "options": { ... } }`);
	}
	const label = `${where} (canonical ${fieldLabel(canonicalPaths)}, system ${fieldLabel(systemPaths)}, transform "${transformName}")`;

	if (transformName === 'constant') {
		if (!('value' in options) || Object.keys(options).some((k) => k !== 'value')) {
			throw new MappingConfigError(`${label}: transform "constant" takes exactly one option, "value"`);
		}
		if (canonicalPaths.length + systemPaths.length !== 1) {
			throw new MappingConfigError(`${label}: a constant fills one field: give either "canonical" or "system", not both`);
		}
		if (inverse) throw new MappingConfigError(`${label}: a constant needs no "inverse"`);
		const value = options.value;
		const expected = JSON.stringify(value);
		if (canonicalPaths.length === 1) {
			const [path] = canonicalPaths;
			return {
				systemPaths,
				canonicalPaths,
				invertible: true,
				toCanonical: (_s, c) => setPath(c, path.segments, value),
				// The system has no such field: a canonical value other than the constant cannot be written there.
				toSystem: (c) => {
					const v = getPath(c, path.segments);
					if (v !== undefined && JSON.stringify(v) !== expected) {
						throw new RowError(path.text, 'constant', `must be ${expected} for this system, got ${preview(v)}`);
					}
				},
			};
		}
		const [path] = systemPaths;
		return {
			systemPaths,
			canonicalPaths,
			invertible: true,
			toCanonical: () => undefined,
			toSystem: (_c, s) => setPath(s, path.segments, value),
		};
	}

	if (transformName === 'combine' || transformName === 'split') {
		const combine = transformName === 'combine';
		const many = combine ? systemPaths : canonicalPaths;
		const one = combine ? canonicalPaths : systemPaths;
		if (one.length !== 1 || many.length < 2) {
			throw new MappingConfigError(
				combine
					? `${label}: "combine" joins several system fields into one canonical field (system: a list of 2 or more, canonical: one)`
					: `${label}: "split" cuts one system field into several canonical fields (system: one, canonical: a list of 2 or more)`,
			);
		}
		const separator = separatorOption(row, transformName, label);
		const [single] = one;
		const joinInto = (paths: FieldPath[], target: FieldPath, sep: string) => (src: Record_, dst: Record_) => {
			const joined = joinParts(paths.map((p) => getPath(src, p.segments)), sep, paths[0].text);
			if (joined !== undefined) setPath(dst, target.segments, joined);
		};
		const splitInto = (source: FieldPath, targets: FieldPath[], sep: string) => (src: Record_, dst: Record_) => {
			const v = getPath(src, source.segments);
			if (v === undefined) return;
			if (v === null) {
				for (const t of targets) setPath(dst, t.segments, null);
				return;
			}
			if (typeof v !== 'string') throw new RowError(source.text, 'type', `must be text, got ${preview(v)}`);
			checkStorable(v, source.text);
			splitParts(v, sep, targets.length).forEach((part, i) => setPath(dst, targets[i].segments, part));
		};
		let back: CompiledRow['toSystem'];
		if (inverse) {
			const counterpart = combine ? 'split' : 'combine';
			if (inverse.transform !== counterpart) {
				throw new MappingConfigError(`${label}: the inverse of "${transformName}" must be "${counterpart}", got "${inverse.transform}"`);
			}
			const sep = separatorOption(inverse, counterpart, `${label} inverse`);
			back = combine ? splitInto(single, many, sep) : joinInto(many, single, sep);
		} else if (!combine) {
			// Joining the parts of a split with the same separator gives the original text back.
			back = joinInto(many, single, separator);
		}
		return {
			systemPaths,
			canonicalPaths,
			// Joined text cannot be cut back where it was joined (a first name may hold the separator).
			invertible: !combine || inverse !== undefined,
			toCanonical: combine ? joinInto(many, single, separator) : splitInto(single, many, separator),
			toSystem: back,
		};
	}

	if (canonicalPaths.length !== 1 || systemPaths.length !== 1) {
		throw new MappingConfigError(`${label}: transform "${transformName}" maps one canonical field to one system field or path`);
	}
	const [canonicalPath] = canonicalPaths;
	const [systemPath] = systemPaths;
	const transform = withContext(label, () => createValueTransform(transformName, options));
	let back: CompiledRow['toSystem'];
	if (inverse) {
		if (!isValueTransform(inverse.transform)) {
			throw new MappingConfigError(`${label}: the inverse must be a value transform (${TRANSFORM_NAMES.filter(isValueTransform).join(', ')}), got ${preview(inverse.transform)}`);
		}
		const inv = withContext(`${label} inverse`, () => createValueTransform(inverse.transform, inverse.options ?? {}));
		// The inverse reads the canonical field as its input: its own forward function is the way back.
		back = valueStep(canonicalPath, systemPath, inv, inv.toCanonical, canonicalIsSrc);
	} else {
		back = valueStep(canonicalPath, systemPath, transform, transform.toSystem, canonicalIsSrc);
	}
	return {
		systemPaths,
		canonicalPaths,
		readsCanonical: transform.readsCanonical,
		invertible: transform.invertible || inverse !== undefined,
		toCanonical: valueStep(systemPath, canonicalPath, transform, transform.toCanonical, canonicalIsDst),
		toSystem: back,
	};
}

function checkNoOverlap(paths: Array<{ path: FieldPath; where: string }>, side: string, system: string): void {
	for (let i = 0; i < paths.length; i++) {
		for (let j = i + 1; j < paths.length; j++) {
			if (pathsOverlap(paths[i].path.segments, paths[j].path.segments)) {
				throw new MappingConfigError(
					`system "${system}": ${side} field "${paths[j].path.text}" (${paths[j].where}) overlaps "${paths[i].path.text}" (${paths[i].where}); each field can be mapped once`,
				);
			}
		}
	}
}

function checkNotSensitive(paths: Array<{ path: FieldPath; where: string }>, sensitive: FieldPath[], side: string, system: string): void {
	for (const { path, where } of paths) {
		for (const s of sensitive) {
			if (pathsOverlap(path.segments, s.segments)) {
				throw new MappingConfigError(`system "${system}", ${where}: ${side} field "${path.text}" is sensitive ("${s.text}") and is never synced`);
			}
		}
	}
}

function policies(value: SystemMapping['unmapped'], where: string): { toCanonical: UnmappedPolicy; toSystem: UnmappedPolicy } {
	const check = (p: unknown, key: string): UnmappedPolicy => {
		if (p === undefined) return 'drop';
		if (!POLICIES.includes(p as UnmappedPolicy)) throw new MappingConfigError(`${where}: "${key}" must be "drop", "keep" or "fail", got ${preview(p)}`);
		return p as UnmappedPolicy;
	};
	if (isObject(value)) {
		for (const key of Object.keys(value)) {
			if (key !== 'toCanonical' && key !== 'toSystem') throw new MappingConfigError(`${where}: "unmapped" takes "toCanonical" and "toSystem", not "${key}"`);
		}
		return { toCanonical: check(value.toCanonical, 'unmapped.toCanonical'), toSystem: check(value.toSystem, 'unmapped.toSystem') };
	}
	const p = check(value, 'unmapped');
	return { toCanonical: p, toSystem: p };
}

/** The mapping of one system for one entity, both ways, ready to run per record. */
export class SystemMapper {
	readonly idField: FieldPath | undefined;

	constructor(
		readonly entity: string,
		readonly system: string,
		readonly direction: MappingDirection,
		idField: FieldPath | undefined,
		private readonly inboundRows: CompiledRow[],
		private readonly outboundRows: CompiledRow[],
		private readonly unmapped: { toCanonical: UnmappedPolicy; toSystem: UnmappedPolicy },
		private readonly sideField: FieldPath,
		private readonly systemCovered: PathSet,
		private readonly canonicalCovered: PathSet,
		private readonly systemSensitive: FieldPath[],
		private readonly canonicalSensitive: FieldPath[],
		private readonly canonicalChecks: FieldCheck[],
		private readonly systemChecks: FieldCheck[],
	) {
		this.idField = idField;
	}

	/** Whether this mapping may be used in that direction. */
	supports(direction: 'toCanonical' | 'toSystem'): boolean {
		return this.direction === 'both' || this.direction === direction;
	}

	/** System record → canonical record, with its checks. Sensitive system fields are never read. */
	toCanonical(data: Record_, id: string | null): MapOutcome {
		const errors: FieldError[] = [];
		const failed = new Set<string>();
		const out: Record_ = {};
		this.runChecks(this.systemChecks, data, id, errors, failed);
		for (const row of this.inboundRows) {
			const result = attempt(() => row.toCanonical(data, out));
			if (!result.ok) {
				this.rowFailed(result.error, errors, id);
				for (const p of row.canonicalPaths) failed.add(p.text);
			}
		}
		this.handleUnmapped(this.unmapped.toCanonical, this.systemCovered, data, out, id, errors, true);
		this.runChecks(this.canonicalChecks, out, id, errors, failed);
		return errors.length ? { ok: false, errors } : { ok: true, data: out };
	}

	/** Canonical record → system record, with its checks. Sensitive canonical fields are never read. */
	toSystem(data: Record_, id: string | null): MapOutcome {
		const errors: FieldError[] = [];
		const failed = new Set<string>();
		const out: Record_ = {};
		this.runChecks(this.canonicalChecks, data, id, errors, failed);
		for (const row of this.outboundRows) {
			const result = attempt(() => row.toSystem!(data, out));
			if (!result.ok) {
				this.rowFailed(result.error, errors, id);
				for (const p of row.systemPaths) failed.add(p.text);
			}
		}
		if (this.unmapped.toCanonical === 'keep') this.restoreKept(data, out);
		this.handleUnmapped(this.unmapped.toSystem, this.canonicalCovered, data, out, id, errors, false);
		this.runChecks(this.systemChecks, out, id, errors, failed);
		return errors.length ? { ok: false, errors } : { ok: true, data: out };
	}

	/** A copy of a record without its sensitive fields: what the "Invalid" output may show. */
	redact(data: Record_, shape: 'system' | 'canonical'): Record_ {
		const copy = structuredClone(data);
		for (const p of shape === 'system' ? this.systemSensitive : this.canonicalSensitive) deletePath(copy, p.segments);
		return copy;
	}

	/** A broken rule becomes a field error of the record; anything else is a fault and is thrown. */
	private rowFailed(error: unknown, errors: FieldError[], id: string | null): void {
		if (!(error instanceof RowError)) throw error;
		this.fail(errors, id, error.field, error.rule, error.message);
	}

	private fail(errors: FieldError[], id: string | null, field: string, rule: string, message: string): void {
		// A canonical check and a transform can find the same fault (an amount with too many decimals): once is enough.
		if (errors.some((e) => e.field === field && e.rule === rule)) return;
		errors.push({
			entity: this.entity,
			system: this.system,
			id,
			field,
			rule,
			message: `${this.entity} ${id ?? '(new)'} in ${this.system}: field "${field}" ${message} (rule "${rule}")`,
		});
	}

	private runChecks(checks: FieldCheck[], record: Record_, id: string | null, errors: FieldError[], failed: Set<string>): void {
		for (const c of checks) {
			// A field whose transform already failed is reported once, not again as missing.
			if (failed.has(c.path.text)) continue;
			for (const e of c.check(record)) this.fail(errors, id, c.path.text, e.rule, e.message);
		}
	}

	private handleUnmapped(policy: UnmappedPolicy, covered: PathSet, data: Record_, out: Record_, id: string | null, errors: FieldError[], inbound: boolean): void {
		if (policy === 'drop') return;
		let kept: Record_ | undefined;
		covered.forEachUncovered(data, (path, value) => {
			if (policy === 'keep' && path.includes(RESERVED_KEY)) {
				// Kept under its name it would become the side field's prototype: refused, not silently lost.
				this.fail(errors, id, path, 'unmapped', `cannot be kept: "${RESERVED_KEY}" is a reserved name`);
			} else if (policy === 'fail') {
				this.fail(errors, id, path, 'unmapped', `has no correspondence in the mapping of ${this.system}`);
			} else {
				kept ??= {};
				kept[path] = value;
			}
		});
		if (!kept) return;
		// Kept canonical-side fields are filed under the system they came from, so that only the same
		// system gets them back.
		setPath(out, inbound ? [...this.sideField.segments, this.system] : this.sideField.segments, kept);
	}

	/** Puts back the fields this system's records had without correspondence (kept on the way in). */
	private restoreKept(canonical: Record_, out: Record_): void {
		const kept = getPath(canonical, [...this.sideField.segments, this.system]);
		if (!isObject(kept)) return;
		for (const [text, value] of Object.entries(kept)) {
			const path = parsePath(text);
			if (!path || this.systemSensitive.some((s) => pathsOverlap(s.segments, path.segments))) continue;
			if (getPath(out, path.segments) === undefined) setPath(out, path.segments, value);
		}
	}
}

export interface CompiledMapping {
	entity: string;
	/** The document as compiled, for export. */
	document: MappingDocument;
	systems: ReadonlyMap<string, SystemMapper>;
}

function compileSystem(
	doc: MappingDocument,
	system: string,
	spec: SystemMapping,
	canonicalChecks: FieldCheck[],
	canonicalSensitive: FieldPath[],
): SystemMapper {
	const where = `system "${system}"`;
	if (!isObject(spec)) throw new MappingConfigError(`${where}: must be an object with "fields"`);
	for (const key of Object.keys(spec)) {
		if (!SYSTEM_KEYS.includes(key)) throw new MappingConfigError(`${where}: unknown key "${key}" (a system mapping has ${SYSTEM_KEYS.join(', ')})`);
	}
	const direction = spec.direction ?? 'both';
	if (!DIRECTIONS.includes(direction)) throw new MappingConfigError(`${where}: "direction" must be "both", "toCanonical" or "toSystem", got ${preview(direction)}`);
	if (!Array.isArray(spec.fields) || spec.fields.length === 0) throw new MappingConfigError(`${where}: "fields" must be a non-empty list of rows`);
	const unmapped = policies(spec.unmapped, where);
	const sideField = parsePath(spec.sideField ?? '_unmapped');
	if (!sideField) throw new MappingConfigError(`${where}: "sideField" ${preview(spec.sideField)} is not a field path`);
	if (spec.sensitive !== undefined && !Array.isArray(spec.sensitive)) throw new MappingConfigError(`${where}: "sensitive" must be a list of system fields`);
	const systemSensitive = pathList(spec.sensitive ?? [], `${where} "sensitive"`, 'system');
	const idField = spec.idField ? parsePath(spec.idField) : undefined;
	if (spec.idField && !idField) throw new MappingConfigError(`${where}: "idField" ${preview(spec.idField)} is not a field path`);

	const rows = spec.fields.map((row, i) => compileRow(row, `${where}, row ${i + 1}`));
	const systemSide = rows.flatMap((r, i) => r.systemPaths.map((path) => ({ path, where: `row ${i + 1}` })));
	const canonicalSide = rows.flatMap((r, i) => r.canonicalPaths.map((path) => ({ path, where: `row ${i + 1}` })));
	if (idField) systemSide.push({ path: idField, where: '"idField"' });
	checkNoOverlap(systemSide, 'system', system);
	checkNoOverlap(canonicalSide, 'canonical', system);
	checkNotSensitive(systemSide, systemSensitive, 'system', system);
	checkNotSensitive(canonicalSide, canonicalSensitive, 'canonical', system);
	for (const { path, where: w } of canonicalSide) {
		if (pathsOverlap(path.segments, sideField.segments)) {
			throw new MappingConfigError(`${where}, ${w}: canonical field "${path.text}" overlaps the side field "${sideField.text}" of fields without correspondence`);
		}
	}

	rows.forEach((row, i) => {
		const rowWhere = `${where}, row ${i + 1} (canonical ${fieldLabel(row.canonicalPaths)})`;
		if (direction === 'both' && !row.invertible) {
			throw new MappingConfigError(
				`${rowWhere}: the transform is one-way but this mapping is two-way ("direction": "both"). Give the row an explicit "inverse", or make the mapping one-way ("direction": "toCanonical").`,
			);
		}
		if (direction !== 'toCanonical' && !row.toSystem) {
			throw new MappingConfigError(`${rowWhere}: the transform has no way from canonical to system; give the row an explicit "inverse"`);
		}
		if (row.readsCanonical && direction !== 'toSystem') {
			const source = parsePath(row.readsCanonical)!;
			if (!canonicalSide.some((c) => c.path.text === source.text)) {
				throw new MappingConfigError(`${rowWhere}: the currency code field "${row.readsCanonical}" is not mapped for this system; map it or give a fixed "currency"`);
			}
		}
	});

	const systemChecks = Object.entries(spec.validate ?? {}).map(([field, rules]) => compileRules(field, rules, `${where} "validate"`));
	checkNotSensitive(systemChecks.map((c) => ({ path: c.path, where: '"validate"' })), systemSensitive, 'system', system);

	const systemCovered = new PathSet();
	for (const { path } of systemSide) systemCovered.add(path.segments);
	for (const p of systemSensitive) systemCovered.add(p.segments);
	const canonicalCovered = new PathSet();
	for (const { path } of canonicalSide) canonicalCovered.add(path.segments);
	for (const p of canonicalSensitive) canonicalCovered.add(p.segments);
	canonicalCovered.add(sideField.segments);

	// On the way in, rows that read a canonical field (the currency code) run after the others.
	const inboundRows = [...rows.filter((r) => !r.readsCanonical), ...rows.filter((r) => r.readsCanonical)];
	return new SystemMapper(
		doc.entity,
		system,
		direction,
		idField,
		inboundRows,
		direction === 'toCanonical' ? [] : rows,
		unmapped,
		sideField,
		systemCovered,
		canonicalCovered,
		systemSensitive,
		canonicalSensitive,
		canonicalChecks,
		systemChecks,
	);
}

/** Checks and compiles a mapping document; throws MappingConfigError naming what is wrong. */
export function compileMapping(input: unknown): CompiledMapping {
	if (!isObject(input)) throw new MappingConfigError('the mapping must be a JSON object with "entity" and "systems"');
	const doc = input as unknown as MappingDocument;
	for (const key of Object.keys(doc)) {
		if (!DOC_KEYS.includes(key)) throw new MappingConfigError(`unknown key "${key}" at the top of the mapping (keys: ${DOC_KEYS.join(', ')})`);
	}
	if (doc.format !== undefined && doc.format !== MAPPING_FORMAT) {
		throw new MappingConfigError(`"format" must be "${MAPPING_FORMAT}", got ${preview(doc.format)}`);
	}
	if (typeof doc.entity !== 'string' || doc.entity.trim() === '') throw new MappingConfigError('"entity" must be a non-empty string, such as "contact"');
	if (!isObject(doc.systems) || Object.keys(doc.systems).length === 0) {
		throw new MappingConfigError('"systems" must be an object with one mapping per system, such as { "crm": { "fields": [...] } }');
	}
	const canonical = doc.canonical ?? {};
	if (!isObject(canonical)) throw new MappingConfigError('"canonical" must be an object with "fields" and "sensitive"');
	for (const key of Object.keys(canonical)) {
		if (key !== 'fields' && key !== 'sensitive') throw new MappingConfigError(`"canonical" takes "fields" and "sensitive", not "${key}"`);
	}
	if (canonical.fields !== undefined && !isObject(canonical.fields)) throw new MappingConfigError('"canonical.fields" must be an object of field rules');
	if (canonical.sensitive !== undefined && !Array.isArray(canonical.sensitive)) throw new MappingConfigError('"canonical.sensitive" must be a list of canonical fields');
	const canonicalSensitive = pathList(canonical.sensitive ?? [], '"canonical.sensitive"', 'canonical');
	const canonicalChecks = Object.entries(canonical.fields ?? {}).map(([field, rules]) => compileRules(field, rules, '"canonical.fields"'));
	for (const c of canonicalChecks) {
		const s = canonicalSensitive.find((p) => pathsOverlap(p.segments, c.path.segments));
		if (s) throw new MappingConfigError(`"canonical.fields": "${c.path.text}" is sensitive ("${s.text}"): sensitive fields are never synced, so they have no rules`);
	}

	const systems = new Map<string, SystemMapper>();
	for (const [name, spec] of Object.entries(doc.systems)) {
		if (name.trim() === '') throw new MappingConfigError('"systems" has a system with an empty name');
		systems.set(name, compileSystem(doc, name, spec, canonicalChecks, canonicalSensitive));
	}
	const { format: _format, ...rest } = structuredClone(doc);
	return { entity: doc.entity, document: { format: MAPPING_FORMAT, ...rest }, systems };
}

