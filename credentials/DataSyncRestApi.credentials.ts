import type {
	ICredentialDataDecryptedObject,
	ICredentialTestRequest,
	ICredentialType,
	IHttpRequestOptions,
	Icon,
	INodeProperties,
} from 'n8n-workflow';

/**
 * A REST system the sync reads and writes: its base URL and how it wants requests authenticated (a header,
 * a bearer token, basic auth or a key in the query string). The DataSync HTTP API node sends every request
 * through `httpRequestWithAuthentication`, so n8n applies `authenticate` and the secret never passes
 * through the node's own code.
 */
export class DataSyncRestApi implements ICredentialType {
	name = 'dataSyncRestApi';

	displayName = 'DataSync REST System';

	icon: Icon = { light: 'file:../nodes/DataSyncHttpApi/httpapi.svg', dark: 'file:../nodes/DataSyncHttpApi/httpapi.dark.svg' };

	documentationUrl = 'https://github.com/n8n-nodes-datasync/n8n-nodes-datasync/blob/main/docs/connectors.md#rest-systems';

	properties: INodeProperties[] = [
		{
			displayName: 'Base URL',
			name: 'baseUrl',
			type: 'string',
			default: '',
			placeholder: 'https://api.example.com/v1',
			required: true,
		},
		{
			displayName: 'Authentication',
			name: 'authType',
			type: 'options',
			options: [
				{ name: 'Basic Auth', value: 'basic' },
				{ name: 'Bearer Token', value: 'bearer' },
				{ name: 'Header', value: 'header' },
				{ name: 'None', value: 'none' },
				{ name: 'Query Key', value: 'queryKey' },
			],
			default: 'bearer',
		},
		{
			displayName: 'Token',
			name: 'token',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			displayOptions: { show: { authType: ['bearer'] } },
		},
		{
			displayName: 'Header Name',
			name: 'headerName',
			type: 'string',
			default: 'X-API-Key',
			displayOptions: { show: { authType: ['header'] } },
		},
		{
			displayName: 'Header Value',
			name: 'headerSecret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			displayOptions: { show: { authType: ['header'] } },
		},
		{
			displayName: 'User',
			name: 'user',
			type: 'string',
			default: '',
			displayOptions: { show: { authType: ['basic'] } },
		},
		{
			displayName: 'Password',
			name: 'password',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			displayOptions: { show: { authType: ['basic'] } },
		},
		{
			displayName: 'Query Parameter Name',
			name: 'queryName',
			type: 'string',
			default: 'api_key',
			displayOptions: { show: { authType: ['queryKey'] } },
		},
		{
			displayName: 'Query Parameter Value',
			name: 'queryApiKey',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			displayOptions: { show: { authType: ['queryKey'] } },
		},
		{
			displayName: 'Test Path',
			name: 'testPath',
			type: 'string',
			default: '/',
			description: 'A path under the base URL that answers 2xx to an authenticated GET; used to test the credential',
		},
	];

	// The function form keeps the four schemes in one place; n8n calls it for every request and for the test.
	authenticate = async (credentials: ICredentialDataDecryptedObject, requestOptions: IHttpRequestOptions): Promise<IHttpRequestOptions> => {
		const options: IHttpRequestOptions = { ...requestOptions, headers: { ...(requestOptions.headers ?? {}) } };
		switch (credentials.authType) {
			case 'bearer':
				options.headers!.Authorization = `Bearer ${String(credentials.token ?? '')}`;
				break;
			case 'header':
				options.headers![String(credentials.headerName ?? 'X-API-Key')] = String(credentials.headerSecret ?? '');
				break;
			case 'basic':
				options.auth = { username: String(credentials.user ?? ''), password: String(credentials.password ?? '') };
				break;
			case 'queryKey':
				options.qs = { ...(options.qs ?? {}), [String(credentials.queryName ?? 'api_key')]: String(credentials.queryApiKey ?? '') };
				break;
		}
		return options;
	};

	test: ICredentialTestRequest = {
		request: {
			baseURL: '={{$credentials.baseUrl}}',
			url: '={{$credentials.testPath || "/"}}',
			method: 'GET',
		},
	};
}
