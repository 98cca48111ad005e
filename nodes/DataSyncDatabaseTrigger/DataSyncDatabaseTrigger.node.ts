import {
	NodeConnectionTypes,
	NodeOperationError,
	type ICredentialsDecrypted,
	type ICredentialTestFunctions,
	type INodeCredentialTestResult,
	type INodeProperties,
	type INodeType,
	type INodeTypeDescription,
	type IRun,
	type ITriggerFunctions,
	type ITriggerResponse,
} from 'n8n-workflow';
import { randomUUID } from 'node:crypto';
import { testSqlCredential } from '../../lib/connectors/credential-tests';
import { installNotify, notifyInstalled, notifySql, parseNotice, PgListener } from '../../lib/connectors/sql/notify';
import { openStore, storeConfigFromCredentials } from '../../lib/engine';
import { ChangeFeed } from '../../lib/engine/feed';
import type { SyncItem } from '../../lib/item';
import { DataSyncDatabase } from '../DataSyncDatabase/DataSyncDatabase.node';
import { databaseContextOf, nodeError, type DatabaseContext } from '../DataSyncDatabase/actions/common';
import { changesProperties, readChangesPage, startCursor } from '../DataSyncDatabase/actions/getChanges.operation';
import { testStoreCredential } from '../shared/engine-node';

/** The table parameters, exactly as the DataSync Database node has them (same names, same meaning). */
const TABLE_PARAMETERS = ['entity', 'system', 'schema', 'table', 'idColumn', 'updatedAtColumn', 'softDeleteColumn', 'softDeleteKind', 'actorColumn'];
const READ_PARAMETERS = ['sync', 'pageSize', 'lookBackSeconds', 'start'];

const databaseProperties = new DataSyncDatabase().description.properties;
const pick = (all: INodeProperties[], names: string[]) => names.map((name) => all.find((p) => p.name === name)!).map((p) => ({ ...p }));

interface TriggerOptions {
	coalesceMs?: number;
	executionTimeoutSeconds?: number;
	maxRetrySeconds?: number;
}

/**
 * Real-time changes of a SQL table without touching the application in front of it. Postgres: a row
 * trigger NOTIFYs on insert, update and delete, and the node LISTENs; MySQL / MariaDB and SQLite have no
 * such thing: the node reads every few seconds. Either way a notification (or a tick) only says "there are
 * changes": the node reads the rows changed after the sync's cursor, the same read as Get Changes, and
 * emits the same DataSync items, so the rest of the flow is unchanged and nothing is missed after a lost
 * notification or a lost connection (see lib/engine/feed.ts).
 */
export class DataSyncDatabaseTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'DataSync Database Trigger',
		name: 'dataSyncDatabaseTrigger',
		icon: { light: 'file:dbtrigger.svg', dark: 'file:dbtrigger.dark.svg' },
		group: ['trigger'],
		version: 1,
		subtitle: '={{"changes in " + $parameter["table"]}}',
		description: "Start the sync when rows of a SQL table change: Postgres LISTEN/NOTIFY, or a read every few seconds for MySQL / MariaDB and SQLite",
		eventTriggerDescription: 'Waiting for a row of the table to change',
		defaults: { name: 'DataSync Database Trigger' },
		inputs: [],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{ name: 'dataSyncSqlApi', required: true, testedBy: 'dataSyncSqlTest' },
			{ name: 'dataSyncStoreApi', required: true, testedBy: 'dataSyncStoreTest' },
		],
		properties: [
			{
				displayName:
					'Postgres: the node listens for the notifications of a row trigger on the table. Turn on "Install Trigger Function" to let the node create it (it needs the right to create a trigger on the table), or run the SQL the node shows when it is missing (README, "DataSync Database Trigger"). MySQL / MariaDB and SQLite: the node reads the table every "Poll Interval" seconds. Either way it reads the rows changed after the sync\'s cursor, like Get Changes.',
				name: 'howNotice',
				type: 'notice',
				default: '',
			},
			...pick(databaseProperties, TABLE_PARAMETERS),
			...pick(changesProperties, READ_PARAMETERS),
			{
				displayName: 'Install Trigger Function (Postgres)',
				name: 'installTrigger',
				type: 'boolean',
				default: false,
				description:
					'Whether the node creates (or replaces) the trigger function and the row trigger on the table when the workflow is published. Off: the node checks they are there and, if not, its error shows the exact SQL to run.',
			},
			{
				displayName: 'Safety Read Every (Seconds, Postgres)',
				name: 'safetySeconds',
				type: 'number',
				typeOptions: { minValue: 0, maxValue: 86400 },
				default: 60,
				description: 'Also read after the cursor this often without a notification, and check the listening connection. 0 = off.',
			},
			{
				displayName: 'Poll Interval (Seconds, MySQL / SQLite)',
				name: 'pollSeconds',
				type: 'number',
				typeOptions: { minValue: 1, maxValue: 3600 },
				default: 5,
				description: 'How often the table is read for rows changed after the cursor',
			},
			{
				displayName: 'Options',
				name: 'options',
				type: 'collection',
				placeholder: 'Add option',
				default: {},
				options: [
					{
						displayName: 'Collect Notifications For (Ms)',
						name: 'coalesceMs',
						type: 'number',
						typeOptions: { minValue: 0, maxValue: 10000 },
						default: 20,
						description: 'Notifications arriving within this time make one read (and one execution)',
					},
					{
						displayName: 'Execution Timeout (Seconds)',
						name: 'executionTimeoutSeconds',
						type: 'number',
						typeOptions: { minValue: 1, maxValue: 3600 },
						default: 300,
						description:
							'The node waits for the execution it started to finish (its Commit moves the cursor) before it reads again; after this long it reads again anyway',
					},
					{
						displayName: 'Max Retry Wait (Seconds)',
						name: 'maxRetrySeconds',
						type: 'number',
						typeOptions: { minValue: 1, maxValue: 3600 },
						default: 30,
						description: 'Longest wait between attempts after a lost connection, a failed read or a failed execution (the wait doubles from 0.25 s)',
					},
				],
			},
		],
	};

	methods = {
		credentialTest: {
			async dataSyncSqlTest(this: ICredentialTestFunctions, credential: ICredentialsDecrypted): Promise<INodeCredentialTestResult> {
				return await testSqlCredential(credential.data);
			},
			dataSyncStoreTest: testStoreCredential,
		},
	};

	async trigger(this: ITriggerFunctions): Promise<ITriggerResponse> {
		const node = this.getNode();
		const parameter = (name: string, fallback: unknown) => this.getNodeParameter(name, fallback);
		const ctx: DatabaseContext = await databaseContextOf({
			parameter,
			credentials: async (name) => await this.getCredentials(name),
			node,
			runId: '',
		});
		const sync = String(parameter('sync', '')).trim();
		if (!sync) throw new NodeOperationError(node, 'Parameter "Sync Name" is empty');
		const start = parameter('start', {}) as { ts?: string; id?: string };
		try {
			startCursor(start);
		} catch (error) {
			throw new NodeOperationError(node, (error as Error).message);
		}
		const pageSize = Number(parameter('pageSize', 5000));
		const lookBackSeconds = Number(parameter('lookBackSeconds', 0)) || 0;
		const options = parameter('options', {}) as TriggerOptions;
		const manual = this.getMode() === 'manual';
		let store;
		try {
			store = await openStore(storeConfigFromCredentials(await this.getCredentials('dataSyncStoreApi')));
		} catch (error) {
			throw new NodeOperationError(node, error as Error, { description: 'Check the DataSync Store credential: the store could not be opened.' });
		}

		const read = async () => {
			const page = await readChangesPage({ ...ctx, runId: `db-trigger-${randomUUID()}` }, { sync, pageSize, store, start, lookBackSeconds });
			return { items: page.items, full: page.rows >= pageSize };
		};
		const deleteItem = (id: string, changedAt: string | undefined): SyncItem => ({
			entity: ctx.entity,
			system: ctx.system,
			id,
			op: 'delete',
			shape: 'system',
			data: {},
			...(changedAt ? { changedAt } : {}),
			trace: { runId: `db-trigger-${randomUUID()}`, origin: ctx.system, hops: 0, sync },
		});
		const timeoutMs = (Number(options.executionTimeoutSeconds) || 300) * 1000;
		/** Waits for executions still running; closing the trigger ends them (the executions go on in n8n). */
		const waiting = new Set<(why: 'closed') => void>();
		const emit = async (items: SyncItem[]): Promise<boolean> => {
			const data = [this.helpers.returnJsonArray(items as unknown as Array<Record<string, never>>)];
			if (manual) {
				this.emit(data);
				return true;
			}
			const done = deferred<IRun | undefined>();
			this.emit(data, undefined, done as unknown as Parameters<ITriggerFunctions["emit"]>[2]);
			let timer: NodeJS.Timeout | undefined;
			let settle: ((why: 'timeout' | 'closed') => void) | undefined;
			const waited = new Promise<'timeout' | 'closed'>((r) => {
				settle = r;
				timer = setTimeout(() => r('timeout'), timeoutMs);
			});
			waiting.add(settle!);
			const run = await Promise.race([done.promise, waited]).finally(() => {
				clearTimeout(timer);
				waiting.delete(settle!);
			});
			if (run === 'closed') return false;
			if (run === 'timeout') {
				this.logger.warn(`DataSync Database Trigger "${node.name}": the execution did not finish within ${timeoutMs / 1000} s; reading again`);
				return false;
			}
			// No run (n8n skipped it as a duplicate): nothing to hold back for.
			return !run || (!run.data?.resultData?.error && run.status !== 'error' && run.status !== 'crashed');
		};

		let firstEmit: (() => void) | undefined;
		const feed = new ChangeFeed({
			read,
			emit: async (items) => {
				const ok = await emit(items);
				firstEmit?.();
				return ok;
			},
			deleteItem,
			coalesceMs: Math.max(0, Number(options.coalesceMs ?? 20)),
			firstRetryMs: 250,
			maxRetryMs: (Number(options.maxRetrySeconds) || 30) * 1000,
			failed: (error, retryInMs) => {
				const e = nodeError(this, error);
				this.logger.warn(`DataSync Database Trigger "${node.name}": ${e.message}; reading again in ${retryInMs} ms`);
			},
		});

		const timers: NodeJS.Timeout[] = [];
		let listener: PgListener | undefined;
		if (ctx.config.dialect === 'postgres') {
			const sql = notifySql(ctx.table);
			try {
				if (parameter('installTrigger', false) === true) await installNotify(ctx.config, ctx.table);
				else if (!(await notifyInstalled(ctx.config, ctx.table))) {
					throw new NodeOperationError(node, `${ctx.where}: the trigger function that notifies its changes is not installed`, {
						description: `Run this SQL on the database (as the table's owner), or turn on "Install Trigger Function":\n\n${sql.install}`,
					});
				}
			} catch (error) {
				throw nodeError(this, error);
			}
			listener = new PgListener(
				ctx.config,
				sql.channel,
				{
					// Connected (again): read what changed while no one listened.
					ready: (reconnected) => {
						if (reconnected) this.logger.info(`DataSync Database Trigger "${node.name}": listening again on ${sql.channel}, reading the changes after the cursor`);
						feed.wake();
					},
					notification: (payload) => {
						const notice = parseNotice(payload);
						if (notice.op === 'delete' && notice.id !== null) feed.deleted(notice.id, notice.at);
						else feed.wake();
					},
					lost: (error, retryInMs) => {
						this.logger.warn(`DataSync Database Trigger "${node.name}": the listening connection was lost (${error.message}); reconnecting in ${retryInMs} ms`);
					},
				},
				{ applicationName: `datasync-db-trigger ${sql.channel}`, maxRetryMs: (Number(options.maxRetrySeconds) || 30) * 1000 },
			);
			try {
				await listener.start();
			} catch (error) {
				throw nodeError(this, error);
			}
			const safety = Number(parameter('safetySeconds', 60)) || 0;
			if (safety > 0 && !manual) {
				timers.push(
					setInterval(() => {
						void listener?.check();
						feed.wake();
					}, safety * 1000),
				);
			}
		} else {
			feed.wake();
			timers.push(setInterval(() => feed.wake(), Math.max(1, Number(parameter('pollSeconds', 5)) || 5) * 1000));
		}

		const closeFunction = async () => {
			for (const t of timers) clearInterval(t);
			feed.stop();
			for (const settle of waiting) settle('closed');
			await listener?.stop();
		};
		if (!manual) return { closeFunction };
		// "Execute step" in the editor: the first changes after the cursor (or the first to come), then stop.
		const manualTriggerFunction = async () => {
			await new Promise<void>((resolve) => {
				firstEmit = resolve;
				feed.wake();
			});
		};
		return { closeFunction, manualTriggerFunction };
	}
}

function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (error: Error) => void } {
	let resolve!: (value: T) => void;
	let reject!: (error: Error) => void;
	const promise = new Promise<T>((res, rej) => {
		resolve = res;
		reject = rej;
	});
	return { promise, resolve, reject };
}
