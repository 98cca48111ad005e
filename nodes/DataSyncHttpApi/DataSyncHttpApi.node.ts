import {
	NodeConnectionTypes,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';
import { testStoreCredential } from '../shared/engine-node';
import { operationDescriptions, router } from './actions/router';

/**
 * A collection of a REST API as one side of a sync: lists changes with an updated-since filter and
 * pagination, reads, creates, updates and deletes records, with retries, backoff and 429 Retry-After.
 * The logic is plain code in lib/connectors/http; operations live in actions/.
 */
export class DataSyncHttpApi implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'DataSync HTTP API',
		name: 'dataSyncHttpApi',
		icon: { light: 'file:httpapi.svg', dark: 'file:httpapi.dark.svg' },
		group: ['input', 'output'],
		version: 1,
		subtitle: '={{$parameter["operation"] + ": " + $parameter["collectionPath"]}}',
		description: 'Read changes from and write records to a REST API for a sync',
		defaults: { name: 'DataSync HTTP API' },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{ name: 'dataSyncRestApi', required: true },
			{
				name: 'dataSyncStoreApi',
				required: true,
				testedBy: 'dataSyncStoreTest',
				displayOptions: { show: { operation: ['list'], cursorSource: ['store'] } },
			},
		],
		properties: [
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				options: [
					{ name: 'Create', value: 'create', action: 'Create records', description: 'Create a record per input item' },
					{ name: 'Delete', value: 'delete', action: 'Delete records', description: 'Delete the record of each input item' },
					{ name: 'Get', value: 'get', action: 'Get records by ID', description: 'Read one record per input item' },
					{ name: 'List', value: 'list', action: 'List changed records', description: 'List records changed since the cursor, page by page' },
					{ name: 'Update', value: 'update', action: 'Update records', description: 'Update the record of each input item (PUT or PATCH)' },
					{ name: 'Upsert', value: 'upsert', action: 'Upsert records', description: 'Create, update or delete per input item, by its ID and op' },
				],
				default: 'list',
			},
			{
				displayName: 'Entity',
				name: 'entity',
				type: 'string',
				default: '',
				required: true,
				placeholder: 'contact',
				description: 'The kind of record this collection holds, as the sync names it',
			},
			{
				displayName: 'System',
				name: 'system',
				type: 'string',
				default: '',
				required: true,
				placeholder: 'crm',
				description: 'The name of this API in the sync (items carry it; cursors and links are kept per system)',
			},
			{
				displayName: 'Collection Path',
				name: 'collectionPath',
				type: 'string',
				default: '',
				required: true,
				placeholder: '/contacts',
				description: "Under the credential's base URL; a record is at {collection}/{ID}",
			},
			{
				displayName: 'ID Field',
				name: 'idField',
				type: 'string',
				default: 'id',
				description: 'Dotted path to the record ID in a record',
			},
			{
				displayName: 'Updated-At Field',
				name: 'updatedAtField',
				type: 'string',
				default: 'updated_at',
				description: 'Dotted path to when the record last changed (ISO 8601 or epoch); empty = the API has none',
			},
			{
				displayName: 'Actor Field',
				name: 'actorField',
				type: 'string',
				default: '',
				description: 'Dotted path to who made the change; empty = none',
			},
			{
				displayName: 'Deleted Field',
				name: 'deletedField',
				type: 'string',
				default: '',
				description: 'Dotted path to a deleted flag or time; records with it set are read as deletes. Empty = none.',
			},
			...operationDescriptions,
		],
	};

	methods = {
		credentialTest: {
			dataSyncStoreTest: testStoreCredential,
		},
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await router.call(this);
	}
}
