/**
 * What the template acceptance tests share: importing a template file from workflows/ with the test's
 * credentials, tables and webhook paths swapped in (as a user edits them after import), running a trigger
 * of a published workflow on demand (the editor's "Execute workflow" through n8n's REST API), signed
 * webhook calls, and counting what the write nodes wrote across every execution.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { signWebhook } from '../../lib/connectors/webhook/signature';
import type { MariaDbTestDatabase, PgTestDatabase } from '../helpers/services';
import { REPO_ROOT, type Execution, type N8nInstance, type WebhookResponse } from './harness';

type Json = Record<string, unknown>;

export interface TemplateNode {
	id: string;
	name: string;
	type: string;
	typeVersion: number;
	position: [number, number];
	parameters: Json;
	credentials?: Record<string, { id: string; name: string }>;
	webhookId?: string;
}

export interface TemplateWorkflow {
	name: string;
	nodes: TemplateNode[];
	connections: Json;
	settings: Json;
}

export interface TemplateSwaps {
	/** Credential name in the template → the credential made for the test. */
	credentials: Record<string, { id: string; name: string }>;
	/** Table name in the template → the test's table. */
	tables?: Record<string, string>;
	/** Webhook path in the template → the test's path. */
	paths?: Record<string, string>;
	/** Any further parameter changes, per node name. */
	parameters?: Record<string, Json>;
	/** The workflow's name in n8n. */
	name?: string;
	/** Last changes to the workflow (after the swaps above). */
	patch?: (workflow: TemplateWorkflow) => void;
}

/** A node of a workflow by name (throws when missing). */
export function nodeNamed(workflow: TemplateWorkflow, name: string): TemplateNode {
	const node = workflow.nodes.find((n) => n.name === name);
	if (!node) throw new Error(`workflow "${workflow.name}" has no node "${name}"`);
	return node;
}

/** A template as shipped: workflows/<name>.json. */
export function readTemplate(name: string): TemplateWorkflow {
	return JSON.parse(readFileSync(join(REPO_ROOT, 'workflows', `${name}.json`), 'utf8')) as TemplateWorkflow;
}

/**
 * The template with the test's credentials, tables and paths. Schedule Triggers get a rule that never
 * fires while a test runs (once a year): the tests run the poll on demand instead, so no timer races them.
 */
export function swapTemplate(template: TemplateWorkflow, swaps: TemplateSwaps): TemplateWorkflow {
	const wf = structuredClone(template);
	for (const node of wf.nodes) {
		for (const [type, ref] of Object.entries(node.credentials ?? {})) {
			const mine = swaps.credentials[ref.name];
			if (!mine) throw new Error(`template "${template.name}": no test credential for "${ref.name}" (node "${node.name}")`);
			node.credentials![type] = mine;
		}
		const p = node.parameters;
		if (typeof p.table === 'string' && swaps.tables?.[p.table]) p.table = swaps.tables[p.table];
		if (typeof p.path === 'string' && swaps.paths) {
			if (!(p.path in swaps.paths)) throw new Error(`template "${template.name}": no test path for "${p.path}" (node "${node.name}")`);
			p.path = swaps.paths[p.path];
		}
		if (node.webhookId) node.webhookId = randomUUID();
		if (node.type === 'n8n-nodes-base.scheduleTrigger') p.rule = { interval: [{ field: 'cronExpression', expression: '0 0 1 1 *' }] };
		Object.assign(p, swaps.parameters?.[node.name] ?? {});
	}
	if (swaps.name) wf.name = swaps.name;
	swaps.patch?.(wf);
	return wf;
}

/** Imports (public API) and publishes a template; returns the workflow id. */
export async function importTemplate(n8n: N8nInstance, name: string, swaps: TemplateSwaps): Promise<string> {
	const wf = swapTemplate(readTemplate(name), swaps);
	const created = await n8n.createWorkflow(wf as unknown as Json);
	await n8n.publish(created.id);
	return created.id;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The audit actions of a write that Store Commit recorded ("write"; older stores said create / update / delete). */
export const WRITE_ACTIONS: string[] = ['write', 'create', 'update', 'delete'];

/**
 * The credentials the A ↔ B templates name, made in `n8n`: the store (its credential data as given),
 * System A (database `pg`, Postgres), System B (database `maria`, MariaDB) and the webhook secrets of A and B.
 */
export async function systemCredentials(
	n8n: N8nInstance,
	store: Record<string, unknown>,
	pg: PgTestDatabase,
	maria: MariaDbTestDatabase,
	secrets: { a: string; b: string },
): Promise<Record<string, { id: string; name: string }>> {
	const sql = { dialect: 'postgres', host: pg.config.host, port: pg.config.port, database: pg.config.database, user: pg.config.user, password: pg.config.password, ssl: 'disable' };
	return {
		'DataSync store': await n8n.createCredential('dataSyncStoreApi', 'Test store', store),
		'System A (CRM database)': await n8n.createCredential('dataSyncSqlApi', 'Test CRM', sql),
		'System B (ERP database)': await n8n.createCredential('dataSyncSqlApi', 'Test ERP', { ...sql, dialect: 'mysql', ...maria.config }),
		'Webhook secret: System A': await n8n.createCredential('dataSyncWebhookApi', 'Test CRM secret', { secret: secrets.a }),
		'Webhook secret: System B': await n8n.createCredential('dataSyncWebhookApi', 'Test ERP secret', { secret: secrets.b }),
	};
}

/** Imports bidirectional-contacts with these credentials, the test's two tables and its two webhook paths. */
export async function importBidirectional(
	n8n: N8nInstance,
	credentials: Record<string, { id: string; name: string }>,
	tables: { crm: string; erp: string },
	paths: { crm: string; erp: string },
): Promise<string> {
	return await importTemplate(n8n, 'bidirectional-contacts', {
		credentials,
		tables: { crm_contacts: tables.crm, erp_contacts: tables.erp },
		paths: { 'datasync/crm/contact': paths.crm, 'datasync/erp/contact': paths.erp },
	});
}

/**
 * Runs a workflow from one of its triggers, as "Execute workflow" in the editor does (POST
 * /rest/workflows/:id/run with triggerToStartFrom), and waits for the execution to finish.
 */
export async function runFromTrigger(n8n: N8nInstance, workflowId: string, trigger: string, timeoutMs = 60_000): Promise<Execution> {
	const started = await n8n.rest<{ data: { executionId?: string; waitingForWebhook?: boolean } }>('POST', `/rest/workflows/${workflowId}/run`, {
		triggerToStartFrom: { name: trigger },
	});
	const id = started.data.executionId;
	if (!id) throw new Error(`running "${trigger}" of workflow ${workflowId} started no execution: ${JSON.stringify(started)}`);
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		try {
			const execution = await n8n.execution(id);
			if (execution.finished || (execution.status && !['running', 'new', 'waiting'].includes(execution.status))) return execution;
		} catch {
			// not saved yet
		}
		if (Date.now() > deadline) throw new Error(`execution ${id} (trigger "${trigger}") did not finish within ${timeoutMs} ms\n${n8n.logTail()}`);
		await sleep(200);
	}
}

/**
 * The sub-workflow executions a run page by page started (the Refresh's and the night's pages: each page an
 * execution of the same workflow, mode "integrated"), oldest first, with their data.
 */
export async function pagesOf(n8n: N8nInstance, workflowId: string, parent: Execution): Promise<Execution[]> {
	const until = parent.stoppedAt ? Date.parse(parent.stoppedAt) : Infinity;
	const list = (await n8n.executions(workflowId)).filter((e) => e.mode === 'integrated' && Number(e.id) > Number(parent.id) && Date.parse(e.startedAt) <= until);
	const full = await Promise.all(list.map((e) => n8n.execution(e.id)));
	// n8n names the calling execution in each sub-execution's data.
	return full.filter((e) => {
		const from = (e.data as { parentExecution?: { executionId?: string } } | undefined)?.parentExecution?.executionId;
		return from === undefined || String(from) === String(parent.id);
	});
}

/** POSTs a change to a DataSync Trigger, signed as a system would sign it. */
export async function signedPost(n8n: N8nInstance, path: string, secret: string, body: unknown): Promise<WebhookResponse> {
	const raw = JSON.stringify(body);
	const ts = String(Math.floor(Date.now() / 1000));
	return await n8n.webhook(path, undefined, {
		raw,
		headers: { 'x-datasync-timestamp': ts, 'x-datasync-signature': `sha256=${signWebhook(secret, ts, raw)}` },
	});
}

/** The items a node emitted on one output in one execution (last run of the node). */
export function outputOf(execution: Execution, node: string, output = 0): Json[] {
	const tasks = execution.data?.resultData.runData[node] ?? [];
	return tasks.flatMap((t) => (t.data?.main?.[output] ?? []).map((i) => i.json));
}

/** Every item a write node emitted over all the given executions (one per record written). */
export function written(executions: Execution[], nodes: string[]): Array<Json & { execution: string; node: string }> {
	return executions.flatMap((e) => nodes.flatMap((node) => outputOf(e, node).map((json) => ({ ...json, execution: e.id, node }))));
}

/** The error of an execution, if any, with the node that failed: for assertion messages. */
export function failure(execution: Execution): string | undefined {
	const error = execution.data?.resultData.error;
	if (!error) return undefined;
	return `${execution.data?.resultData.lastNodeExecuted ?? '?'}: ${error.message} ${error.description ?? ''}`;
}

/**
 * Waits until `check` holds (it returns true, or a value that is not false/undefined), polling with a
 * deadline; throws with `what` and the last value seen.
 */
export async function eventually<T>(what: string, check: () => Promise<T | false | undefined>, timeoutMs = 20_000): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	let last: unknown;
	for (;;) {
		try {
			const value = await check();
			if (value !== false && value !== undefined) return value;
			last = value;
		} catch (error) {
			last = error;
		}
		if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
		await sleep(150);
	}
}
