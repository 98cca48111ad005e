/**
 * Finding a run in the sync store by n8n's execution id. Our nodes' run id is `<execution id>-<when the
 * execution started, base 36>` (nodes/shared/run-id.ts), so that a new n8n database, whose execution ids
 * start at 1 again, never meets the runs of an old one as its own: a test asks the store which run ids
 * belong to an execution instead of taking the execution id for the run id.
 */
import type { AuditEntry, AuditQuery, Store } from '../../lib/engine';

/** The run ids the store holds for n8n execution `executionId` (several only if two n8n databases gave the same id). */
export async function runIdsOfExecution(store: Store, executionId: string | number): Promise<string[]> {
	const like = `${String(executionId)}-%`;
	const rows = await store.driver.all(
		`SELECT run_id FROM run WHERE run_id LIKE ?
		UNION SELECT run_id FROM audit WHERE run_id LIKE ?
		UNION SELECT run_id FROM planned_change WHERE run_id LIKE ?
		UNION SELECT run_id FROM delivery WHERE run_id LIKE ?`,
		[like, like, like, like],
	);
	return rows.map((r) => String(r.run_id)).sort();
}

/** The one run id of n8n execution `executionId`; fails when the store has none or several. */
export async function runIdOfExecution(store: Store, executionId: string | number): Promise<string> {
	const ids = await runIdsOfExecution(store, executionId);
	if (ids.length !== 1) throw new Error(`execution ${String(executionId)}: ${ids.length} run ids in the store (${ids.join(', ')}), expected one`);
	return ids[0];
}

/** The audit entries of every run of n8n execution `executionId` (none when it reached no node that records). */
export async function auditOfExecution(store: Store, executionId: string | number, query: Omit<AuditQuery, 'runId'> = {}): Promise<AuditEntry[]> {
	const entries: AuditEntry[] = [];
	for (const runId of await runIdsOfExecution(store, executionId)) entries.push(...(await store.audit({ ...query, runId })));
	return entries;
}
