/**
 * The mapping document: what an analyst writes (or the editor builds) for one entity, and what the
 * "JSON" source of the Mapper node imports and its "Export Mapping" operation emits. The format is
 * described with examples in lib/mapping/FORMAT.md.
 */

export const MAPPING_FORMAT = 'datasync-mapping/1';

export type MappingDirection = 'both' | 'toCanonical' | 'toSystem';
export type UnmappedPolicy = 'drop' | 'keep' | 'fail';

export type FieldType = 'string' | 'number' | 'integer' | 'boolean' | 'date' | 'datetime' | 'decimal' | 'object' | 'array';

/** Checks on one field. On the canonical side they also document the canonical shape. */
export interface FieldRules {
	type?: FieldType;
	required?: boolean;
	/** A regular expression (JavaScript syntax, Unicode mode) the whole string must match. */
	pattern?: string;
	/** Lower and upper bound for numbers, decimals (compared as numbers), dates and datetimes. */
	min?: number | string;
	max?: number | string;
	enum?: unknown[];
	email?: boolean;
	/** In characters (Unicode code points). */
	maxLength?: number;
	/** For a decimal amount: the canonical field with its ISO 4217 code; more decimals than the currency has is invalid. */
	currencyField?: string;
	description?: string;
}

export interface TransformRef {
	transform: string;
	options?: Record<string, unknown>;
}

/** One row: a canonical field (or several) and the system field(s) or dotted path(s) it corresponds to. */
export interface FieldMapping {
	canonical?: string | string[];
	system?: string | string[];
	/** Default `rename`: the value passes unchanged. */
	transform?: string;
	options?: Record<string, unknown>;
	/** An explicit canonical → system transform for a transform that is one-way by itself. */
	inverse?: TransformRef;
	description?: string;
}

export interface SystemMapping {
	/** The system's record id field (path); used by the wrap option, never copied into canonical data. */
	idField?: string;
	direction?: MappingDirection;
	unmapped?: UnmappedPolicy | { toCanonical?: UnmappedPolicy; toSystem?: UnmappedPolicy };
	/** Where `keep` puts fields without correspondence; default `_unmapped`. */
	sideField?: string;
	/** System fields (paths) that are never read, copied or written. */
	sensitive?: string[];
	fields: FieldMapping[];
	/** Checks on the system side, by system path: e.g. a column's maximum length. */
	validate?: Record<string, FieldRules>;
	description?: string;
}

export interface MappingDocument {
	format?: string;
	entity: string;
	description?: string;
	canonical?: {
		fields?: Record<string, FieldRules>;
		/** Canonical fields (paths) that are never synced: never in canonical data, never written to a system. */
		sensitive?: string[];
	};
	systems: Record<string, SystemMapping>;
	/** Sample records per system, for documentation and tests; not used when mapping. */
	examples?: Record<string, Record<string, unknown>>;
}
