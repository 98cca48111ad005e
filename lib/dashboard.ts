/**
 * The status dashboard: one self-contained HTML page (no scripts, no external assets) from a sync's
 * overview, to serve with Respond to Webhook. Every value is escaped.
 */
import type { SyncOverview } from './engine';

function esc(value: unknown): string {
	return String(value ?? '')
		.replace(/&/g, '&amp;')
		.replace(/</g, '&lt;')
		.replace(/>/g, '&gt;')
		.replace(/"/g, '&quot;')
		.replace(/'/g, '&#39;');
}

function table(headers: string[], rows: unknown[][]): string {
	if (rows.length === 0) return '<p class="empty">Nothing yet.</p>';
	const head = headers.map((h) => `<th>${esc(h)}</th>`).join('');
	const body = rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('\n');
	return `<table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

export function renderDashboard(overview: SyncOverview, now = new Date()): string {
	const totals = overview.runs.reduce(
		(t, r) => ({
			received: t.received + r.metrics.received,
			written: t.written + r.metrics.written,
			failed: t.failed + r.metrics.failed,
			conflicts: t.conflicts + r.metrics.conflicts,
		}),
		{ received: 0, written: 0, failed: 0, conflicts: 0 },
	);
	const lastRun = overview.runs[0];
	const tiles = [
		['Open conflicts', overview.openConflicts],
		['Changes received (last runs)', totals.received],
		['Records written (last runs)', totals.written],
		['Write errors (last runs)', totals.failed],
		['Last run', lastRun ? lastRun.startedAt : 'never'],
	]
		.map(([label, value]) => `<div class="tile"><div class="value">${esc(value)}</div><div class="label">${esc(label)}</div></div>`)
		.join('');
	return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>DataSync · ${esc(overview.sync)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,sans-serif;margin:2rem;color:#1f2937;background:#f8fafc}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem}
.tiles{display:flex;gap:1rem;flex-wrap:wrap}.tile{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:1rem;min-width:10rem}
.value{font-size:1.5rem;font-weight:600}.label{color:#6b7280;font-size:.85rem}
table{border-collapse:collapse;background:#fff;width:100%}th,td{border:1px solid #e5e7eb;padding:.4rem .6rem;text-align:left;font-size:.9rem}
th{background:#f1f5f9}.empty{color:#6b7280}
</style></head>
<body>
<h1>DataSync status · sync “${esc(overview.sync)}”</h1>
<p>As of ${esc(now.toISOString())}</p>
<div class="tiles">${tiles}</div>
<h2>Targets</h2>
${table(
	['System', 'Entity', 'Written', 'Failed', 'Last success', 'Last failure', 'Last run'],
	overview.systems.map((s) => [s.system, s.entity, s.written, s.failed, s.lastSuccessAt ?? '', s.lastFailureAt ?? '', s.lastRunId ?? '']),
)}
<h2>Cursors (committed position of each source)</h2>
${table(
	['System', 'Entity', 'Timestamp', 'Last id', 'Committed at'],
	overview.cursors.map((c) => [c.system, c.entity, c.cursor.ts, c.cursor.id, c.updatedAt]),
)}
<h2>Latest runs</h2>
${table(
	['Run', 'Started', 'Duration (ms)', 'Received', 'Created', 'Updated', 'Deleted', 'Skipped', 'Conflicts', 'Written', 'Failed'],
	overview.runs.map((r) => [
		r.runId,
		r.startedAt,
		r.durationMs ?? '',
		r.metrics.received,
		r.metrics.created,
		r.metrics.updated,
		r.metrics.deleted,
		r.metrics.skipped,
		r.metrics.conflicts,
		r.metrics.written,
		r.metrics.failed,
	]),
)}
</body></html>
`;
}
