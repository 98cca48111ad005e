/**
 * Field paths on either side of a mapping: `email`, `address.city`, `variants[0].sku`.
 * A dot separates object keys, `[n]` is an array index. Paths are parsed once when the mapping
 * compiles; reading and writing a record then walks the parsed segments only.
 */

export type PathSegment = string | number;

export interface FieldPath {
	/** The path as written in the mapping, used in messages. */
	readonly text: string;
	readonly segments: readonly PathSegment[];
}

const SEGMENT = /([^.[\]]+)|\[(\d+)\]/g;

/**
 * The one key no path may name: writing through `__proto__` would reach Object.prototype (prototype
 * pollution) instead of a field of the record.
 */
export const RESERVED_KEY = '__proto__';

/** Parses a path; returns undefined when it is not a well-formed path (or names `__proto__`). */
export function parsePath(text: unknown): FieldPath | undefined {
	if (typeof text !== 'string') return undefined;
	const trimmed = text.trim();
	if (trimmed === '') return undefined;
	const segments: PathSegment[] = [];
	let consumed = '';
	for (const match of trimmed.matchAll(SEGMENT)) {
		if (match[1] !== undefined) {
			if (match[1] === RESERVED_KEY) return undefined;
			// A key follows a dot, except at the start of the path.
			consumed += segments.length === 0 ? match[1] : `.${match[1]}`;
			segments.push(match[1]);
		} else {
			if (segments.length === 0) return undefined;
			consumed += match[0];
			segments.push(Number(match[2]));
		}
	}
	// Anything the segment pattern skipped (`a..b`, `a.`, `a[x]`) makes the path malformed.
	return consumed === trimmed ? { text: trimmed, segments } : undefined;
}

/** Text matched literally inside a regular expression. */
export function escapeRegExp(s: string): string {
	return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function formatPath(segments: readonly PathSegment[]): string {
	let text = '';
	for (const s of segments) {
		if (typeof s === 'number') text += `[${s}]`;
		else text += text === '' ? s : `.${s}`;
	}
	return text;
}

export function getPath(record: unknown, segments: readonly PathSegment[]): unknown {
	let current: unknown = record;
	for (const s of segments) {
		if (current === null || typeof current !== 'object') return undefined;
		if (typeof s === 'number') {
			if (!Array.isArray(current)) return undefined;
			current = current[s];
		} else {
			if (Array.isArray(current) || !Object.prototype.hasOwnProperty.call(current, s)) return undefined;
			current = (current as Record<string, unknown>)[s];
		}
	}
	return current;
}

/** Writes `value` at the path, creating the objects and arrays on the way. */
export function setPath(record: Record<string, unknown>, segments: readonly PathSegment[], value: unknown): void {
	if (segments.includes(RESERVED_KEY)) throw new Error(`a field path may not contain "${RESERVED_KEY}"`);
	let current: Record<string, unknown> | unknown[] = record;
	for (let i = 0; i < segments.length - 1; i++) {
		const s = segments[i];
		const nextIsIndex = typeof segments[i + 1] === 'number';
		let child = (current as Record<string | number, unknown>)[s];
		if (child === null || typeof child !== 'object' || Array.isArray(child) !== nextIsIndex) {
			child = nextIsIndex ? [] : {};
			(current as Record<string | number, unknown>)[s] = child;
		}
		current = child as Record<string, unknown> | unknown[];
	}
	(current as Record<string | number, unknown>)[segments[segments.length - 1]] = value;
}

/** True when `a` equals `b` or one of them lies inside the other (`address` and `address.city`). */
export function pathsOverlap(a: readonly PathSegment[], b: readonly PathSegment[]): boolean {
	const n = Math.min(a.length, b.length);
	for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
	return true;
}

/**
 * The set of paths a mapping reads, to find the leaves of a record that no mapping row reads.
 * A path ending inside the record marks its own subtree as covered; its prefixes are walked into.
 */
export class PathSet {
	private readonly covered = new Set<string>();

	private readonly prefixes = new Set<string>();

	add(segments: readonly PathSegment[]): void {
		this.covered.add(formatPath(segments));
		for (let i = 1; i < segments.length; i++) this.prefixes.add(formatPath(segments.slice(0, i)));
	}

	/**
	 * Calls `visit` for every part of `record` that no added path covers: a whole subtree when no
	 * added path lies inside it, otherwise the uncovered parts inside it.
	 */
	forEachUncovered(record: unknown, visit: (path: string, value: unknown) => void): void {
		this.walk(record, '', visit);
	}

	private walk(node: unknown, prefix: string, visit: (path: string, value: unknown) => void) {
		if (Array.isArray(node)) {
			for (let i = 0; i < node.length; i++) this.visitChild(node[i], `${prefix}[${i}]`, visit);
		} else if (node !== null && typeof node === 'object') {
			for (const key of Object.keys(node)) {
				this.visitChild((node as Record<string, unknown>)[key], prefix === '' ? key : `${prefix}.${key}`, visit);
			}
		}
	}

	private visitChild(value: unknown, path: string, visit: (path: string, value: unknown) => void) {
		if (this.covered.has(path) || value === undefined) return;
		if (this.prefixes.has(path) && value !== null && typeof value === 'object') this.walk(value, path, visit);
		else visit(path, value);
	}
}

/** Removes the value at the path, if there is one. */
export function deletePath(record: unknown, segments: readonly PathSegment[]): void {
	const parent = getPath(record, segments.slice(0, -1));
	const last = segments[segments.length - 1];
	if (parent === null || typeof parent !== 'object') return;
	if (Array.isArray(parent)) {
		if (typeof last === 'number' && last < parent.length) parent[last] = undefined;
	} else if (typeof last === 'string') {
		delete (parent as Record<string, unknown>)[last];
	}
}
