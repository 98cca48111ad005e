/**
 * The n8n side shared by the nodes that stand on the sync store (Conflict Resolver, Loop Guard, Store):
 * opening the store from its credential, reading DataSync items with errors that name the item and the
 * field, and turning engine errors into n8n errors. The logic itself lives in lib/engine.
 */
import {
	NodeOperationError,
	type ICredentialsDecrypted,
	type ICredentialTestFunctions,
	type IExecuteFunctions,
	type INodeCredentialTestResult,
	type INodeExecutionData,
} from 'n8n-workflow';

import { testStoreCredential as testStore } from '../../lib/connectors/credential-tests';
import { openStore, storeConfigFromCredentials, type Store } from '../../lib/engine';
import { parseSyncItem, SyncItemError, type SyncItem } from '../../lib/item';

export { runIdOf } from './run-id';

export const STORE_CREDENTIAL = 'dataSyncStoreApi';

/** The store of this node's DataSync Store credential, opened once per process and shared. */
export async function storeOf(ctx: IExecuteFunctions): Promise<Store> {
	const credentials = await ctx.getCredentials(STORE_CREDENTIAL);
	try {
		return await openStore(storeConfigFromCredentials(credentials));
	} catch (error) {
		throw new NodeOperationError(ctx.getNode(), error as Error, {
			description: 'Check the DataSync Store credential: the store could not be opened.',
		});
	}
}

/** Credential test for the DataSync Store credential (the nodes' `testedBy: 'dataSyncStoreTest'`). */
export async function testStoreCredential(
	this: ICredentialTestFunctions,
	credential: ICredentialsDecrypted,
): Promise<INodeCredentialTestResult> {
	return await testStore(credential.data);
}

/** A comma- or line-separated list parameter ("crm, erp") as trimmed, non-empty names. */
export function listParameter(value: unknown): string[] {
	if (Array.isArray(value)) return value.map((v) => String(v).trim()).filter(Boolean);
	if (typeof value !== 'string') return [];
	return value
		.split(/[,\n]/)
		.map((v) => v.trim())
		.filter(Boolean);
}

export interface ReadItems {
	items: SyncItem[];
	/** The input index of each item in `items` (for pairedItem). */
	indexes: number[];
	/** Items that are not DataSync items, as error items (only with continueOnFail). */
	errors: INodeExecutionData[];
}

/**
 * Reads the input as DataSync items. A malformed item stops the node with an error naming the item and
 * the field; with "Continue on Fail" it becomes an error item and the others go on.
 */
export function readSyncItems(ctx: IExecuteFunctions, input: INodeExecutionData[]): ReadItems {
	const out: ReadItems = { items: [], indexes: [], errors: [] };
	for (let i = 0; i < input.length; i++) {
		try {
			out.items.push(parseSyncItem(input[i].json, i));
			out.indexes.push(i);
		} catch (error) {
			if (ctx.continueOnFail()) {
				out.errors.push({ json: { error: (error as Error).message, item: input[i].json }, pairedItem: { item: i } });
				continue;
			}
			throw new NodeOperationError(ctx.getNode(), error as Error, { itemIndex: i });
		}
	}
	return out;
}

/**
 * An engine error as an n8n error: a SyncItemError points at the item (its index in the batch is mapped
 * back to the input index), anything else is the node's configuration or the store.
 */
export function engineError(ctx: IExecuteFunctions, error: unknown, indexes?: number[]): NodeOperationError {
	if (error instanceof NodeOperationError) return error;
	if (error instanceof SyncItemError && error.itemIndex !== undefined) {
		const itemIndex = indexes?.[error.itemIndex] ?? error.itemIndex;
		return new NodeOperationError(ctx.getNode(), error, { itemIndex });
	}
	return new NodeOperationError(ctx.getNode(), error as Error);
}
