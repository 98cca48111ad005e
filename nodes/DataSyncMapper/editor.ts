/**
 * Turns the editor's parameters (Mapping Source "Editor Fields") into a mapping document, the same
 * format the JSON source takes, so both go through one compiler and the export gives JSON back.
 */
import type { FieldMapping, FieldRules, FieldType, MappingDocument, SystemMapping, TransformRef } from '../../lib/mapping';
import { MAPPING_FORMAT, attempt } from '../../lib/mapping';

export interface EditorFieldRow {
	canonical?: string;
	system?: string;
	transform?: string;
	format?: string;
	zone?: string;
	locale?: string;
	decimalSeparator?: string;
	groupSeparator?: string;
	decimals?: number;
	currencyUnit?: string;
	currencyField?: string;
	currencyCode?: string;
	valueMap?: string;
	mapDefault?: string;
	mapSystemDefault?: string;
	caseCanonical?: string;
	caseSystem?: string;
	booleanSpelling?: string;
	trueValue?: string;
	falseValue?: string;
	constantValue?: string;
	defaultCanonical?: string;
	defaultSystem?: string;
	separator?: string;
	inverse?: string;
}

export interface EditorSystem {
	name?: string;
	idField?: string;
	direction?: SystemMapping['direction'];
	unmapped?: 'drop' | 'keep' | 'fail';
	sideField?: string;
	sensitive?: string;
	fields?: { field?: EditorFieldRow[] };
}

export interface EditorRule {
	field?: string;
	type?: string;
	required?: boolean;
	email?: boolean;
	pattern?: string;
	min?: string;
	max?: string;
	enum?: string;
	maxLength?: number;
	currencyField?: string;
}

export interface EditorParameters {
	entity: string;
	systems: { system?: EditorSystem[] };
	canonicalFields: { field?: EditorRule[] };
	sensitiveFields: string;
}

/** Thrown for editor input that cannot become a mapping document (the compiler checks the rest). */
export class EditorInputError extends Error {}

const BOOLEAN_SPELLINGS: Record<string, [unknown, unknown]> = {
	booleans: [true, false],
	digits: ['1', '0'],
	numbers: [1, 0],
	yesno: ['yes', 'no'],
	yn: ['Y', 'N'],
};

function list(text: string | undefined): string[] {
	return (text ?? '')
		.split(',')
		.map((s) => s.trim())
		.filter((s) => s !== '');
}

/** One field or, written with commas, several (for Combine and Split). */
function fieldOrList(text: string | undefined): string | string[] | undefined {
	const parts = list(text);
	if (parts.length === 0) return undefined;
	return parts.length === 1 ? parts[0] : parts;
}

/** Editor text that may hold a JSON value (5, true, null, "x") and otherwise is plain text. */
function jsonOrText(text: string): unknown {
	const parsed = attempt(() => JSON.parse(text) as unknown);
	return parsed.ok ? parsed.value : text;
}

function valueMapValues(text: string, where: string): Record<string, string> {
	const values: Record<string, string> = {};
	for (const line of text.split('\n')) {
		if (line.trim() === '') continue;
		const at = line.indexOf('=');
		if (at < 0) throw new EditorInputError(`${where}: value map line ${JSON.stringify(line)} needs the form systemValue=canonicalValue`);
		values[line.slice(0, at).trim()] = line.slice(at + 1).trim();
	}
	return values;
}

function transformOptions(row: EditorFieldRow, where: string): Record<string, unknown> {
	const options: Record<string, unknown> = {};
	const put = (key: string, value: unknown) => {
		if (value !== undefined && value !== '') options[key] = value;
	};
	switch (row.transform) {
		case 'date':
			put('format', row.format);
			break;
		case 'datetime':
			put('format', row.format);
			put('zone', row.zone);
			break;
		case 'number':
			put('locale', row.locale);
			put('decimalSeparator', row.decimalSeparator);
			put('groupSeparator', row.groupSeparator);
			if (row.decimals !== undefined && row.decimals >= 0) options.decimals = row.decimals;
			break;
		case 'currency':
			put('unit', row.currencyUnit);
			put('currency', row.currencyCode);
			if (!row.currencyCode) put('currencyField', row.currencyField);
			break;
		case 'valueMap':
			options.values = valueMapValues(row.valueMap ?? '', where);
			put('default', row.mapDefault);
			put('systemDefault', row.mapSystemDefault);
			break;
		case 'case':
			put('canonical', row.caseCanonical);
			if (row.caseSystem !== 'none') put('system', row.caseSystem);
			break;
		case 'boolean': {
			const [yes, no] = row.booleanSpelling === 'custom' ? [row.trueValue, row.falseValue] : BOOLEAN_SPELLINGS[row.booleanSpelling ?? 'yesno'];
			options.true = yes;
			options.false = no;
			break;
		}
		case 'constant':
			options.value = jsonOrText(row.constantValue ?? '');
			break;
		case 'default':
			if (row.defaultCanonical) options.canonical = jsonOrText(row.defaultCanonical);
			if (row.defaultSystem) options.system = jsonOrText(row.defaultSystem);
			break;
		case 'combine':
		case 'split':
			put('separator', row.separator);
			break;
	}
	return options;
}

/** The transforms the editor offers an inverse for (those that can be one-way). */
const ONE_WAY_IN_EDITOR = ['case', 'combine', 'trim', 'valueMap'];

function fieldRow(row: EditorFieldRow, where: string): FieldMapping {
	const mapping: FieldMapping = {};
	const canonical = fieldOrList(row.canonical);
	const system = fieldOrList(row.system);
	if (canonical !== undefined) mapping.canonical = canonical;
	if (system !== undefined) mapping.system = system;
	const transform = row.transform || 'rename';
	if (transform !== 'rename') mapping.transform = transform;
	const options = transformOptions({ ...row, transform }, where);
	if (Object.keys(options).length) mapping.options = options;
	if (ONE_WAY_IN_EDITOR.includes(transform) && row.inverse && row.inverse.trim() !== '') {
		const parsed = attempt(() => JSON.parse(row.inverse!) as TransformRef);
		if (!parsed.ok) throw new EditorInputError(`${where}: "Inverse Transform (JSON)" is not valid JSON: ${(parsed.error as Error).message}`);
		mapping.inverse = parsed.value;
	}
	return mapping;
}

function rule(r: EditorRule): FieldRules {
	const rules: FieldRules = {};
	const bound = (text: string) => (/^-?\d+(\.\d+)?$/.test(text.trim()) ? Number(text) : text.trim());
	if (r.type) rules.type = r.type as FieldType;
	if (r.required) rules.required = true;
	if (r.email) rules.email = true;
	if (r.pattern) rules.pattern = r.pattern;
	if (r.min) rules.min = bound(r.min);
	if (r.max) rules.max = bound(r.max);
	if (r.enum && list(r.enum).length) rules.enum = list(r.enum);
	if (r.maxLength) rules.maxLength = r.maxLength;
	if (r.currencyField) rules.currencyField = r.currencyField;
	return rules;
}

export function editorToDocument(p: EditorParameters): MappingDocument {
	const systems: Record<string, SystemMapping> = {};
	(p.systems.system ?? []).forEach((s, i) => {
		const name = (s.name ?? '').trim();
		const where = `system ${i + 1}${name ? ` "${name}"` : ''}`;
		if (name === '') throw new EditorInputError(`${where}: "System Name" is empty`);
		if (systems[name]) throw new EditorInputError(`${where}: system "${name}" is listed twice`);
		const mapping: SystemMapping = {
			fields: (s.fields?.field ?? []).map((row, j) => fieldRow(row, `${where}, row ${j + 1}`)),
		};
		if (s.idField) mapping.idField = s.idField.trim();
		if (s.direction && s.direction !== 'both') mapping.direction = s.direction;
		if (s.unmapped && s.unmapped !== 'drop') mapping.unmapped = s.unmapped;
		if (s.unmapped === 'keep' && s.sideField && s.sideField !== '_unmapped') mapping.sideField = s.sideField;
		if (list(s.sensitive).length) mapping.sensitive = list(s.sensitive);
		systems[name] = mapping;
	});
	const fields: Record<string, FieldRules> = {};
	for (const r of p.canonicalFields.field ?? []) {
		const name = (r.field ?? '').trim();
		if (name === '') throw new EditorInputError('a canonical field check has an empty "Field"');
		fields[name] = rule(r);
	}
	const doc: MappingDocument = { format: MAPPING_FORMAT, entity: p.entity.trim(), systems };
	const sensitive = list(p.sensitiveFields);
	if (Object.keys(fields).length || sensitive.length) {
		doc.canonical = {};
		if (Object.keys(fields).length) doc.canonical.fields = fields;
		if (sensitive.length) doc.canonical.sensitive = sensitive;
	}
	return doc;
}
