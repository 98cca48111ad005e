import {
	NodeConnectionTypes,
	NodeOperationError,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

import { commit, findDeletes, recordHistory, recordInvalid, resolveConflict, rollback, runLog, status, type ConflictChoice, type RollbackTarget, type Store, type WriteResult } from '../../lib/engine';
import { renderDashboard, renderPrometheus, renderRecordHistory, renderRunLog } from '../../lib/dashboard';
import { checkAlerts, purgeWithAlerts, type AlertKind } from '../../lib/engine/alerts';
import { pairWriteResults, type PairedOutput } from '../../lib/engine/paired-results';
import { engineError, listParameter, readSyncItems, runIdOf, storeOf, STORE_CREDENTIAL, testStoreCredential } from '../shared/engine-node';
import { storeProperties } from './description';

/**
 * The sync store's face in a workflow: Commit after the writes (links, bases, hashes, cursors, audit, run
 * metrics), Status and its dashboard, Audit, Conflicts (list and resolve), Alerts and Purge. Thin shell over
 * lib/engine; each operation is one store transaction or one read.
 */
export class DataSyncStore implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'DataSync Store',
		name: 'dataSyncStore',
		icon: { light: 'file:store.svg', dark: 'file:store.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{$parameter["operation"] + " · " + $parameter["sync"]}}',
		description: 'Commit synced writes and read status, audit and conflicts of the central sync store',
		defaults: { name: 'DataSync Store' },
		inputs: [NodeConnectionTypes.Main],
		// Commit has a second output: writes refused as stale that are planned again at once (wire it back
		// into the write path). The other operations have one.
		// Rollback has two: the changes to write (to the From canonical Mapper), and the report of every change.
		outputs: `={{ $parameter.operation === "commit" ? [{ "type": "main", "displayName": "Committed" }, { "type": "main", "displayName": "Retry stale writes" }] : $parameter.operation === "rollback" ? [{ "type": "main", "displayName": "Changes to write" }, { "type": "main", "displayName": "Report" }] : [{ "type": "main" }] }}`,
		credentials: [{ name: STORE_CREDENTIAL, required: true, testedBy: 'dataSyncStoreTest' }],
		properties: storeProperties,
	};

	methods = { credentialTest: { dataSyncStoreTest: testStoreCredential } };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const input = this.getInputData();
		const operation = this.getNodeParameter('operation', 0) as string;
		const sync = (this.getNodeParameter('sync', 0) as string).trim();
		const store = await storeOf(this);
		const all = input.map((_, i) => ({ item: i }));
		try {
			switch (operation) {
				case 'commit': {
					const runId = (this.getNodeParameter('runId', 0, '') as string).trim() || runIdOf(this);
					if (this.getNodeParameter('resultSource', 0, 'dataSync') === 'anyNode') return await commitNodeAnswers(this, store, input, sync, runId);
					const results = input.map((item) => item.json as unknown as WriteResult);
					const outcome = await commit(store, { sync, runId }, results);
					const { retries, ...summary } = outcome;
					return [
						[{ json: { sync, runId, ...summary, retried: retries.length } as unknown as IDataObject, pairedItem: all }],
						retries.map((item) => ({ json: item as unknown as IDataObject, pairedItem: all })),
					];
				}
				case 'status':
					return [[{ json: await statusPage(this, store, sync), pairedItem: all }]];
				case 'recordInvalid': {
					const runId = (this.getNodeParameter('runId', 0, '') as string).trim() || runIdOf(this);
					await recordInvalid(store, { sync, runId }, input.map((item) => item.json));
					return [input.map((item, i) => ({ json: item.json, pairedItem: { item: i } }))];
				}
				case 'audit': {
					const filters = this.getNodeParameter('auditFilters', 0, {}) as {
						entity?: string;
						key?: string;
						system?: string;
						runId?: string;
						since?: string;
					};
					const limit = this.getNodeParameter('limit', 0, 100) as number;
					const entries = await store.audit({ ...dropEmpty(filters), limit });
					return [entries.map((e) => ({ json: e as unknown as IDataObject, pairedItem: all }))];
				}
				case 'listConflicts': {
					const filters = this.getNodeParameter('conflictFilters', 0, {}) as { entity?: string; status?: 'open' | 'resolved'; key?: string };
					const limit = this.getNodeParameter('limit', 0, 100) as number;
					const conflicts = await store.listConflicts({ status: 'open', ...dropEmpty(filters), limit });
					return [conflicts.map((c) => ({ json: c as unknown as IDataObject, pairedItem: all }))];
				}
				case 'resolveConflict':
					return [await resolveConflicts(this, store, input, sync)];
				case 'findDeletes':
					return [await snapshotWithDeletes(this, store, input, sync)];
				case 'alerts': {
					const kinds = this.getNodeParameter('alertKinds', 0, []) as AlertKind[];
					const options = this.getNodeParameter('alertOptions', 0, {}) as {
						dashboardUrl?: string;
						groupWindowMinutes?: number;
						maxRecords?: number;
						staleMinutes?: number;
						subjectPrefix?: string;
					};
					const { alerts } = await checkAlerts(store, { sync, kinds, ...options });
					return [alerts.map((alert) => ({ json: alert as unknown as IDataObject, pairedItem: all }))];
				}
				case 'rollback':
					return await rollbackRun(this, store, sync);
				case 'purge': {
					const auditDays = this.getNodeParameter('retentionDays', 0, 30) as number;
					const purged = await purgeWithAlerts(store, { auditDays });
					return [[{ json: { sync, retentionDays: auditDays, purged } as unknown as IDataObject, pairedItem: all }]];
				}
				default:
					throw new NodeOperationError(this.getNode(), `Unknown operation "${operation}"`);
			}
		} catch (error) {
			throw engineError(this, error);
		}
	}
}

/**
 * Commit of an n8n node's answers ("Write Results From: Any n8n Node"): each input item is followed back
 * through n8n's paired items ($('Planned Changes Node').itemMatching(i), one data proxy for all items) to
 * the planned change it was written from; lib/engine/paired-results.ts makes the write results of the pairs.
 */
async function commitNodeAnswers(ctx: IExecuteFunctions, store: Store, input: INodeExecutionData[], sync: string, runId: string): Promise<INodeExecutionData[][]> {
	const plannedFrom = (ctx.getNodeParameter('plannedChangesNode', 0, '') as string).trim();
	if (plannedFrom === '') throw new NodeOperationError(ctx.getNode(), '"Planned Changes Node" must name the node the planned changes come from (the From canonical Mapper)');
	let matching: (index: number) => { json?: unknown } | undefined;
	try {
		const proxy = ctx.getWorkflowDataProxy(0);
		matching = (proxy.$(plannedFrom) as { itemMatching: typeof matching }).itemMatching;
	} catch (error) {
		throw new NodeOperationError(ctx.getNode(), `"Planned Changes Node" ${JSON.stringify(plannedFrom)}: ${(error as Error).message}`, {
			description: 'It must be a node before this one on the path of the writes, whose items the write node took: the From canonical Mapper.',
		});
	}
	const outputs: PairedOutput[] = input.map((item, i) => {
		try {
			const planned = matching(i);
			return { json: item.json, planned: planned && typeof planned === 'object' && 'json' in planned ? { json: planned.json } : { missing: 'n8n found no paired item' } };
		} catch (error) {
			return { json: item.json, planned: { missing: (error as Error).message } };
		}
	});
	const paired = pairWriteResults(outputs, {
		idField: ctx.getNodeParameter('resultIdField', 0, 'id') as string,
		updatedAtField: ctx.getNodeParameter('resultUpdatedAtField', 0, '') as string,
		plannedFrom,
	});
	let outcome;
	try {
		outcome = await commit(store, { sync, runId }, paired.results);
	} catch (error) {
		throw engineError(ctx, error, paired.indexes);
	}
	const { retries, ...summary } = outcome;
	const unmatched = [...paired.unpaired, ...summary.unmatched.map((u) => ({ index: paired.indexes[u.index], reason: u.reason }))].sort((a, b) => a.index - b.index);
	const all = input.map((_, i) => ({ item: i }));
	return [
		[{ json: { sync, runId, ...summary, unmatched, retried: retries.length } as unknown as IDataObject, pairedItem: all }],
		retries.map((item) => ({ json: item as unknown as IDataObject, pairedItem: all })),
	];
}

/**
 * Rollback: the engine plans it (lib/engine/rollback.ts); output 0 carries the changes to write (execute
 * only), output 1 one report item per record and system, with its status, before, now, after and reason.
 */
async function rollbackRun(ctx: IExecuteFunctions, store: Store, sync: string): Promise<INodeExecutionData[][]> {
	const all = ctx.getInputData().map((_, i) => ({ item: i }));
	const text = (name: string) => {
		const v = ctx.getNodeParameter(name, 0, '') as unknown;
		return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
	};
	const kind = ctx.getNodeParameter('rollbackTarget', 0, 'run') as string;
	const mode = ctx.getNodeParameter('rollbackMode', 0, 'dryRun') as string;
	if (mode !== 'dryRun' && mode !== 'execute') throw new NodeOperationError(ctx.getNode(), `Mode must be "dryRun" or "execute", got ${JSON.stringify(mode)}`);
	const options = ctx.getNodeParameter('rollbackOptions', 0, {}) as { deletePolicy?: 'propagate' | 'report'; entity?: string; matchKeys?: string };
	const target: RollbackTarget = { system: text('rollbackSystem'), entity: options.entity?.trim() || undefined };
	if (kind === 'run') {
		target.runId = text('rollbackRunId');
		if (!target.runId) throw new NodeOperationError(ctx.getNode(), 'Run ID: give the run to roll back (execution ID, a dash, its start, as on the dashboard)');
	} else if (kind === 'record') {
		target.key = text('rollbackKey');
		target.externalId = text('rollbackRecordId');
	} else {
		const at = (name: string) => {
			const v = text(name);
			if (v === undefined) return undefined;
			const t = Date.parse(v);
			if (Number.isNaN(t)) throw new NodeOperationError(ctx.getNode(), `${name === 'rollbackSince' ? 'Since' : 'Until'}: ${JSON.stringify(v)} is not a date-time`);
			return new Date(t).toISOString();
		};
		target.since = at('rollbackSince');
		target.until = at('rollbackUntil');
	}
	const matchKeys = listParameter(options.matchKeys ?? '');
	const result = await rollback(store, {
		sync,
		runId: runIdOf(ctx),
		target,
		execute: mode === 'execute',
		deletePolicy: options.deletePolicy,
		matchKeys: matchKeys.length ? matchKeys : undefined,
	});
	const report = result.changes.map((c) => ({ json: { sync, rollbackRunId: result.runId, dryRun: result.dryRun, ...c } as unknown as IDataObject, pairedItem: all }));
	return [result.items.map((item) => ({ json: item as unknown as IDataObject, pairedItem: all })), report];
}

/** Get Status: the overview, a run's log or a record's history (Page), as JSON, HTML or Prometheus text. */
async function statusPage(ctx: IExecuteFunctions, store: Store, sync: string): Promise<IDataObject> {
	const format = ctx.getNodeParameter('format', 0, 'json') as string;
	const view = dropEmpty(ctx.getNodeParameter('page', 0, {}) as { run?: string; record?: string; system?: string; id?: string; entity?: string });
	const text = (v: unknown) => (typeof v === 'string' ? v.trim() : v === undefined || v === null ? '' : String(v).trim());
	const run = text(view.run);
	const record = text(view.record);
	const system = text(view.system);
	const id = text(view.id);
	const entity = text(view.entity) || undefined;
	const generatedAt = store.clock().toISOString();
	if (format !== 'prometheus' && run) {
		const log = await runLog(store, sync, run);
		return format === 'html' ? { html: renderRunLog(log, generatedAt) } : (log as unknown as IDataObject);
	}
	if (format !== 'prometheus' && (record || (system && id))) {
		const history = await recordHistory(store, sync, record ? { key: record, entity } : { system, id, entity });
		return format === 'html' ? { html: renderRecordHistory(history, generatedAt) } : (history as unknown as IDataObject);
	}
	const rule = ctx.getNodeParameter('healthRule', 0, {}) as { staleMinutes?: number; failingRuns?: number };
	const overview = await status(store, sync, { runs: ctx.getNodeParameter('runs', 0, 20) as number, health: rule });
	if (format === 'html') return { html: renderDashboard(overview) };
	if (format === 'prometheus') return { text: renderPrometheus(overview), contentType: 'text/plain; version=0.0.4; charset=utf-8' };
	return overview as unknown as IDataObject;
}

function dropEmpty<T extends object>(filters: T): Partial<T> {
	return Object.fromEntries(Object.entries(filters).filter(([, v]) => v !== '' && v !== undefined && v !== null)) as Partial<T>;
}

/** Each input item settles one conflict; the changes it causes flow out, to be written and committed. */
async function resolveConflicts(ctx: IExecuteFunctions, store: Store, input: INodeExecutionData[], sync: string): Promise<INodeExecutionData[]> {
	const systems = listParameter(ctx.getNodeParameter('systems', 0));
	const priority = listParameter(ctx.getNodeParameter('priority', 0, ''));
	const runId = runIdOf(ctx);
	const out: INodeExecutionData[] = [];
	for (let i = 0; i < input.length; i++) {
		try {
			const id = Number(ctx.getNodeParameter('conflictId', i));
			const action = ctx.getNodeParameter('choice', i) as string;
			let choice: ConflictChoice;
			if (action === 'values') {
				const raw = ctx.getNodeParameter('values', i) as string | IDataObject;
				const values = typeof raw === 'string' ? (JSON.parse(raw) as Record<string, unknown>) : raw;
				choice = { values };
			} else if (action === 'link') {
				choice = { action, key: (ctx.getNodeParameter('linkKey', i) as string).trim() };
			} else {
				choice = { action: action as 'create' | 'apply' | 'dismiss' };
			}
			const reviewed = await resolveConflict(store, id, choice, {
				sync,
				runId,
				systems,
				policy: { kind: 'priority', priority: priority.length ? priority : systems },
			});
			for (const change of reviewed.changes) {
				out.push({ json: change.item as unknown as IDataObject, pairedItem: { item: i } });
			}
		} catch (error) {
			if (ctx.continueOnFail()) {
				out.push({ json: { error: (error as Error).message }, pairedItem: { item: i } });
				continue;
			}
			throw new NodeOperationError(ctx.getNode(), error as Error, { itemIndex: i });
		}
	}
	return out;
}

/** The snapshot passes on unchanged, followed by one delete item per linked record it lacks. */
async function snapshotWithDeletes(ctx: IExecuteFunctions, store: Store, input: INodeExecutionData[], sync: string): Promise<INodeExecutionData[]> {
	const entity = (ctx.getNodeParameter('entity', 0) as string).trim();
	const system = (ctx.getNodeParameter('system', 0) as string).trim();
	// An empty item is what Get Many gives with "Always Output Data" on an empty table: no record.
	const records = input.filter((item) => Object.keys(item.json).length > 0);
	const { items, indexes: recordIndexes, errors } = readSyncItems(ctx, records);
	const indexes = recordIndexes.map((i) => input.indexOf(records[i]));
	items.forEach((item, i) => {
		if (item.entity !== entity || item.system !== system) {
			throw new NodeOperationError(
				ctx.getNode(),
				`item ${indexes[i]} (${item.entity} / ${item.system} / ${item.id}): the snapshot must be of ${entity} in ${system} only`,
				{ itemIndex: indexes[i] },
			);
		}
	});
	const ids = items.filter((item) => item.id !== null).map((item) => item.id as string);
	const deletes = await findDeletes(store, { entity, system, sync, runId: runIdOf(ctx) }, ids);
	const all = input.map((_, i) => ({ item: i }));
	return [
		...indexes.map((i) => ({ json: input[i].json, pairedItem: { item: i } })),
		...errors,
		...deletes.map((item) => ({ json: item as unknown as IDataObject, pairedItem: all })),
	];
}
