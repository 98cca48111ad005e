import type { ICredentialType, Icon, INodeProperties } from 'n8n-workflow';

/**
 * A SQL system the sync reads and writes: Postgres, MySQL / MariaDB, or an SQLite file on the n8n host.
 * Tested by the DataSync Database node (`credentialTest` method `dataSyncSqlTest`), which connects and
 * runs `SELECT 1`: a SQL connection cannot be proved by an HTTP request.
 */
export class DataSyncSqlApi implements ICredentialType {
	name = 'dataSyncSqlApi';

	displayName = 'DataSync SQL System';

	icon: Icon = { light: 'file:../nodes/DataSyncDatabase/database.svg', dark: 'file:../nodes/DataSyncDatabase/database.dark.svg' };

	documentationUrl = 'https://github.com/n8n-nodes-datasync/n8n-nodes-datasync/blob/main/docs/connectors.md#sql-systems';

	properties: INodeProperties[] = [
		{
			displayName: 'Dialect',
			name: 'dialect',
			type: 'options',
			options: [
				{ name: 'MySQL / MariaDB', value: 'mysql' },
				{ name: 'Postgres', value: 'postgres' },
				{ name: 'SQLite (File on the N8n Host)', value: 'sqlite' },
			],
			default: 'postgres',
		},
		{
			displayName: 'SQLite File Path',
			name: 'file',
			type: 'string',
			default: '',
			placeholder: '/data/crm.sqlite',
			description: 'An existing SQLite database file; ~ is the home folder of the n8n process',
			displayOptions: { show: { dialect: ['sqlite'] } },
		},
		{
			displayName: 'Host',
			name: 'host',
			type: 'string',
			default: 'localhost',
			displayOptions: { show: { dialect: ['postgres', 'mysql'] } },
		},
		{
			displayName: 'Port',
			name: 'port',
			type: 'number',
			default: 5432,
			description: 'Postgres listens on 5432 and MySQL / MariaDB on 3306 unless configured otherwise',
			displayOptions: { show: { dialect: ['postgres', 'mysql'] } },
		},
		{
			displayName: 'Database',
			name: 'database',
			type: 'string',
			default: '',
			displayOptions: { show: { dialect: ['postgres', 'mysql'] } },
		},
		{
			displayName: 'User',
			name: 'user',
			type: 'string',
			default: '',
			displayOptions: { show: { dialect: ['postgres', 'mysql'] } },
		},
		{
			displayName: 'Password',
			name: 'password',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			displayOptions: { show: { dialect: ['postgres', 'mysql'] } },
		},
		{
			displayName: 'SSL',
			name: 'ssl',
			type: 'options',
			options: [
				{ name: 'Disable', value: 'disable' },
				{ name: 'Require', value: 'require' },
				{ name: 'Require, Do Not Verify Certificate', value: 'allow-unauthorized' },
			],
			default: 'disable',
			displayOptions: { show: { dialect: ['postgres', 'mysql'] } },
		},
	];
}
