/**
 * The status dashboard: self-contained HTML pages (inline CSS, the chart as inline SVG drawn here, no
 * script, no external asset) to serve with Respond to Webhook, and the same counts as Prometheus text.
 * Pages link to each other with query parameters of the same webhook (`?run=`, `?record=`,
 * `?system=&id=`), so they work behind n8n's basic or header auth. Every value is escaped: record values
 * are user data.
 */
import type { AuditEntry, ConflictRecord, RecordHistory, RunLog, SyncOverview, TargetHealth, VolumeBucket } from './engine';

export function esc(value: unknown): string {
	return String(value ?? '')
		.replace(/&/g, '&amp;')
		.replace(/</g, '&lt;')
		.replace(/>/g, '&gt;')
		.replace(/"/g, '&quot;')
		.replace(/'/g, '&#39;');
}

/** A value of a record as text (objects as JSON), for a table cell. */
function show(value: unknown): string {
	if (value === undefined) return '';
	if (value === null) return 'null';
	return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

function q(params: Record<string, string | null | undefined>): string {
	const s = new URLSearchParams();
	for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== '') s.set(k, v);
	return `?${s.toString()}`;
}

const link = (href: string, text: unknown, attrs = '') => `<a href="${esc(href)}"${attrs}>${esc(text)}</a>`;

/** Cells are escaped text unless given as { html } (already built from escaped parts). */
type Cell = unknown | { html: string };

function cell(c: Cell): string {
	return typeof c === 'object' && c !== null && 'html' in c ? String((c as { html: string }).html) : esc(c);
}

function table(headers: string[], rows: Cell[][], attrs = '', empty = 'Nothing yet.'): string {
	if (rows.length === 0) return `<p class="empty">${esc(empty)}</p>`;
	const head = headers.map((h) => `<th>${esc(h)}</th>`).join('');
	const body = rows.map((r) => `<tr>${r.map((c) => `<td>${cell(c)}</td>`).join('')}</tr>`).join('\n');
	return `<table${attrs}><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

const CSS = `
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1f2937;background:#f8fafc}
header{background:#0f172a;color:#f8fafc;padding:.9rem 2rem;display:flex;gap:1.5rem;align-items:baseline;flex-wrap:wrap}
header h1{font-size:1.2rem;margin:0}header a{color:#93c5fd}header .as-of{color:#cbd5e1;font-size:.85rem}
main{padding:1rem 2rem 3rem}h2{font-size:1.05rem;margin:1.8rem 0 .6rem}
.tiles{display:flex;gap:.8rem;flex-wrap:wrap}.tile{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:.7rem 1rem;min-width:9rem}
.value{font-size:1.45rem;font-weight:650}.label{color:#6b7280;font-size:.8rem}
table{border-collapse:collapse;background:#fff;width:100%}th,td{border:1px solid #e5e7eb;padding:.35rem .55rem;text-align:left;font-size:.85rem;vertical-align:top}
th{background:#f1f5f9;font-weight:600}td.num,th.num{text-align:right}.empty{color:#6b7280}
.badge{display:inline-block;border-radius:999px;padding:.05rem .55rem;font-size:.8rem;font-weight:600}
.ok{background:#dcfce7;color:#166534}.stale{background:#fef9c3;color:#854d0e}.failing{background:#fee2e2;color:#991b1b}
.alert{background:#fef2f2;border:1px solid #fca5a5;color:#7f1d1d;border-radius:8px;padding:.7rem 1rem;margin:1rem 0}
.rule{color:#475569;font-size:.82rem}.muted{color:#6b7280}code,.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.8rem}
.chart{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:.5rem;margin-bottom:1rem}
.legend span{margin-right:1rem;font-size:.8rem}.sw{display:inline-block;width:.8rem;height:.8rem;border-radius:2px;vertical-align:-1px;margin-right:.3rem}
form{display:flex;gap:.5rem;flex-wrap:wrap;align-items:center;margin:.4rem 0}input{padding:.3rem .4rem;border:1px solid #cbd5e1;border-radius:4px}
button{padding:.3rem .8rem;border:1px solid #1d4ed8;background:#2563eb;color:#fff;border-radius:4px}
td.before{background:#fff7ed}td.after{background:#f0fdf4}
`;

function page(title: string, sync: string, generatedAt: string, body: string): string {
	return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>${CSS}</style></head>
<body>
<header><h1>DataSync · ${esc(sync)}</h1><a href="?">Overview</a><span class="as-of">as of ${esc(generatedAt)}</span></header>
<main>
${body}
</main></body></html>
`;
}

const badge = (state: string) => `<span class="badge ${esc(state)}" data-health="${esc(state)}">${esc(state)}</span>`;

const num = (n: number | null | undefined) => ({ html: `<span class="mono">${esc(n ?? '')}</span>` });

function duration(ms: number | null): string {
	if (ms === null) return '–';
	return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

function lag(seconds: number | null): string {
	if (seconds === null) return '–';
	if (seconds < 120) return `${seconds} s`;
	if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
	if (seconds < 172_800) return `${(seconds / 3600).toFixed(1)} h`;
	return `${(seconds / 86_400).toFixed(1)} d`;
}

/** Received and written as bars, errors (write errors and invalid records) as a line with dots, per bucket. */
export function volumeChart(buckets: VolumeBucket[], options: { title: string; label: (start: string) => string; every: number; id: string }): string {
	const W = 960;
	const H = 220;
	const left = 44;
	const bottom = 28;
	const top = 14;
	const plotW = W - left - 10;
	const plotH = H - top - bottom;
	const max = Math.max(1, ...buckets.map((b) => Math.max(b.received, b.written, b.errors)));
	const step = niceStep(max);
	const yMax = Math.ceil(max / step) * step;
	const y = (v: number) => top + plotH - (v / yMax) * plotH;
	const slot = plotW / buckets.length;
	const bar = Math.max(1, slot / 2 - 1);
	const parts: string[] = [];
	for (let v = 0; v <= yMax; v += step) {
		parts.push(`<line x1="${left}" x2="${W - 10}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#e5e7eb"/>`);
		parts.push(`<text x="${left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end" font-size="11" fill="#6b7280">${v}</text>`);
	}
	buckets.forEach((b, i) => {
		const x = left + i * slot;
		const title = `${options.label(b.start)}: ${b.received} received, ${b.written} written, ${b.errors} errors, ${b.blocked} blocked`;
		parts.push(
			`<g data-bucket="${esc(b.start)}" data-received="${b.received}" data-written="${b.written}" data-errors="${b.errors}"><title>${esc(title)}</title>` +
				`<rect x="${(x + 1).toFixed(1)}" y="${y(b.received).toFixed(1)}" width="${bar.toFixed(1)}" height="${(top + plotH - y(b.received)).toFixed(1)}" fill="#93c5fd"/>` +
				`<rect x="${(x + 1 + bar).toFixed(1)}" y="${y(b.written).toFixed(1)}" width="${bar.toFixed(1)}" height="${(top + plotH - y(b.written)).toFixed(1)}" fill="#2563eb"/></g>`,
		);
		if (i % options.every === 0) {
			parts.push(`<text x="${(x + slot / 2).toFixed(1)}" y="${H - 10}" text-anchor="middle" font-size="11" fill="#6b7280">${esc(options.label(b.start))}</text>`);
		}
	});
	const points = buckets.map((b, i) => `${(left + i * slot + slot / 2).toFixed(1)},${y(b.errors).toFixed(1)}`).join(' ');
	parts.push(`<polyline points="${points}" fill="none" stroke="#dc2626" stroke-width="1.5"/>`);
	buckets.forEach((b, i) => {
		if (b.errors > 0) parts.push(`<circle cx="${(left + i * slot + slot / 2).toFixed(1)}" cy="${y(b.errors).toFixed(1)}" r="3" fill="#dc2626"/>`);
	});
	const totals = buckets.reduce((t, b) => ({ r: t.r + b.received, w: t.w + b.written, e: t.e + b.errors }), { r: 0, w: 0, e: 0 });
	return `<div class="chart" id="${esc(options.id)}" data-received="${totals.r}" data-written="${totals.w}" data-errors="${totals.e}">
<strong>${esc(options.title)}</strong> <span class="muted">${totals.r} received · ${totals.w} written · ${totals.e} errors</span>
<div class="legend"><span><i class="sw" style="background:#93c5fd"></i>received</span><span><i class="sw" style="background:#2563eb"></i>written</span><span><i class="sw" style="background:#dc2626"></i>errors (write errors + invalid)</span></div>
<svg viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="${esc(options.title)}" xmlns="http://www.w3.org/2000/svg">${parts.join('')}</svg></div>`;
}

function niceStep(max: number): number {
	const raw = max / 4;
	const mag = 10 ** Math.floor(Math.log10(raw));
	for (const m of [1, 2, 5, 10]) if (m * mag >= raw) return Math.max(1, m * mag);
	return Math.max(1, 10 * mag);
}

function targetRow(t: TargetHealth): Cell[] {
	return [
		{ html: `${badge(t.health)}<div class="rule">${esc(t.why)}</div>` },
		t.system,
		t.entity,
		num(t.received),
		num(t.created),
		num(t.updated),
		num(t.deleted),
		num(t.failed),
		num(t.invalid),
		num(t.blocked),
		num(t.skipped),
		num(t.compressed),
		num(t.openConflicts),
		t.lastSyncAt ?? '–',
		t.lastSuccessAt ?? '–',
		t.cursor ? { html: `${esc(lag(t.cursorLagSeconds))}<div class="muted mono">${esc(t.cursor.ts)} / ${esc(t.cursor.id)}</div>` } : '–',
	];
}

const recordLink = (e: { entity: string; key: string | null; system: string | null; externalId: string | null }) => {
	if (e.key) return { html: link(q({ record: e.key, entity: e.entity }), e.key, ' class="mono"') };
	if (e.system && e.externalId) return { html: link(q({ system: e.system, id: e.externalId, entity: e.entity }), `${e.system} ${e.externalId}`, ' class="mono"') };
	return '–';
};

function conflictRows(conflicts: ConflictRecord[]): Cell[][] {
	return conflicts.map((c) => [
		num(c.id),
		c.createdAt,
		c.kind,
		c.entity,
		recordLink({ entity: c.entity, key: c.key, system: c.system, externalId: c.externalId }),
		c.system,
		c.fields.join(', '),
		{
			html: c.competing
				.map((v) => `<div><span class="muted">${esc(v.role)} · ${esc(v.system)}${v.field ? ` · ${esc(v.field)}` : ''}${v.at ? ` · ${esc(v.at)}` : ''}:</span> <code>${esc(show(v.value))}</code></div>`)
				.join(''),
		},
	]);
}

/** How long logs are kept: the last Purge's retention, and the oldest audit entry still kept. */
function retentionLine(overview: SyncOverview): string {
	const r = overview.retention;
	const kept = r.retentionDays === null ? 'Logs are kept until a Purge runs (none has run yet)' : `Logs kept ${r.retentionDays} days (last purge ${r.lastPurgeAt})`;
	return `<p class="muted" data-retention>${esc(kept)}; oldest entry kept: ${esc(r.oldestAuditAt ?? 'none')}.</p>`;
}

export function renderDashboard(overview: SyncOverview): string {
	const notSynced24 = overview.notSynced.filter((n) => n.kind !== 'skipped').reduce((s, n) => s + n.last24h, 0);
	const written48 = overview.hourly.reduce((s, b) => s + b.written, 0);
	const lastRun = overview.runs[0];
	const tiles = [
		['Health', { html: badge(overview.health) }, 'sync'],
		['Written, last 48 h', written48, 'written48h'],
		['Did not sync, last 24 h', notSynced24, 'notSynced24h'],
		['Open conflicts', overview.openConflicts, 'openConflicts'],
		['Run time p50 / p95', `${duration(overview.durations.p50)} / ${duration(overview.durations.p95)}`, 'durations'],
		['Last run', lastRun ? lastRun.startedAt : 'never', 'lastRun'],
	]
		.map(([label, value, id]) => `<div class="tile" data-tile="${esc(id)}"><div class="value">${cell(value)}</div><div class="label">${esc(label)}</div></div>`)
		.join('');
	const notSyncedSum = overview.notSynced.filter((n) => n.kind !== 'skipped');
	const alert = notSynced24
		? `<div class="alert" data-alert="not-synced"><strong>${notSynced24} change${notSynced24 === 1 ? '' : 's'} did not sync in the last 24 hours</strong>: ${notSyncedSum
				.filter((n) => n.last24h > 0)
				.map((n) => `${n.last24h} ${esc(n.kind)} (${esc(n.reason)}) from/to ${esc(n.system)}`)
				.join(', ')}. See <a href="#not-synced">Did not sync</a>.</div>`
		: '';
	const hourLabel = (s: string) => `${s.slice(11, 13)}h`;
	const dayLabel = (s: string) => s.slice(5, 10);
	return page(
		`DataSync · ${overview.sync}`,
		overview.sync,
		overview.generatedAt,
		`<div class="tiles">${tiles}</div>
${alert}
<p class="rule" data-rule><strong>Health rule.</strong> ${esc(overview.rule)}.</p>
${retentionLine(overview)}
<h2>Systems</h2>
${table(
	['Health', 'System', 'Entity', 'Received', 'Created', 'Updated', 'Deleted', 'Write errors', 'Invalid', 'Blocked', 'Skipped', 'Compressed', 'Open conflicts', 'Last sync', 'Last success', 'Cursor behind'],
	overview.targets.map(targetRow),
	' id="targets"',
	'No system has synced yet.',
)}
<p class="muted">Counts of the last 30 days. Received: changes read from that system; created / updated / deleted: writes to it; write errors: failed write attempts to it (a record tried again counts once per try); invalid: refused by a Mapper; blocked: stopped by the Loop Guard; skipped: no change to make (echo, no-op, stale); compressed: changes merged into a later change of the same record by the Loop Guard's Change Compression (they reached the target with it).</p>
<h2 id="not-synced">Did not sync</h2>
${table(
	['What', 'Reason', 'System', 'Entity', 'Last 24 h', 'Last 30 days'],
	overview.notSynced.map((n) => [n.kind, n.reason, n.system, n.entity, num(n.last24h), num(n.last30d)]),
	' id="not-synced-counts"',
	'Every change synced.',
)}
<h3>Latest records that did not sync</h3>
${table(
	['Time', 'Run', 'System', 'Entity', 'Record', 'Why'],
	overview.recentFailures.map((e) => [e.at, e.runId ? { html: link(q({ run: e.runId }), e.runId, ' class="mono"') } : '–', e.system ?? '', e.entity, recordLink(e), e.error ?? e.outcome]),
	' id="recent-failures"',
	'None.',
)}
<h2>Volume</h2>
${volumeChart(overview.hourly, { title: 'Per hour, last 48 hours', label: hourLabel, every: 4, id: 'chart-hourly' })}
${volumeChart(overview.daily, { title: 'Per day, last 30 days', label: dayLabel, every: 3, id: 'chart-daily' })}
<h2>Latest runs</h2>
${table(
	['Run', 'Started', 'Duration', 'Received', 'Created', 'Updated', 'Deleted', 'Skipped', 'Conflicts', 'Written', 'Write errors', 'Did not sync'],
	overview.runs.map((r) => [
		{ html: link(q({ run: r.runId }), r.runId, ' class="mono"') },
		r.startedAt,
		duration(r.durationMs),
		num(r.metrics.received),
		num(r.metrics.created),
		num(r.metrics.updated),
		num(r.metrics.deleted),
		num(r.metrics.skipped),
		num(r.metrics.conflicts),
		num(r.metrics.written),
		num(r.metrics.failed),
		num(r.notSynced),
	]),
	' id="runs"',
	'No run yet.',
)}
<h2>Conflict queue (${overview.openConflicts} open)</h2>
${table(['ID', 'Opened', 'Kind', 'Entity', 'Record', 'System', 'Fields', 'Competing values'], conflictRows(overview.conflicts), ' id="conflicts"', 'No open conflict.')}
<h2>Record history</h2>
<form method="get"><label>Golden record key <input name="record" size="38"></label><button type="submit">Show</button></form>
<form method="get"><label>System <input name="system" size="10"></label><label>ID there <input name="id" size="14"></label><button type="submit">Show</button></form>`,
	);
}

function auditRows(entries: AuditEntry[], withRun: boolean): Cell[][] {
	return entries.map((e) => [
		e.at,
		...(withRun ? [e.runId ? { html: link(q({ run: e.runId }), e.runId, ' class="mono"') } : '–'] : []),
		e.action,
		{ html: `<span class="badge ${e.outcome === 'ok' ? 'ok' : e.outcome === 'failed' ? 'failing' : 'stale'}">${esc(e.outcome)}</span>` },
		e.system ?? '',
		e.entity,
		recordLink(e),
		e.externalId ?? '',
		e.actor ?? '',
		e.error ?? '',
		{ html: e.after ? `<code>${esc(clip(JSON.stringify(e.after)))}</code>` : '' },
	]);
}

const clip = (text: string, max = 240) => (text.length > max ? `${text.slice(0, max)}…` : text);

export function renderRunLog(log: RunLog, generatedAt: string): string {
	const r = log.run;
	const summary = r
		? table(
				['Run', 'Started', 'Finished', 'Duration', 'Received', 'Created', 'Updated', 'Deleted', 'Skipped', 'Conflicts', 'Written', 'Write errors'],
				[[r.runId, r.startedAt, r.finishedAt ?? '–', duration(r.durationMs), num(r.metrics.received), num(r.metrics.created), num(r.metrics.updated), num(r.metrics.deleted), num(r.metrics.skipped), num(r.metrics.conflicts), num(r.metrics.written), num(r.metrics.failed)]],
				' id="run-summary"',
			)
		: '<p class="empty">No run with this id in the store (its records may still be in the audit below).</p>';
	return page(
		`Run ${log.runId}`,
		log.sync,
		generatedAt,
		`<h2>Run <span class="mono">${esc(log.runId)}</span></h2>
${summary}
<h2>Every record this run touched (${log.entries.length}${log.truncated ? ', first ones only' : ''})</h2>
${table(['Time', 'Action', 'Outcome', 'System', 'Entity', 'Record', 'ID there', 'Actor', 'Detail', 'Values'], auditRows(log.entries, false), ' id="run-log"', 'This run touched no record.')}`,
	);
}

export function renderRecordHistory(history: RecordHistory, generatedAt: string): string {
	const what = history.query.key ? `golden record ${history.query.key}` : `${history.query.system} record ${history.query.id}`;
	const records = history.records
		.map((rec) => {
			const g = rec.golden;
			const fields = g ? Object.entries(g.data).map(([k, v]) => [k, show(v), g.fields[k]?.system ?? '', g.fields[k]?.at ?? '']) : [];
			return `<h3>${esc(g ? `${g.entity} ${g.key}` : 'Golden record')} ${g ? `<span class="muted">version ${esc(g.version)}${g.deleted ? ' · deleted' : ''} · updated ${esc(g.updatedAt)}</span>` : ''}</h3>
${g ? table(['Field', 'Value', 'Set by', 'At'], fields, ' class="golden"') : '<p class="empty">No golden record (not linked, or refused before it reached the store).</p>'}
${table(['System', 'ID there', 'Last written', 'Source version'], rec.links.map((l) => [l.system, l.externalId, l.writtenAt ?? '–', l.sourceAt ?? '–']), ' class="links"', 'No link.')}
${rec.conflicts.length ? `<h3>Conflicts</h3>${table(['ID', 'Opened', 'Kind', 'Entity', 'Record', 'System', 'Fields', 'Competing values'], conflictRows(rec.conflicts), ' class="record-conflicts"')}` : ''}`;
		})
		.join('\n');
	return page(
		`History of ${what}`,
		history.sync,
		generatedAt,
		`<h2>History of ${esc(what)}</h2>
${records || '<p class="empty">The store knows no golden record for this.</p>'}
<h2>Field changes (${history.changes.length})</h2>
${table(
	['Time', 'Field', 'Before', 'After', 'System', 'Actor', 'Action', 'Outcome', 'Run'],
	history.changes.map((c) => [
		c.at,
		c.field,
		{ html: `<code>${esc(show(c.before))}</code>` },
		{ html: `<code>${esc(show(c.after))}</code>` },
		c.system ?? '',
		c.actor ?? '',
		c.action,
		c.outcome,
		c.runId ? { html: link(q({ run: c.runId }), c.runId, ' class="mono"') } : '–',
	]),
	' id="field-changes"',
	'No field change recorded.',
)}
<h2>Every operation (${history.entries.length})</h2>
${table(['Time', 'Run', 'Action', 'Outcome', 'System', 'Entity', 'Record', 'ID there', 'Actor', 'Detail', 'Values'], auditRows(history.entries, true), ' id="record-audit"', 'Nothing recorded.')}`,
	);
}

/** A Prometheus label value: backslash, double quote and newline escaped. */
function label(value: string): string {
	return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function labels(pairs: Record<string, string>): string {
	return `{${Object.entries(pairs)
		.map(([k, v]) => `${k}="${label(v)}"`)
		.join(',')}}`;
}

/**
 * The overview as Prometheus text (exposition format 0.0.4): counters over the volume table's retained
 * days (a purge of old days shows as a counter reset, which rate() and increase() handle), gauges for
 * health, lag, last success and open conflicts.
 */
export function renderPrometheus(overview: SyncOverview): string {
	const out: string[] = [];
	const metric = (name: string, type: 'counter' | 'gauge', help: string, samples: Array<[Record<string, string>, number]>) => {
		out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
		for (const [l, v] of samples) out.push(`${name}${labels(l)} ${Number.isFinite(v) ? v : 0}`);
	};
	const s = overview.sync;
	const base = (t: TargetHealth) => ({ sync: s, system: t.system, entity: t.entity });
	metric('datasync_changes_received_total', 'counter', 'Changes read from a source system (last 30 days).', overview.targets.map((t) => [base(t), t.received]));
	metric(
		'datasync_records_written_total',
		'counter',
		'Records written to a target system, by operation (last 30 days).',
		overview.targets.flatMap((t) => (['created', 'updated', 'deleted'] as const).map((op) => [{ ...base(t), operation: op }, t[op]] as [Record<string, string>, number])),
	);
	metric(
		'datasync_records_not_synced_total',
		'counter',
		'Changes that did not sync, by kind (invalid, blocked, failed, skipped) and reason (last 30 days).',
		overview.notSynced.map((n) => [{ sync: s, system: n.system, entity: n.entity, kind: n.kind, reason: n.reason }, n.last30d]),
	);
	metric('datasync_changes_compressed_total', 'counter', "Changes merged into a later change of the same record by the Loop Guard's Change Compression (last 30 days).", overview.targets.filter((t) => t.compressed > 0).map((t) => [base(t), t.compressed]));
	metric('datasync_write_errors_total', 'counter', 'Failed writes to a target system since the store was created.', overview.targets.filter((t) => t.writtenTotal + t.failedTotal > 0).map((t) => [base(t), t.failedTotal]));
	metric('datasync_open_conflicts', 'gauge', 'Open conflicts waiting for review.', overview.targets.map((t) => [base(t), t.openConflicts]));
	metric(
		'datasync_health',
		'gauge',
		'1 for the health state of a system and entity (ok, stale, failing), 0 for the others.',
		overview.targets.flatMap((t) => (['ok', 'stale', 'failing'] as const).map((state) => [{ ...base(t), state }, t.health === state ? 1 : 0] as [Record<string, string>, number])),
	);
	metric(
		'datasync_last_success_timestamp_seconds',
		'gauge',
		'Unix time of the last successful write to or committed read of a system.',
		overview.targets.filter((t) => t.lastSuccessAt).map((t) => [base(t), Math.floor(Date.parse(t.lastSuccessAt!) / 1000)]),
	);
	metric(
		'datasync_cursor_lag_seconds',
		'gauge',
		"How far a source's committed cursor is behind now.",
		overview.targets.filter((t) => t.cursorLagSeconds !== null).map((t) => [base(t), t.cursorLagSeconds!]),
	);
	metric(
		'datasync_run_duration_seconds',
		'gauge',
		'Duration of the latest runs, by quantile.',
		[
			...(overview.durations.p50 === null ? [] : [[{ sync: s, quantile: '0.5' }, overview.durations.p50 / 1000] as [Record<string, string>, number]]),
			...(overview.durations.p95 === null ? [] : [[{ sync: s, quantile: '0.95' }, overview.durations.p95 / 1000] as [Record<string, string>, number]]),
		],
	);
	const last = overview.runs[0];
	metric('datasync_last_run_timestamp_seconds', 'gauge', 'Unix time the latest run started.', last ? [[{ sync: s }, Math.floor(Date.parse(last.startedAt) / 1000)]] : []);
	return `${out.join('\n')}\n`;
}
