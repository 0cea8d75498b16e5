// Our own JSON schema for task.json: the fields the agent and the Marketplace read, with the
// values they accept. (tfx only warns about task.json problems, so we check them here.)
const GUID = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';

const handlers = {
  type: 'object',
  minProperties: 1,
  propertyNames: { enum: ['Node10', 'Node16', 'Node20_1', 'Node24'] },
  additionalProperties: {
    type: 'object',
    required: ['target'],
    additionalProperties: false,
    properties: { target: { type: 'string', pattern: '\\.js$' }, argumentFormat: { type: 'string' }, platforms: { type: 'array' } },
  },
};

export const TASK_MANIFEST_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'name', 'friendlyName', 'description', 'category', 'author', 'version', 'instanceNameFormat', 'inputs', 'execution', 'messages', 'minimumAgentVersion'],
  properties: {
    $schema: { type: 'string' },
    id: { type: 'string', pattern: GUID },
    name: { type: 'string', pattern: '^[A-Za-z0-9\\-]+$' },
    friendlyName: { type: 'string', minLength: 1, maxLength: 40 },
    description: { type: 'string', minLength: 10 },
    helpUrl: { type: 'string', pattern: '^https://' },
    helpMarkDown: { type: 'string' },
    category: { enum: ['Build', 'Utility', 'Test', 'Package', 'Deploy', 'Azure Repos', 'Azure Boards', 'Azure Pipelines', 'Azure Test Plans', 'Azure Artifacts'] },
    visibility: { type: 'array', items: { enum: ['Build', 'Release'] } },
    runsOn: { type: 'array', items: { enum: ['Agent', 'MachineGroup', 'Server', 'ServerGate', 'DeploymentGroup'] } },
    author: { type: 'string', minLength: 1 },
    preview: { type: 'boolean' },
    deprecated: { type: 'boolean' },
    showEnvironmentVariables: { type: 'boolean' },
    releaseNotes: { type: 'string' },
    demands: { type: 'array', items: { type: 'string' } },
    version: {
      type: 'object',
      additionalProperties: false,
      required: ['Major', 'Minor', 'Patch'],
      properties: { Major: { type: 'integer', minimum: 0 }, Minor: { type: 'integer', minimum: 0 }, Patch: { type: 'integer', minimum: 0 } },
    },
    minimumAgentVersion: { type: 'string', pattern: '^\\d+\\.\\d+\\.\\d+$' },
    instanceNameFormat: { type: 'string', minLength: 1 },
    groups: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'displayName'],
        properties: { name: { type: 'string', pattern: '^[A-Za-z0-9]+$' }, displayName: { type: 'string' }, isExpanded: { type: 'boolean' }, visibleRule: { type: 'string' } },
      },
    },
    inputs: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'type', 'label'],
        properties: {
          name: { type: 'string', pattern: '^[A-Za-z][A-Za-z0-9]*$' },
          aliases: { type: 'array', items: { type: 'string' } },
          label: { type: 'string', minLength: 1 },
          type: {
            anyOf: [
              { enum: ['string', 'boolean', 'multiLine', 'pickList', 'filePath', 'radio', 'int', 'secureFile', 'identities', 'querycontrol'] },
              { type: 'string', pattern: '^connectedService:[A-Za-z0-9:_-]+$' },
            ],
          },
          defaultValue: { type: ['string', 'boolean'] },
          required: { type: 'boolean' },
          groupName: { type: 'string' },
          helpMarkDown: { type: 'string' },
          visibleRule: { type: 'string' },
          options: { type: 'object', additionalProperties: { type: 'string' } },
          properties: { type: 'object', additionalProperties: { type: 'string' } },
          validation: { type: 'object' },
        },
      },
    },
    dataSourceBindings: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['target', 'endpointId'],
        properties: {
          target: { type: 'string' },
          endpointId: { type: 'string' },
          dataSourceName: { type: 'string' },
          endpointUrl: { type: 'string' },
          resultSelector: { type: 'string' },
          resultTemplate: { type: 'string' },
          parameters: { type: 'object' },
          callbackContextTemplate: { type: 'string' },
          callbackRequiredTemplate: { type: 'string' },
          initialContextTemplate: { type: 'string' },
        },
      },
    },
    outputVariables: {
      type: 'array',
      items: { type: 'object', additionalProperties: false, required: ['name', 'description'], properties: { name: { type: 'string' }, description: { type: 'string' } } },
    },
    execution: handlers,
    prejobexecution: handlers,
    postjobexecution: handlers,
    messages: { type: 'object', additionalProperties: { type: 'string', minLength: 1 } },
    restrictions: { type: 'object' },
    satisfies: { type: 'array' },
  },
} as const;
