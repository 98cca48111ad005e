/**
 * Fast paths for the date and time work done per record. Building a luxon DateTime costs several
 * microseconds, which dominated mapping; numeric patterns (yyyy, MM, dd, HH, mm, ss, SSS and literals)
 * and the canonical ISO 8601 forms are read and written here with plain arithmetic, to the same rules
 * as luxon (proleptic Gregorian calendar, no shifting of impossible values). Everything else (month
 * names, week dates, ISO forms we do not write) goes to luxon. test/unit/mapping/datetime.property.test.ts
 * checks both agree.
 */
import { DateTime } from 'luxon';

import { escapeRegExp } from './path';

export function isLeapYear(year: number): boolean {
	return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

export function daysInMonth(year: number, month: number): number {
	return month === 2 && isLeapYear(year) ? 29 : MONTH_DAYS[month - 1];
}

export interface WallTime {
	year: number;
	month: number;
	day: number;
	hour: number;
	minute: number;
	second: number;
	millisecond: number;
}

/** Why the parts are not a real date and time, or undefined when they are. */
export function invalidParts(p: WallTime): string | undefined {
	if (p.month < 1 || p.month > 12) return `month ${p.month} does not exist`;
	if (p.day < 1 || p.day > daysInMonth(p.year, p.month)) return `day ${p.day} does not exist in ${p.year}-${String(p.month).padStart(2, '0')}`;
	if (p.hour > 23 || p.minute > 59 || p.second > 59) return 'the time of day does not exist';
	return undefined;
}

/** Milliseconds since 1970 of the parts read as UTC (years 0–99 included, which Date.UTC would move). */
export function partsToMillis(p: WallTime): number {
	if (p.year >= 100) return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second, p.millisecond);
	const d = new Date(0);
	d.setUTCFullYear(p.year, p.month - 1, p.day);
	d.setUTCHours(p.hour, p.minute, p.second, p.millisecond);
	return d.getTime();
}

export function millisToParts(ms: number): WallTime {
	const d = new Date(ms);
	return {
		year: d.getUTCFullYear(),
		month: d.getUTCMonth() + 1,
		day: d.getUTCDate(),
		hour: d.getUTCHours(),
		minute: d.getUTCMinutes(),
		second: d.getUTCSeconds(),
		millisecond: d.getUTCMilliseconds(),
	};
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');

// ---- numeric patterns --------------------------------------------------------------------------------

type Field = keyof WallTime;
const TOKENS: Record<string, { field: Field; re: string; width: number }> = {
	yyyy: { field: 'year', re: '(\\d{4})', width: 4 },
	MM: { field: 'month', re: '(\\d{2})', width: 2 },
	M: { field: 'month', re: '(\\d{1,2})', width: 1 },
	dd: { field: 'day', re: '(\\d{2})', width: 2 },
	d: { field: 'day', re: '(\\d{1,2})', width: 1 },
	HH: { field: 'hour', re: '(\\d{2})', width: 2 },
	H: { field: 'hour', re: '(\\d{1,2})', width: 1 },
	mm: { field: 'minute', re: '(\\d{2})', width: 2 },
	ss: { field: 'second', re: '(\\d{2})', width: 2 },
	SSS: { field: 'millisecond', re: '(\\d{3})', width: 3 },
};

export interface WallFormat {
	/** The parts of a text in this format, or why it is not one. */
	parse(text: string): WallTime | string;
	format(parts: WallTime): string;
}

/**
 * Compiles a luxon pattern made only of the numeric tokens above and literals; undefined for any other
 * pattern (luxon handles those). A pattern must name year, month and day, each once.
 */
export function numericFormat(pattern: string): WallFormat | undefined {
	const parts: Array<{ literal: string } | { token: string }> = [];
	for (const m of pattern.matchAll(/'([^']*)'|([A-Za-z])\2*|[^A-Za-z']+/g)) {
		if (m[1] !== undefined) parts.push({ literal: m[1] });
		else if (m[2] !== undefined) {
			if (!TOKENS[m[0]]) return undefined;
			parts.push({ token: m[0] });
		} else parts.push({ literal: m[0] });
	}
	const fields = parts.flatMap((p) => ('token' in p ? [TOKENS[p.token].field] : []));
	if (new Set(fields).size !== fields.length || !['year', 'month', 'day'].every((f) => fields.includes(f as Field))) return undefined;
	const re = new RegExp(`^${parts.map((p) => ('token' in p ? TOKENS[p.token].re : escapeRegExp(p.literal))).join('')}$`);
	return {
		parse(text) {
			const m = re.exec(text);
			if (!m) return `the input ${JSON.stringify(text)} can't be parsed as format ${pattern}`;
			const out: WallTime = { year: 0, month: 1, day: 1, hour: 0, minute: 0, second: 0, millisecond: 0 };
			fields.forEach((f, i) => {
				out[f] = Number(m[i + 1]);
			});
			// 24:00 is the end of the day, the next day's 00:00 (ISO 8601; luxon reads it so too).
			if (out.hour === 24 && out.minute === 0 && out.second === 0 && out.millisecond === 0) {
				const day = { ...out, hour: 0 };
				return invalidParts(day) ?? millisToParts(partsToMillis(day) + 86_400_000);
			}
			return invalidParts(out) ?? out;
		},
		format(p) {
			let text = '';
			for (const part of parts) text += 'token' in part ? pad(p[TOKENS[part.token].field], TOKENS[part.token].width) : part.literal;
			return text;
		},
	};
}

// ---- canonical forms ---------------------------------------------------------------------------------

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const INSTANT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?(Z|[+-]\d{2}:\d{2})$/;

/** The parts of a canonical date yyyy-MM-dd, or undefined when it is not one. */
export function parseCanonicalDate(text: string): WallTime | undefined {
	const m = DATE.exec(text);
	if (!m) return undefined;
	const p: WallTime = { year: Number(m[1]), month: Number(m[2]), day: Number(m[3]), hour: 0, minute: 0, second: 0, millisecond: 0 };
	return invalidParts(p) ? undefined : p;
}

export function formatCanonicalDate(p: WallTime): string {
	return `${pad(p.year, 4)}-${pad(p.month, 2)}-${pad(p.day, 2)}`;
}

/**
 * The instant (ms) of an ISO 8601 date-time, or a reason why it is not one. The forms this package
 * writes are read directly; other ISO forms (no offset = UTC, week dates, more decimals) through luxon.
 */
export function parseInstant(text: string): number | string {
	const m = INSTANT.exec(text);
	if (m) {
		const p: WallTime = {
			year: Number(m[1]),
			month: Number(m[2]),
			day: Number(m[3]),
			hour: Number(m[4]),
			minute: Number(m[5]),
			second: m[6] === undefined ? 0 : Number(m[6]),
			millisecond: m[7] === undefined ? 0 : Number(m[7].padEnd(3, '0')),
		};
		const invalid = invalidParts(p);
		if (invalid) return invalid;
		const offset = m[8] === 'Z' ? 0 : (m[8][0] === '-' ? -1 : 1) * (Number(m[8].slice(1, 3)) * 60 + Number(m[8].slice(4, 6)));
		return partsToMillis(p) - offset * 60_000;
	}
	const dt = DateTime.fromISO(text, { zone: 'utc', setZone: true });
	return dt.isValid ? dt.toMillis() : (dt.invalidExplanation ?? dt.invalidReason ?? 'not ISO 8601');
}

/** ISO 8601 with milliseconds and the offset, Z for UTC: the canonical form of an instant. */
export function formatInstant(ms: number, offsetMinutes: number, utc: boolean): string {
	const iso = new Date(ms + offsetMinutes * 60_000).toISOString();
	if (utc) return iso;
	const abs = Math.abs(offsetMinutes);
	return `${iso.slice(0, -1)}${offsetMinutes < 0 ? '-' : '+'}${pad(Math.floor(abs / 60), 2)}:${pad(abs % 60, 2)}`;
}
