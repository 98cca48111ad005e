import { NodeOperationError, type ICredentialDataDecryptedObject, type IExecuteFunctions, type INode, type INodeExecutionData } from 'n8n-workflow';
import { SyncItemError, type SyncCursor, type SyncItem } from '../../../lib/item';
import {
	describeUnavailable,
	sharedTransport,
	sqlConfigFromCredentials,
	SqlConfigError,
	SqlUnavailableError,
	type ReadRecord,
	type SqlConnectionConfig,
	type SqlTransport,
	type TableSpec,
} from '../../../lib/connectors/sql';
import { runIdOf } from '../../shared/run-id';

/** What every operation reads once per execution (item 0): the entity, the system and the table. */
export interface DatabaseContext {
	entity: string;
	system: string;
	table: TableSpec;
	transport: SqlTransport;
	/** The connection settings of the system (the Database Trigger opens its own listening connection). */
	config: SqlConnectionConfig;
	runId: string;
	/** The system, its server and table, for errors: `System "erp" (MySQL / MariaDB at db:3306, table "customers")`. */
	where: string;
}

const DIALECT_NAMES = { postgres: 'PostgreSQL', mysql: 'MySQL / MariaDB', sqlite: 'SQLite' } as const;

function whereOf(system: string, config: SqlConnectionConfig, table: TableSpec): string {
	const server = config.dialect === 'sqlite' ? `file "${config.file}"` : `${config.host}:${config.port}, database "${config.database}"`;
	const name = table.schema ? `${table.schema}.${table.table}` : table.table;
	return `System "${system}" (${DIALECT_NAMES[config.dialect]} at ${server}, table "${name}")`;
}

/** A failure to reach the system's database, restated with the system, server and table (other errors as they are). */
export function unavailable(ctx: DatabaseContext, error: unknown): unknown {
	return describeUnavailable(error, ctx.where);
}

/** What databaseContext reads from: an execute context, or a trigger's (whose parameters have no item index). */
export interface ParameterSource {
	parameter(name: string, fallback: unknown): unknown;
	credentials(name: string): Promise<ICredentialDataDecryptedObject>;
	node: INode;
	runId: string;
}

export async function databaseContext(fn: IExecuteFunctions): Promise<DatabaseContext> {
	return await databaseContextOf({
		parameter: (name, fallback) => fn.getNodeParameter(name, 0, fallback),
		credentials: async (name) => await fn.getCredentials(name),
		node: fn.getNode(),
		runId: runIdOf(fn),
	});
}

export async function databaseContextOf(fn: ParameterSource): Promise<DatabaseContext> {
	const text = (name: string) => String(fn.parameter(name, '')).trim();
	const entity = text('entity');
	const system = text('system');
	if (!entity) throw new NodeOperationError(fn.node, 'Parameter "Entity" is empty', { description: 'Name the entity, e.g. contact' });
	if (!system) throw new NodeOperationError(fn.node, 'Parameter "System" is empty', { description: 'Name this system as the sync knows it, e.g. crm' });
	const softColumn = text('softDeleteColumn');
	const table: TableSpec = {
		schema: text('schema') || undefined,
		table: text('table'),
		idColumn: text('idColumn'),
		updatedAtColumn: text('updatedAtColumn'),
		softDelete: softColumn ? { column: softColumn, kind: fn.parameter('softDeleteKind', 'timestamp') as 'timestamp' | 'boolean' } : undefined,
		actorColumn: text('actorColumn') || undefined,
	};
	const credentials = await fn.credentials('dataSyncSqlApi');
	let transport: SqlTransport;
	let config: SqlConnectionConfig;
	try {
		config = sqlConfigFromCredentials(credentials);
		transport = sharedTransport(config);
	} catch (error) {
		throw new NodeOperationError(fn.node, error as Error);
	}
	return { entity, system, table, transport, config, runId: fn.runId, where: whereOf(system, config, table) };
}

function isDeleted(record: ReadRecord, table: TableSpec): boolean {
	if (!table.softDelete) return false;
	const value = record.row[table.softDelete.column];
	if (table.softDelete.kind === 'boolean') return value === true || value === 1 || value === '1' || value === 't' || value === 'true';
	return value !== null && value !== undefined;
}

/** One read row as a DataSync item of shape 'system'. */
export function recordToItem(record: ReadRecord, ctx: DatabaseContext, extra: { cursor?: boolean; sync?: string } = {}): SyncItem {
	const item: SyncItem = {
		entity: ctx.entity,
		system: ctx.system,
		id: record.id,
		op: isDeleted(record, ctx.table) ? 'delete' : 'upsert',
		shape: 'system',
		data: record.row,
		trace: { runId: ctx.runId, origin: ctx.system, hops: 0 },
	};
	if (record.updatedAt) item.changedAt = record.updatedAt;
	const actor = ctx.table.actorColumn ? record.row[ctx.table.actorColumn] : undefined;
	if (actor !== undefined && actor !== null) item.actor = String(actor);
	if (extra.cursor && record.updatedAt) item.trace.cursor = { ts: record.updatedAt, id: record.id } satisfies SyncCursor;
	if (extra.sync) item.trace.sync = extra.sync;
	return item;
}

/** A failure of the node's own configuration or of the database, as an n8n error. */
export function nodeError(fn: { getNode(): INode }, error: unknown, itemIndex?: number): Error {
	if (error instanceof NodeOperationError) return error;
	const e = error instanceof Error ? error : new Error(String(error));
	const description =
		error instanceof SqlConfigError
			? 'Check the table and column parameters and the credential'
			: error instanceof SyncItemError
				? `Field: ${error.field}`
				: error instanceof SqlUnavailableError
					? 'The database did not answer. A failed write stays planned and is redone by the next run; cursors move only after the writes succeed.'
					: undefined;
	return new NodeOperationError(fn.getNode(), e, { itemIndex: error instanceof SyncItemError ? (error.itemIndex ?? itemIndex) : itemIndex, description });
}

export function asOutput(items: SyncItem[], pairedItem: number | number[] = 0): INodeExecutionData[] {
	return items.map((json) => ({
		json: json as unknown as INodeExecutionData['json'],
		pairedItem: Array.isArray(pairedItem) ? pairedItem.map((item) => ({ item })) : { item: pairedItem },
	}));
}
