import type { ICredentialType, Icon, INodeProperties } from 'n8n-workflow';

/**
 * Where the central sync store lives: an embedded SQLite file (the default, one n8n host) or a Postgres
 * database shared by several n8n workers (queue mode). The credential test is done by the nodes
 * (`credentialTest` method `dataSyncStoreTest`), which open the store and check its schema.
 */
export class DataSyncStoreApi implements ICredentialType {
	name = 'dataSyncStoreApi';

	displayName = 'DataSync Store';

	icon: Icon = { light: 'file:datasync-store.svg', dark: 'file:datasync-store.dark.svg' };

	documentationUrl = 'https://github.com/n8n-nodes-datasync/n8n-nodes-datasync#the-sync-store';

	properties: INodeProperties[] = [
		{
			displayName: 'Backend',
			name: 'backend',
			type: 'options',
			options: [
				{ name: 'SQLite (Embedded File)', value: 'sqlite', description: 'One file on the n8n host; the default' },
				{ name: 'Postgres (Shared, for Queue Mode)', value: 'postgres', description: 'Several n8n workers share one store' },
			],
			default: 'sqlite',
		},
		{
			displayName: 'SQLite File Path',
			name: 'path',
			type: 'string',
			default: '~/.n8n/datasync/store.sqlite',
			placeholder: '/home/node/.n8n/datasync/store.sqlite',
			description: 'The store file; created with its folder on first use. ~ is the home folder of the n8n process.',
			displayOptions: { show: { backend: ['sqlite'] } },
		},
		{
			displayName: 'Host',
			name: 'host',
			type: 'string',
			default: 'localhost',
			displayOptions: { show: { backend: ['postgres'] } },
		},
		{
			displayName: 'Port',
			name: 'port',
			type: 'number',
			default: 5432,
			displayOptions: { show: { backend: ['postgres'] } },
		},
		{
			displayName: 'Database',
			name: 'database',
			type: 'string',
			default: 'postgres',
			displayOptions: { show: { backend: ['postgres'] } },
		},
		{
			displayName: 'User',
			name: 'user',
			type: 'string',
			default: 'postgres',
			displayOptions: { show: { backend: ['postgres'] } },
		},
		{
			displayName: 'Password',
			name: 'password',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			displayOptions: { show: { backend: ['postgres'] } },
		},
		{
			displayName: 'Schema',
			name: 'schema',
			type: 'string',
			default: 'datasync',
			description: 'The store creates and migrates its tables in this schema',
			displayOptions: { show: { backend: ['postgres'] } },
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
			displayOptions: { show: { backend: ['postgres'] } },
		},
	];

}
