import {
	NodeConnectionTypes,
	type ICredentialsDecrypted,
	type ICredentialTestFunctions,
	type IExecuteFunctions,
	type INodeCredentialTestResult,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';
import { testSqlCredential } from '../../lib/connectors/credential-tests';
import { testStoreCredential } from '../shared/engine-node';
import { operationDescriptions, router } from './actions/router';

/**
 * A table of a SQL system (Postgres, MySQL / MariaDB, SQLite) as one side of a sync: reads changes after
 * the sync's cursor, snapshots, records by id and the linked records a table no longer holds, and writes DataSync items back in batches.
 * The shell only describes the node; each operation lives in actions/<operation>.operation.ts and the
 * dialects in lib/connectors/sql.
 */
export class DataSyncDatabase implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'DataSync Database',
		name: 'dataSyncDatabase',
		icon: { light: 'file:database.svg', dark: 'file:database.dark.svg' },
		group: ['input', 'output'],
		version: 1,
		subtitle: '={{$parameter["operation"] + ": " + $parameter["table"]}}',
		description: 'Read changes from and write records to a SQL table for a sync',
		defaults: { name: 'DataSync Database' },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{ name: 'dataSyncSqlApi', required: true, testedBy: 'dataSyncSqlTest' },
			{
				name: 'dataSyncStoreApi',
				required: true,
				testedBy: 'dataSyncStoreTest',
				// Get Changes reads its cursor there (unless it starts from its own start cursor); Find Deletes, the links.
				displayOptions: { show: { operation: ['getChanges', 'findDeletes'] }, hide: { cursorSource: ['explicit'] } },
			},
		],
		properties: [
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				options: [
					{ name: 'Delete', value: 'delete', action: 'Delete records', description: 'Delete (or soft-delete) the records of the input items' },
					{ name: 'Find Deletes', value: 'findDeletes', action: 'Find records deleted from the table', description: 'The linked records the table no longer holds, as deletes, one page (the refresh page by page)' },
					{ name: 'Get by IDs', value: 'getByIds', action: 'Get records by IDs', description: 'Read the records with the given IDs' },
					{ name: 'Get Changes', value: 'getChanges', action: 'Get changes since the cursor', description: "Read the rows changed after the sync's cursor, one page" },
					{ name: 'Get Many', value: 'getMany', action: 'Get many records', description: 'Read the table in ID order (the snapshot for reconcile)' },
					{ name: 'Upsert', value: 'upsert', action: 'Upsert records', description: 'Insert or update the input items in batches; op "delete" items are deleted' },
				],
				default: 'getChanges',
			},
			{
				displayName: 'Entity',
				name: 'entity',
				type: 'string',
				default: '',
				required: true,
				placeholder: 'contact',
				description: 'The kind of record this table holds, as the sync names it',
			},
			{
				displayName: 'System',
				name: 'system',
				type: 'string',
				default: '',
				required: true,
				placeholder: 'erp',
				description: 'The name of this database in the sync (items carry it; cursors and links are kept per system)',
			},
			{
				displayName: 'Schema',
				name: 'schema',
				type: 'string',
				default: '',
				description: 'Postgres schema or MySQL database of the table; empty = the connection default. Not used with SQLite.',
			},
			{
				displayName: 'Table',
				name: 'table',
				type: 'string',
				default: '',
				required: true,
			},
			{
				displayName: 'ID Column',
				name: 'idColumn',
				type: 'string',
				default: 'id',
				required: true,
				description: 'The primary key (or a unique column) that identifies a record',
			},
			{
				displayName: 'Updated-At Column',
				name: 'updatedAtColumn',
				type: 'string',
				default: 'updated_at',
				required: true,
				description: 'Set by the system on every change; Get Changes reads in (updated-at, ID) order. Index it with the ID column.',
			},
			{
				displayName: 'Soft-Delete Column',
				name: 'softDeleteColumn',
				type: 'string',
				default: '',
				description: 'A column that marks deleted rows; rows marked in it are read as deletes. Empty = the table deletes rows.',
			},
			{
				displayName: 'Soft-Delete Column Holds',
				name: 'softDeleteKind',
				type: 'options',
				options: [
					{ name: 'A Timestamp (Set = Deleted)', value: 'timestamp' },
					{ name: 'True / False (True = Deleted)', value: 'boolean' },
				],
				default: 'timestamp',
			},
			{
				displayName: 'Actor Column',
				name: 'actorColumn',
				type: 'string',
				default: '',
				description: 'Who made the change (read into the item\'s actor; writes put the sync\'s own actor there). Empty = none.',
			},
			...operationDescriptions,
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

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await router.call(this);
	}
}
