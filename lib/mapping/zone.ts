/**
 * Wall-clock time ↔ UTC in one IANA time zone, fast enough to run per record. Asking Intl for an offset
 * (what luxon does on every conversion) costs tens of microseconds; offsets change only on a few days a
 * year, so they are kept per UTC day once the day is known to have a single offset.
 */
import { IANAZone } from 'luxon';

const DAY = 86_400_000;
const HOUR = 3_600_000;
/** Above this many remembered days the cache starts over: memory stays bounded on any data. */
const MAX_DAYS = 50_000;

export interface ZoneClock {
	/** The zone's offset from UTC in minutes at the instant `ts` (ms). */
	offsetAt(ts: number): number;
	/**
	 * The instant of a wall-clock time, given as milliseconds as if it were UTC. A time that occurs twice
	 * (clocks going back) gives the earlier instant; a time skipped by clocks going forward gives undefined.
	 */
	toInstant(wall: number): number | undefined;
}

const clocks = new Map<string, ZoneClock>();

export function isUtc(zone: string): boolean {
	return zone.toLowerCase() === 'utc';
}

export function zoneClock(zone: string): ZoneClock {
	let clock = clocks.get(zone);
	if (!clock) {
		clock = isUtc(zone) ? { offsetAt: () => 0, toInstant: (wall) => wall } : ianaClock(zone);
		clocks.set(zone, clock);
	}
	return clock;
}

function ianaClock(name: string): ZoneClock {
	const zone = IANAZone.create(name);
	// Per UTC day: its offset, or NaN when the offset changes during that day.
	const days = new Map<number, number>();
	const offsetAt = (ts: number): number => {
		const day = Math.floor(ts / DAY);
		let offset = days.get(day);
		if (offset === undefined) {
			const start = day * DAY;
			// Sampled every six hours: no zone changes its offset and back within six hours.
			const samples = [0, 6, 12, 18, 24].map((h) => zone.offset(Math.min(start + h * HOUR, start + DAY - 1)));
			offset = samples.every((o) => o === samples[0]) ? samples[0] : Number.NaN;
			if (days.size >= MAX_DAYS) days.clear();
			days.set(day, offset);
		}
		return Number.isNaN(offset) ? zone.offset(ts) : offset;
	};
	return {
		offsetAt,
		toInstant(wall) {
			// The candidate offsets are those in force a day before and a day after; a candidate instant
			// is right when the zone has that offset at that instant.
			let found: number | undefined;
			for (const offset of new Set([offsetAt(wall - DAY), offsetAt(wall + DAY)])) {
				const ts = wall - offset * 60_000;
				if (offsetAt(ts) === offset && (found === undefined || ts < found)) found = ts;
			}
			return found;
		},
	};
}
