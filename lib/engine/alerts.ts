/**
 * Alerts (the Store node's Get Alerts): one ready-to-send item per cause since the last check — new open
 * conflicts, Loop Guard breaker trips, failed writes and targets whose writes have failed for a while —
 * with a subject, a plain text and an HTML body, for n8n's Send Email, Slack or Microsoft Teams nodes.
 *
 * What a check has seen is kept in the store (alert_check, per sync), and the check is one transaction
 * that locks that row first: two checks at once (queue mode) cannot both send. Repeats of a cause within
 * the group window are counted, not sent: the next alert of that cause, once the window has passed,
 * carries their count. An alert holds record keys, external ids, field names and error reasons, never
 * field values (the competing values of a conflict stay in the store).
 */
import type { SqlValue } from './store/driver';
import type { Store, StoreTx } from './store/store';

export type AlertKind = 'conflict' | 'breaker' | 'write-error' | 'stale';

export const ALERT_KINDS: readonly AlertKind[] = ['conflict', 'breaker', 'write-error', 'stale'];

export interface AlertOptions {
	sync: string;
	/** Which kinds of alert to look for (default all). */
	kinds?: readonly AlertKind[];
	/** Alerts of the same cause within this many minutes become one (default 60). */
	groupWindowMinutes?: number;
	/** A target whose writes have failed, with no success, for this many minutes gets an alert; 0 = off (default 60). */
	staleMinutes?: number;
	/** The dashboard's address (the status-and-conflicts template's status webhook), linked from each alert. */
	dashboardUrl?: string;
	/** Records listed in one alert at most (default 20); the count covers them all. */
	maxRecords?: number;
	/** The start of each subject (default "[DataSync]"). */
	subjectPrefix?: string;
}

/** A record an alert is about: its golden record key and its id in the system; never its values. */
export interface AlertRecord {
	key: string | null;
	system: string | null;
	externalId: string | null;
	/** The conflicting fields (conflicts). */
	fields?: string[];
	/** The error (write errors). */
	reason?: string;
	conflictId?: number;
}

export interface Alert {
	subject: string;
	text: string;
	html: string;
	severity: 'warning' | 'error' | 'critical';
	kind: AlertKind;
	sync: string;
	/** The target (write errors, stale), the source of the change (conflicts) or the sources (breaker). */
	system: string;
	entity: string;
	/** What groups these events: the error reason with its record-specific parts taken out, the conflict kind, … */
	cause: string;
	/** A stable name of this group of alerts (e.g. to thread them in Slack). */
	alertKey: string;
	/** The events this alert stands for (repeats within the window included). */
	count: number;
	first: string;
	last: string;
	dashboardUrl?: string;
	records: AlertRecord[];
	/** Records beyond maxRecords, counted but not listed. */
	moreRecords: number;
	/** Conflicting fields (conflicts). */
	fields: string[];
	/** The distinct error reasons or breaker details, most frequent first (at most 5). */
	reasons: string[];
	runIds: string[];
}

export interface AlertCheck {
	alerts: Alert[];
	/** Causes with new events held back because an alert of that cause went out within the window. */
	held: number;
}

/**
 * A row becomes part of the check's watermark only once it is this old. Ids are taken when a row is
 * written, not when its transaction commits: on Postgres a Commit running beside the check can commit a
 * smaller id after the check read a larger one. Younger rows are alerted at once and remembered (`recent`),
 * so the watermark never passes a row the check could not see yet.
 */
export const SETTLE_MS = 120_000;

/** Rows read per source and check; more wait for the next check. */
const BATCH = 5000;

type Severity = Alert['severity'];

interface Seen {
	audit: number;
	conflict: number;
	trip: number;
	recent: { audit: number[]; conflict: number[]; trip: number[] };
}

/** What a group of events holds until it is sent (alert_group.detail). */
interface Detail {
	system: string;
	entity: string;
	cause: string;
	records: AlertRecord[];
	recordCount: number;
	fields: string[];
	reasons: Array<[string, number]>;
	runIds: string[];
	/** Stale: since when the writes have failed, and the last success before. */
	failingSince?: string;
	lastSuccess?: string | null;
}

interface Events {
	kind: AlertKind;
	count: number;
	first: string;
	last: string;
	detail: Detail;
}

const KIND_LABEL: Record<string, string> = {
	field: 'field conflict',
	'ambiguous-match': 'ambiguous match',
	'edit-delete': 'edit versus delete',
	'delete-approval': 'delete waiting for approval',
	'duplicate-link': 'duplicate link',
};

const SEVERITY: Record<AlertKind, Severity> = { conflict: 'warning', 'write-error': 'error', breaker: 'critical', stale: 'critical' };

/**
 * An error reason as an alert shows it: e-mail addresses, single-quoted values (MySQL's "Duplicate entry
 * 'x'") and Postgres' "Key (field)=(value)" details taken out, so no record value leaves in a message.
 * Double-quoted and backquoted names (tables, columns, constraints) stay: they say what went wrong.
 */
export function scrubReason(reason: string): string {
	return reason
		.replace(/\s+/g, ' ')
		.replace(/[\w.+-]+@[\w-]+(\.[\w-]+)+/g, '…')
		.replace(/'[^']*'|“[^”]*”/g, '…')
		.replace(/=\([^)]*\)/g, '=(…)')
		.trim()
		.slice(0, 500);
}

/**
 * The part of an error reason that is the same for every record it hits: the scrubbed reason with ids and
 * numbers taken out too, so 100 writes refused for the same reason are one cause.
 */
export function reasonPattern(reason: string): string {
	return scrubReason(reason)
		.replace(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '#')
		.replace(/\b[0-9a-f]{16,}\b/gi, '#')
		.replace(/\d+(\.\d+)?/g, '#')
		.slice(0, 200);
}

function checkOptions(options: AlertOptions): Required<Omit<AlertOptions, 'dashboardUrl'>> & { dashboardUrl?: string } {
	if (typeof options.sync !== 'string' || options.sync.trim() === '') throw new Error('Get Alerts: "sync" must be a non-empty text');
	const number = (name: string, value: number | undefined, fallback: number, min: number) => {
		const n = value ?? fallback;
		if (typeof n !== 'number' || !Number.isFinite(n) || n < min) throw new Error(`Get Alerts: "${name}" must be a number >= ${min}, got ${JSON.stringify(value)}`);
		return n;
	};
	const kinds = options.kinds ?? ALERT_KINDS;
	for (const kind of kinds) {
		if (!ALERT_KINDS.includes(kind)) throw new Error(`Get Alerts: "kinds" must be among ${ALERT_KINDS.join(', ')}, got ${JSON.stringify(kind)}`);
	}
	const url = options.dashboardUrl?.trim();
	if (url && !/^https?:\/\/\S+$/i.test(url)) throw new Error(`Get Alerts: "dashboardUrl" must be an http(s) address, got ${JSON.stringify(url)}`);
	return {
		sync: options.sync.trim(),
		kinds,
		groupWindowMinutes: number('groupWindowMinutes', options.groupWindowMinutes, 60, 0),
		staleMinutes: number('staleMinutes', options.staleMinutes, 60, 0),
		maxRecords: Math.floor(number('maxRecords', options.maxRecords, 20, 1)),
		subjectPrefix: options.subjectPrefix ?? '[DataSync]',
		dashboardUrl: url || undefined,
	};
}

/** Records a breaker trip of the Loop Guard (one row per entity of the stopped batch), for Get Alerts. */
export async function recordBreakerTrips(
	tx: StoreTx,
	sync: string,
	runId: string | null,
	blocked: ReadonlyArray<{ item: { entity: string; system: string }; detail: string }>,
): Promise<void> {
	const byEntity = new Map<string, { systems: Set<string>; count: number; detail: string }>();
	for (const b of blocked) {
		const e = byEntity.get(b.item.entity) ?? { systems: new Set<string>(), count: 0, detail: b.detail };
		e.systems.add(b.item.system);
		e.count++;
		byEntity.set(b.item.entity, e);
	}
	for (const [entity, e] of byEntity) {
		await tx.sql.run(`INSERT INTO breaker_trip (at, run_id, sync, entity, systems, detail, blocked) VALUES (?, ?, ?, ?, ?, ?, ?)`, [
			tx.now,
			runId,
			sync,
			entity,
			[...e.systems].sort().join(', '),
			e.detail,
			e.count,
		]);
	}
}

const num = (v: unknown) => Number(v);
const text = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

/**
 * One check: the alerts due now, each the summary of its cause's events since the last alert of that
 * cause. An empty list when nothing new happened (a Send Email node after it then sends nothing).
 */
export async function checkAlerts(store: Store, options: AlertOptions): Promise<AlertCheck> {
	const o = checkOptions(options);
	return store.transaction(async (tx) => {
		const now = Date.parse(tx.now);
		const windowMs = o.groupWindowMinutes * 60_000;
		// The check's row first, locked: a second check waits here (SQLite: the write lock of BEGIN IMMEDIATE).
		const lock = tx.sql.dialect === 'postgres' ? ' FOR UPDATE' : '';
		const rows = await tx.sql.all(`SELECT * FROM alert_check WHERE sync = ?${lock}`, [o.sync]);
		const first = rows.length === 0;
		const seen: Seen = first
			? { audit: 0, conflict: 0, trip: 0, recent: { audit: [], conflict: [], trip: [] } }
			: { audit: num(rows[0].audit_id), conflict: num(rows[0].conflict_id), trip: num(rows[0].trip_id), recent: JSON.parse(String(rows[0].recent)) as Seen['recent'] };
		// A first check looks back one group window, not over the whole history.
		const since = first ? new Date(now - windowMs).toISOString() : '';
		const settled = new Date(now - SETTLE_MS).toISOString();
		if (first) {
			// What happened before that window is history: the watermarks start past it.
			const before = async (sql: string) => num((await tx.sql.all(sql, [o.sync, since]))[0]?.id ?? 0);
			seen.conflict = await before(`SELECT coalesce(max(id), 0) AS id FROM conflict WHERE sync = ? AND created_at < ?`);
			seen.audit = await before(`SELECT coalesce(max(id), 0) AS id FROM audit WHERE outcome = 'failed' AND sync = ? AND at < ?`);
			seen.trip = await before(`SELECT coalesce(max(id), 0) AS id FROM breaker_trip WHERE sync = ? AND at < ?`);
		}
		const events = new Map<string, Events>();
		const add = (cause: string, kind: AlertKind, at: string, base: Omit<Detail, 'records' | 'recordCount' | 'fields' | 'reasons' | 'runIds'>, record: AlertRecord | null, extra: { fields?: string[]; reason?: string; runId?: string | null } = {}) => {
			let e = events.get(cause);
			if (!e) {
				e = { kind, count: 0, first: at, last: at, detail: { ...base, records: [], recordCount: 0, fields: [], reasons: [], runIds: [] } };
				events.set(cause, e);
			}
			e.count++;
			if (at < e.first) e.first = at;
			if (at > e.last) e.last = at;
			mergeDetail(e.detail, { records: record ? [record] : [], recordCount: record ? 1 : 0, fields: extra.fields ?? [], reasons: extra.reason ? [[extra.reason, 1]] : [], runIds: extra.runId ? [extra.runId] : [] }, o.maxRecords);
		};

		/** Rows of `table` after the watermark that this check has not handled yet; moves the watermark. */
		const scan = async (which: keyof Seen['recent'], sql: string, params: SqlValue[], atColumn: string) => {
			const list = await tx.sql.all(sql, [...params, seen[which], since, BATCH]);
			const recent = new Set(seen.recent[which]);
			const fresh = list.filter((r) => !recent.has(num(r.id)));
			let mark = seen[which];
			for (const r of list) if (String(r[atColumn]) < settled && num(r.id) > mark) mark = num(r.id);
			seen[which] = mark;
			seen.recent[which] = [...recent, ...fresh.map((r) => num(r.id))].filter((id) => id > mark);
			return fresh;
		};

		if (o.kinds.includes('conflict')) {
			const list = await scan(
				'conflict',
				`SELECT id, created_at, run_id, entity, key, system, external_id, kind, status, fields FROM conflict WHERE sync = ? AND id > ? AND created_at >= ? ORDER BY id LIMIT ?`,
				[o.sync],
				'created_at',
			);
			for (const c of list) {
				if (String(c.status) !== 'open') continue;
				const entity = String(c.entity);
				const system = String(c.system);
				const kind = String(c.kind);
				const fields = JSON.parse(String(c.fields)) as string[];
				add(
					`conflict|${entity}|${system}|${kind}`,
					'conflict',
					String(c.created_at),
					{ system, entity, cause: KIND_LABEL[kind] ?? kind },
					{ key: text(c.key), system, externalId: text(c.external_id), fields, conflictId: num(c.id) },
					{ fields, runId: text(c.run_id) },
				);
			}
		}
		if (o.kinds.includes('write-error')) {
			const list = await scan(
				'audit',
				`SELECT id, at, run_id, entity, key, system, external_id, action, error FROM audit WHERE outcome = 'failed' AND sync = ? AND id > ? AND at >= ? ORDER BY id LIMIT ?`,
				[o.sync],
				'at',
			);
			for (const a of list) {
				if (String(a.action) !== 'write') continue;
				const entity = String(a.entity);
				const system = String(a.system ?? '');
				const reason = scrubReason(String(a.error ?? 'no error message'));
				const pattern = reasonPattern(reason);
				add(
					`write-error|${entity}|${system}|${pattern}`,
					'write-error',
					String(a.at),
					{ system, entity, cause: pattern },
					{ key: text(a.key), system, externalId: text(a.external_id), reason },
					{ reason, runId: text(a.run_id) },
				);
			}
		}
		if (o.kinds.includes('breaker')) {
			const list = await scan('trip', `SELECT * FROM breaker_trip WHERE sync = ? AND id > ? AND at >= ? ORDER BY id LIMIT ?`, [o.sync], 'at');
			for (const t of list) {
				const entity = String(t.entity);
				const systems = String(t.systems);
				add(`breaker|${entity}|${systems}`, 'breaker', String(t.at), { system: systems, entity, cause: 'Loop Guard breaker' }, null, {
					reason: `${String(t.detail)} (${num(t.blocked)} changes held back)`,
					runId: text(t.run_id),
				});
			}
		}

		const groups = new Map(
			(await tx.sql.all(`SELECT * FROM alert_group WHERE sync = ?`, [o.sync])).map((g) => [
				String(g.cause),
				{ kind: String(g.kind) as AlertKind, pending: num(g.pending), firstAt: text(g.first_at), lastAt: String(g.last_at), sentAt: text(g.sent_at), sent: num(g.sent), detail: JSON.parse(String(g.detail)) as Detail },
			]),
		);

		if (o.kinds.includes('stale') && o.staleMinutes > 0) {
			const targets = await tx.sql.all(`SELECT system, entity, last_success_at, last_failure_at FROM sync_status WHERE sync = ?`, [o.sync]);
			for (const t of targets) {
				const lastSuccess = text(t.last_success_at);
				const lastFailure = text(t.last_failure_at);
				if (lastFailure === null || (lastSuccess !== null && lastFailure <= lastSuccess)) continue;
				const system = String(t.system);
				const entity = String(t.entity);
				// The first failure after the last success: how long this target has been failing.
				const [oldest] = await tx.sql.all(
					`SELECT min(at) AS at FROM audit WHERE outcome = 'failed' AND sync = ? AND system = ? AND entity = ? AND action = 'write' AND at > ?`,
					[o.sync, system, entity, lastSuccess ?? ''],
				);
				const failingSince = text(oldest?.at) ?? lastFailure;
				if (now - Date.parse(failingSince) < o.staleMinutes * 60_000) continue;
				const cause = `stale|${entity}|${system}|${lastSuccess ?? 'never'}`;
				const g = groups.get(cause);
				if (g) {
					// Sent once per failing streak: a success ends it, the next failure starts a new one.
					await tx.sql.run(`UPDATE alert_group SET last_at = ? WHERE sync = ? AND cause = ?`, [tx.now, o.sync, cause]);
					continue;
				}
				events.set(cause, {
					kind: 'stale',
					count: 1,
					first: failingSince,
					last: lastFailure,
					detail: { system, entity, cause: `no successful write for ${o.staleMinutes} min`, records: [], recordCount: 0, fields: [], reasons: [], runIds: [], failingSince, lastSuccess },
				});
			}
		}

		const alerts: Alert[] = [];
		let held = 0;
		const causes = new Set([...events.keys(), ...[...groups].filter(([, g]) => g.pending > 0).map(([cause]) => cause)]);
		for (const cause of causes) {
			const e = events.get(cause);
			const g = groups.get(cause);
			if (!o.kinds.includes((e ?? g)!.kind)) continue;
			const pending = (g?.pending ?? 0) + (e?.count ?? 0);
			if (pending === 0) continue;
			const detail = g && g.pending > 0 ? g.detail : e!.detail;
			if (e && g && g.pending > 0) mergeDetail(detail, e.detail, o.maxRecords);
			const firstAt = (g?.pending ? g.firstAt : null) ?? e!.first;
			const lastAt = e?.last ?? g!.lastAt;
			const due = !g?.sentAt || now - Date.parse(g.sentAt) >= windowMs;
			if (due) {
				alerts.push(render(o, (e ?? g)!.kind, cause, pending, firstAt, lastAt, detail));
				await saveGroup(tx, o.sync, cause, (e ?? g)!.kind, { pending: 0, firstAt: null, lastAt, sentAt: tx.now, sent: (g?.sent ?? 0) + 1, detail: emptyDetail(detail) });
			} else {
				if (e) held++;
				await saveGroup(tx, o.sync, cause, (e ?? g)!.kind, { pending, firstAt, lastAt, sentAt: g!.sentAt, sent: g!.sent, detail });
			}
		}
		await tx.sql.run(
			`INSERT INTO alert_check (sync, audit_id, conflict_id, trip_id, recent, checked_at) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (sync) DO UPDATE SET audit_id = excluded.audit_id, conflict_id = excluded.conflict_id, trip_id = excluded.trip_id,
				recent = excluded.recent, checked_at = excluded.checked_at`,
			[o.sync, seen.audit, seen.conflict, seen.trip, JSON.stringify(seen.recent), tx.now],
		);
		const order: Record<Severity, number> = { critical: 0, error: 1, warning: 2 };
		alerts.sort((a, b) => order[a.severity] - order[b.severity] || a.first.localeCompare(b.first));
		return { alerts, held };
	});
}

function emptyDetail(d: Detail): Detail {
	return { system: d.system, entity: d.entity, cause: d.cause, records: [], recordCount: 0, fields: [], reasons: [], runIds: [], failingSince: d.failingSince, lastSuccess: d.lastSuccess };
}

/** Adds `more` into `into`, keeping at most `maxRecords` records (distinct), 5 reasons and 10 run ids. */
function mergeDetail(into: Detail, more: Pick<Detail, 'records' | 'recordCount' | 'fields' | 'reasons' | 'runIds'>, maxRecords: number): void {
	into.recordCount += more.recordCount;
	for (const r of more.records) {
		const same = into.records.find((x) => x.key === r.key && x.system === r.system && x.externalId === r.externalId && x.conflictId === r.conflictId);
		if (same) {
			into.recordCount--;
			continue;
		}
		if (into.records.length < maxRecords) into.records.push(r);
	}
	for (const f of more.fields) if (!into.fields.includes(f)) into.fields.push(f);
	for (const [reason, n] of more.reasons) {
		const same = into.reasons.find((x) => x[0] === reason);
		if (same) same[1] += n;
		else into.reasons.push([reason, n]);
	}
	into.reasons.sort((a, b) => b[1] - a[1]);
	into.reasons.splice(5);
	for (const id of more.runIds) if (!into.runIds.includes(id)) into.runIds.push(id);
	into.runIds.splice(10);
}

async function saveGroup(
	tx: StoreTx,
	sync: string,
	cause: string,
	kind: AlertKind,
	g: { pending: number; firstAt: string | null; lastAt: string; sentAt: string | null; sent: number; detail: Detail },
): Promise<void> {
	await tx.sql.run(
		`INSERT INTO alert_group (sync, cause, kind, pending, first_at, last_at, sent_at, sent, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (sync, cause) DO UPDATE SET kind = excluded.kind, pending = excluded.pending, first_at = excluded.first_at,
			last_at = excluded.last_at, sent_at = excluded.sent_at, sent = excluded.sent, detail = excluded.detail`,
		[sync, cause, kind, g.pending, g.firstAt, g.lastAt, g.sentAt, g.sent, JSON.stringify(g.detail)],
	);
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

function esc(value: unknown): string {
	return String(value ?? '')
		.replace(/&/g, '&amp;')
		.replace(/</g, '&lt;')
		.replace(/>/g, '&gt;')
		.replace(/"/g, '&quot;')
		.replace(/'/g, '&#39;');
}

/** One record of an alert; its reason left out when the alert has one reason for all (listed above the records). */
function recordLine(kind: AlertKind, r: AlertRecord, oneReason: boolean): string {
	const key = r.key ? `golden record ${r.key}` : 'no golden record yet';
	const id = r.externalId ? `${r.system} id ${r.externalId}` : `no ${r.system} id yet`;
	if (kind === 'conflict') return `conflict ${r.conflictId}: ${key}, ${id}${r.fields?.length ? `, fields ${r.fields.join(', ')}` : ''}`;
	return `${key}, ${id}${r.reason && !oneReason ? `: ${r.reason}` : ''}`;
}

function render(o: ReturnType<typeof checkOptions>, kind: AlertKind, alertKey: string, count: number, first: string, last: string, d: Detail): Alert {
	const span = first === last ? `at ${first}` : `between ${first} and ${last}`;
	let title: string;
	let intro: string;
	let next: string;
	switch (kind) {
		case 'conflict':
			title = `${plural(count, `new ${d.cause}`)} in ${d.entity} from ${d.system}`;
			intro = `${plural(count, 'new conflict')} (${d.cause}) in sync "${o.sync}", ${d.entity} records from ${d.system}, ${span}.${d.fields.length ? ` Fields: ${d.fields.join(', ')}.` : ''}`;
			next = 'Review them with DataSync Store → List Conflicts and settle each with Resolve Conflict; the competing values are kept there.';
			break;
		case 'write-error':
			title = `${plural(count, 'write')} to ${d.system} failed (${d.entity})`;
			intro = `${plural(count, 'write')} of ${d.entity} records to ${d.system} failed in sync "${o.sync}", ${span} (${plural(d.recordCount, 'record')}).`;
			next = `Each record's full history: DataSync Store → Get Audit with its golden record key.`;
			break;
		case 'breaker':
			title = `Loop Guard breaker stopped ${plural(count, 'run')} (${d.entity} from ${d.system})`;
			intro = `The Loop Guard's breaker stopped ${plural(count, 'run')} of sync "${o.sync}" (${d.entity} from ${d.system}), ${span}: nothing of those runs was passed on.`;
			next = 'Check the source system for a mass change; if it is intended, raise the breaker limit in the Loop Guard and run again.';
			break;
		case 'stale':
			title = `no successful write to ${d.system} for ${o.staleMinutes}+ min (${d.entity})`;
			intro = `Writes of ${d.entity} records to ${d.system} in sync "${o.sync}" have failed since ${d.failingSince}, with no success since ${d.lastSuccess ?? 'the sync began'}.`;
			next = `Check that ${d.system} is reachable and accepts the writes; the write-error alerts and Get Audit name the reasons.`;
			break;
	}
	const reasons = d.reasons.map(([reason, n]) => (n > 1 ? `${reason} (×${n})` : reason));
	const records = d.records.map((r) => recordLine(kind, r, d.reasons.length === 1));
	const more = Math.max(0, d.recordCount - d.records.length);
	const lines: string[] = [intro, ''];
	if (reasons.length) lines.push(kind === 'breaker' ? 'Why:' : 'Reasons:', ...reasons.map((r) => `- ${r}`), '');
	if (records.length) lines.push('Records:', ...records.map((r) => `- ${r}`), ...(more ? [`- and ${plural(more, 'more record')}`] : []), '');
	if (d.runIds.length) lines.push(`Runs: ${d.runIds.join(', ')}`, '');
	lines.push(next);
	if (o.dashboardUrl) lines.push('', `Dashboard: ${o.dashboardUrl}`);
	const list = (items: string[]) => `<ul>${items.map((i) => `<li>${esc(i)}</li>`).join('')}</ul>`;
	const html = [
		`<p>${esc(intro)}</p>`,
		reasons.length ? `<p><b>${kind === 'breaker' ? 'Why' : 'Reasons'}</b></p>${list(reasons)}` : '',
		records.length ? `<p><b>Records</b></p>${list(more ? [...records, `and ${plural(more, 'more record')}`] : records)}` : '',
		d.runIds.length ? `<p>Runs: ${esc(d.runIds.join(', '))}</p>` : '',
		`<p>${esc(next)}</p>`,
		o.dashboardUrl ? `<p><a href="${esc(o.dashboardUrl)}">Open the dashboard</a></p>` : '',
	].join('');
	return {
		subject: `${o.subjectPrefix ? `${o.subjectPrefix} ` : ''}${o.sync}: ${title}`,
		text: `${lines.join('\n')}\n`,
		html,
		severity: SEVERITY[kind],
		kind,
		sync: o.sync,
		system: d.system,
		entity: d.entity,
		cause: d.cause,
		alertKey,
		count,
		first,
		last,
		...(o.dashboardUrl ? { dashboardUrl: o.dashboardUrl } : {}),
		records: d.records,
		moreRecords: more,
		fields: d.fields,
		reasons: d.reasons.map(([reason]) => reason),
		runIds: d.runIds,
	};
}

/** What the dashboard shows of the retention: the days the last Purge kept, when it ran, the oldest audit entry kept. */
export interface Retention {
	retentionDays: number | null;
	lastPurgeAt: string | null;
	oldestAuditAt: string | null;
}

export async function retentionOf(store: Store): Promise<Retention> {
	const [meta, oldest] = await Promise.all([
		store.driver.all(`SELECT name, value FROM store_meta WHERE name IN ('audit_retention_days', 'last_purge_at')`),
		store.driver.all(`SELECT min(at) AS at FROM audit`),
	]);
	const value = (name: string) => text(meta.find((m) => m.name === name)?.value);
	const days = value('audit_retention_days');
	return { retentionDays: days === null ? null : Number(days), lastPurgeAt: value('last_purge_at'), oldestAuditAt: text(oldest[0]?.at) };
}

/**
 * The Store node's Purge: the store's purge (audit, resolved conflicts, windows), then breaker trips and
 * settled alert groups older than the retention; the retention and the time are kept for the dashboard.
 */
export async function purgeWithAlerts(store: Store, options: { auditDays?: number } = {}) {
	const auditDays = options.auditDays ?? 30;
	const purged = await store.purge({ auditDays });
	const alerts = await store.transaction(async (tx) => {
		const before = new Date(Date.parse(tx.now) - auditDays * 86_400_000).toISOString();
		const trips = await tx.sql.run(`DELETE FROM breaker_trip WHERE at < ?`, [before]);
		const groups = await tx.sql.run(`DELETE FROM alert_group WHERE pending = 0 AND last_at < ?`, [before]);
		for (const [name, value] of [
			['audit_retention_days', String(auditDays)],
			['last_purge_at', tx.now],
		]) {
			await tx.sql.run(`INSERT INTO store_meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value`, [name, value]);
		}
		return { breakerTrips: trips, alertGroups: groups };
	});
	return { ...purged, ...alerts };
}
