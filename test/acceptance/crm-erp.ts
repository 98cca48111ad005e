/**
 * A CRM in real Postgres and an ERP in real MariaDB, the contact mapping between them, and the sync chain
 * that connects them in stock n8n: shared by the acceptance tests that drive whole sync flows.
 */
import mysql from 'mysql2/promise';
import { Client } from 'pg';

import type { StoreConfig } from '../../lib/engine';
import { createMariaDbDatabase, createPgDatabase, type MariaDbTestDatabase, type PgTestDatabase } from '../helpers/services';
import { ds, type FlowNode } from './flows';
import type { N8nInstance } from './harness';
import { signedPost as signedPostWith } from './templates-support';

export type System = 'crm' | 'erp';

export const SECRET = 'acceptance-signing-secret-0123456789';

export const MAPPING = {
	format: 'datasync-mapping/1',
	entity: 'contact',
	canonical: {
		fields: {
			email: { type: 'string', required: true, email: true },
			firstName: { type: 'string' },
			lastName: { type: 'string' },
			phone: { type: 'string' },
			birthDate: { type: 'date' },
		},
	},
	systems: {
		crm: {
			idField: 'id',
			unmapped: 'drop',
			fields: [
				{ canonical: 'email', system: 'email' },
				{ canonical: 'firstName', system: 'firstName' },
				{ canonical: 'lastName', system: 'lastName' },
				{ canonical: 'phone', system: 'phone' },
				{ canonical: 'birthDate', system: 'birthDate', transform: 'date', options: { format: 'yyyy-MM-dd' } },
			],
		},
		erp: {
			idField: 'contact_id',
			unmapped: 'drop',
			fields: [
				{ canonical: 'email', system: 'email' },
				{ canonical: 'firstName', system: 'first_name' },
				{ canonical: 'lastName', system: 'last_name' },
				{ canonical: 'phone', system: 'phone_number' },
				{ canonical: 'birthDate', system: 'birth_date', transform: 'date', options: { format: 'dd/MM/yyyy' } },
			],
		},
	},
};

/** The tables of each system as the DataSync Database node sees them. */
export const TABLES = {
	crm: { entity: 'contact', system: 'crm', table: 'crm_contacts', idColumn: 'id', updatedAtColumn: 'updatedAt', actorColumn: 'modifiedBy' },
	erp: { entity: 'contact', system: 'erp', table: 'erp_contacts', idColumn: 'contact_id', updatedAtColumn: 'changed_at', actorColumn: 'modified_by' },
} as const;

export class CrmErp {
	pg!: PgTestDatabase;
	maria!: MariaDbTestDatabase;
	crm!: Client;
	erp!: mysql.Connection;

	/** Creates both databases and their contact tables. */
	async setup(): Promise<void> {
		[this.pg, this.maria] = await Promise.all([createPgDatabase('ds_crm'), createMariaDbDatabase('ds_erp')]);
		this.crm = new Client(this.pg.config);
		await this.crm.connect();
		await this.crm.query(`CREATE TABLE crm_contacts (
			id SERIAL PRIMARY KEY, email TEXT NOT NULL, "firstName" TEXT, "lastName" TEXT, phone TEXT, "birthDate" TEXT,
			"updatedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT now(), "modifiedBy" TEXT)`);
		this.erp = await mysql.createConnection(this.maria.config);
		await this.erp.query(`CREATE TABLE erp_contacts (
			contact_id INT AUTO_INCREMENT PRIMARY KEY, email VARCHAR(254) NOT NULL, first_name VARCHAR(100), last_name VARCHAR(100),
			phone_number VARCHAR(40), birth_date VARCHAR(10), changed_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), modified_by VARCHAR(64))`);
	}

	async teardown(): Promise<void> {
		await this.crm?.end();
		await this.erp?.end();
		await this.pg?.drop();
		await this.maria?.drop();
	}

	async crmRows(): Promise<Array<Record<string, unknown>>> {
		return (await this.crm.query('SELECT * FROM crm_contacts ORDER BY id')).rows as Array<Record<string, unknown>>;
	}

	async erpRows(): Promise<Array<Record<string, unknown>>> {
		const [rows] = await this.erp.query('SELECT * FROM erp_contacts ORDER BY contact_id');
		return rows as Array<Record<string, unknown>>;
	}

	/** The credentials of a flow between the two, created in `n8n` through its public API. */
	async credentials(n8n: N8nInstance, store: StoreConfig): Promise<Credentials> {
		const sql = (dialect: string, c: PgTestDatabase['config']) => ({ dialect, host: c.host, port: c.port, database: c.database, user: c.user, password: c.password, ssl: 'disable' });
		return {
			store: { dataSyncStoreApi: await n8n.createCredential('dataSyncStoreApi', 'Sync store', store as unknown as Record<string, unknown>) },
			crm: { dataSyncSqlApi: await n8n.createCredential('dataSyncSqlApi', 'CRM (Postgres)', sql('postgres', this.pg.config)) },
			erp: { dataSyncSqlApi: await n8n.createCredential('dataSyncSqlApi', 'ERP (MariaDB)', sql('mysql', this.maria.config)) },
			secret: { dataSyncWebhookApi: await n8n.createCredential('dataSyncWebhookApi', 'Signing secret', { secret: SECRET }) },
		};
	}
}

type CredentialRef = Record<string, { id: string; name: string }>;

export interface Credentials {
	store: CredentialRef;
	crm: CredentialRef;
	erp: CredentialRef;
	secret: CredentialRef;
}

/** The chain after a source node: guard, map in, resolve ("System A wins": crm first), map out, write, commit. */
export function syncChain(creds: Credentials, target: System, first: string): { nodes: FlowNode[]; edges: Array<[string, string, number?, number?]> } {
	return {
		nodes: [
			ds('dataSyncLoopGuard', 'Loop Guard', { sync: 'contacts', ownActor: 'datasync' }, creds.store),
			ds('dataSyncMapper', 'To canonical', { operation: 'map', direction: 'toCanonical', input: 'items', mappingSource: 'json', mappingJson: JSON.stringify(MAPPING) }),
			ds('dataSyncConflictResolver', 'Resolver', { sync: 'contacts', entity: 'contact', systems: 'crm, erp', matchKeys: 'email', policy: 'priority', priority: 'crm, erp' }, creds.store),
			ds('dataSyncMapper', 'From canonical', { operation: 'map', direction: 'fromCanonical', input: 'items', mappingSource: 'json', mappingJson: JSON.stringify(MAPPING) }),
			ds('dataSyncDatabase', `Write ${target}`, { operation: 'upsert', ...TABLES[target] }, creds[target]),
			ds('dataSyncStore', 'Commit', { operation: 'commit', sync: 'contacts' }, creds.store),
		],
		edges: [
			[first, 'Loop Guard'],
			['Loop Guard', 'To canonical'],
			['To canonical', 'Resolver'],
			['Resolver', 'From canonical'],
			['From canonical', `Write ${target}`],
			[`Write ${target}`, 'Commit'],
		],
	};
}

/** The signed webhook trigger of `system`: its records' own fields are the change. */
export function changeTrigger(creds: Credentials, system: System, path: string): FlowNode {
	return ds(
		'dataSyncTrigger',
		'DataSync Trigger',
		{
			path,
			entity: 'contact',
			system,
			idField: TABLES[system].idColumn,
			// The change is the record's own row, with no op field: every change is an upsert.
			opField: '',
			changedAtField: TABLES[system].updatedAtColumn,
			actorField: TABLES[system].actorColumn,
			dataField: '',
		},
		creds.secret,
	);
}

/** POSTs `body` to a DataSync Trigger, signed with these systems' secret. */
export async function signedPost(n8n: N8nInstance, path: string, body: unknown) {
	return await signedPostWith(n8n, path, SECRET, body);
}
