/**
 * Credential tests shared by the connector nodes (n8n calls them through `methods.credentialTest`).
 */
import type { ICredentialDataDecryptedObject, INodeCredentialTestResult } from 'n8n-workflow';
import { openStore, storeConfigFromCredentials } from '../engine/store';
import { openTransport, sqlConfigFromCredentials } from './sql';

/** Connects with a fresh (unshared) transport and runs `SELECT 1`. */
export async function testSqlCredential(data: ICredentialDataDecryptedObject | undefined): Promise<INodeCredentialTestResult> {
	try {
		const transport = openTransport(sqlConfigFromCredentials(data ?? {}));
		try {
			await transport.ping();
		} finally {
			await transport.close();
		}
		return { status: 'OK', message: 'Connection successful' };
	} catch (error) {
		return { status: 'Error', message: (error as Error).message };
	}
}

/** Opens the store (which migrates its schema) and reads a cursor: proves the tables answer. */
export async function testStoreCredential(data: ICredentialDataDecryptedObject | undefined): Promise<INodeCredentialTestResult> {
	try {
		const store = await openStore(storeConfigFromCredentials(data ?? {}));
		await store.getCursor('credential-test', 'credential-test', 'credential-test');
		return { status: 'OK', message: `Connected to the sync store (${store.where})` };
	} catch (error) {
		return { status: 'Error', message: (error as Error).message };
	}
}

/** A signing secret cannot be asked anywhere; what can be checked is that it resists guessing. */
export function testWebhookCredential(data: ICredentialDataDecryptedObject | undefined): INodeCredentialTestResult {
	const secret = String(data?.secret ?? '');
	const previous = String(data?.previousSecret ?? '');
	if (secret.length < 16) return { status: 'Error', message: 'Secret must be at least 16 characters' };
	if (previous && previous.length < 16) return { status: 'Error', message: 'Previous Secret must be at least 16 characters (or empty)' };
	if (previous === secret) return { status: 'Error', message: 'Previous Secret is the same as Secret' };
	return { status: 'OK', message: 'Secret is usable' };
}
