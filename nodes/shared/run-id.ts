/**
 * The run id: what the sync store tells one execution's work apart by (planned changes, run cursors, run
 * metrics, the audit). The Conflict Resolver plans under it, Commit pairs the writes under it, and the
 * Database, HTTP API and Mapper nodes put it in `trace.runId`.
 */
import type { IExecuteFunctions } from 'n8n-workflow';

/**
 * `<n8n execution id>-<when the execution started, ms in base 36>`, e.g. `1234-mgx3k9ab`.
 *
 * n8n numbers its executions from 1 again in a new n8n database (a new user folder, a fresh Postgres),
 * while the sync store lives on: the execution id alone would make a new execution meet the planned
 * changes and saved cursors of a dead one of the old database as its own. n8n sets the start time once per
 * execution (the execution context's `establishedAt`, n8n-core `establishExecutionContext`) and saves it
 * with the execution, so every node of one execution gets the same run id, on a queue-mode worker too and
 * after a Wait node resumes it. The execution id stays in front, so the dashboard's runs are easy to find
 * in n8n's execution list. Without an execution context (an n8n that has none) the run id is the
 * execution id alone.
 */
export function runIdOf(ctx: Pick<IExecuteFunctions, 'getExecutionId'> & Partial<Pick<IExecuteFunctions, 'getExecutionContext'>>): string {
	const id = ctx.getExecutionId();
	const context = typeof ctx.getExecutionContext === 'function' ? ctx.getExecutionContext() : undefined;
	const at = context?.establishedAt;
	const started = typeof at === 'number' && Number.isFinite(at) && at > 0 ? Math.trunc(at).toString(36) : undefined;
	if (id) return started ? `${String(id)}-${started}` : String(id);
	// n8n gives every execution an id; only a bare in-process run may lack one.
	return started ? `run-${started}` : `run-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

