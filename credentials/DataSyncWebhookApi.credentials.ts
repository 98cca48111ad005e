import type { ICredentialType, Icon, INodeProperties } from 'n8n-workflow';

/**
 * The shared secret a source system signs its change notifications with (HMAC-SHA256, see
 * docs/connectors.md). A second secret may be set while rotating: signatures by either are accepted.
 * Tested by the DataSync Trigger (`credentialTest` method `dataSyncWebhookTest`), which checks that the
 * secrets are long enough to resist guessing: there is no remote side to ask.
 */
export class DataSyncWebhookApi implements ICredentialType {
	name = 'dataSyncWebhookApi';

	displayName = 'DataSync Webhook Signing Secret';

	icon: Icon = { light: 'file:../nodes/DataSyncTrigger/trigger.svg', dark: 'file:../nodes/DataSyncTrigger/trigger.dark.svg' };

	documentationUrl = 'https://github.com/n8n-nodes-datasync/n8n-nodes-datasync/blob/main/docs/connectors.md#signed-webhooks';

	properties: INodeProperties[] = [
		{
			displayName: 'Secret',
			name: 'secret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			description: 'At least 16 characters; the source system signs each notification with it',
		},
		{
			displayName: 'Previous Secret',
			name: 'previousSecret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description: 'While rotating: signatures made with this secret are accepted too. Clear it once every sender uses the new one.',
		},
	];
}
