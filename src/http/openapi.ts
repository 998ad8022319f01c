import type { FastifyDynamicSwaggerOptions } from '@fastify/swagger';

/**
 * What the route schemas do not say about the OpenAPI document, filled in once here so that
 * `redocly lint` passes and clients can be generated: an `operationId` for every operation,
 * the server, every security scheme, the binary answers, and a description on every response.
 */
export const OPENAPI_OPTIONS: FastifyDynamicSwaggerOptions = {
  openapi: {
    openapi: '3.1.0',
    info: {
      title: 'Glasshouse API',
      version: '0.1.0',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
      description:
        'Threat-data service with data residency and verifiable transparency. Every `/v1` call carries `Authorization: Bearer <token>` (or, for a user’s own privacy requests, `Installation ID:SECRET` or `Receipt TOKEN`); errors are RFC 9457 problem documents.',
    },
    // Relative to where this document is served: the same server answers the API.
    servers: [{ url: '/', description: 'the server that serves this document' }],
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'An API token (`glasshouse token create`): `Authorization: Bearer glh_…`',
        },
        installation: {
          type: 'apiKey',
          in: 'header',
          name: 'Authorization',
          description:
            'An installation acting for itself: `Authorization: Installation ID:SECRET`, the id and secret given at registration',
        },
        receipt: {
          type: 'apiKey',
          in: 'header',
          name: 'Authorization',
          description:
            'The holder of an erasure receipt: `Authorization: Receipt TOKEN`, given when the erasure was filed',
        },
      },
    },
    security: [{ bearer: [] }],
  },
  transform: ({ schema, url, route }) => {
    const method = Array.isArray(route.method) ? route.method[0] : route.method;
    return {
      schema: { ...schema, operationId: schema?.operationId ?? operationIdOf(String(method), url) },
      url,
    };
  },
  transformObject: (documentObject) => {
    if (!('openapiObject' in documentObject)) return documentObject.swaggerObject;
    const document = documentObject.openapiObject as OpenApiDocument;
    const problem = problemSchemaRef(document);
    for (const [path, operations] of Object.entries(document.paths ?? {})) {
      for (const [method, operation] of Object.entries(operations)) {
        completeOperation(`${method.toUpperCase()} ${path}`, operation, problem);
      }
    }
    renameWildcard(document);
    return document as typeof documentObject.openapiObject;
  },
};

interface Operation {
  responses?: Record<string, { description?: string; content?: Record<string, unknown> }>;
  security?: Record<string, string[]>[];
  parameters?: { name: string; in: string; description?: string }[];
}

interface OpenApiDocument {
  paths?: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, { required?: string[] }> };
}

/** The shared problem-document schema, whatever name the generator gave it. */
function problemSchemaRef(document: OpenApiDocument): { $ref: string } | { type: 'object' } {
  const schemas = Object.entries(document.components?.schemas ?? {});
  const found = schemas.find(([, schema]) =>
    ['code', 'detail', 'status'].every((k) => schema.required?.includes(k)),
  );
  return found === undefined ? { type: 'object' } : { $ref: `#/components/schemas/${found[0]}` };
}

const BINARY = { schema: { type: 'string', format: 'binary' } } as const;
const TEXT = { schema: { type: 'string' } } as const;

/** The 2xx answers that are not JSON: the route sends bytes its schema cannot describe. */
const BINARY_ANSWERS: Readonly<Record<string, { description: string; content: Record<string, unknown> }>> = {
  'GET /v1/samples/{hash}/download': {
    description: 'An AES-256 zip, password `infected`, with one entry named by the SHA-256',
    content: { 'application/zip': BINARY },
  },
  'GET /v1/legal-requests/{id}/package': {
    description: 'The disclosure package: an AES-256 zip with a signed manifest',
    content: { 'application/zip': BINARY },
  },
  'GET /v1/privacy-requests/{id}/export': {
    description: 'An AES-256 zip, password `infected`: `export.json` and `samples/<sha256>`',
    content: { 'application/zip': BINARY },
  },
  'GET /v1/evidence': {
    description:
      'The evidence pack: a zip of one folder, evidence-<from>-<to>/, with index.html, evidence.json, <section>.csv, <section>.json and checkpoints/<node>.checkpoint',
    content: { 'application/zip': BINARY },
  },
  'GET /v1/reports/{period}': {
    description: 'The transparency report in the format asked for',
    content: {
      'application/json': { schema: { type: 'object' } },
      'text/csv': TEXT,
      'text/markdown': TEXT,
      'text/html': TEXT,
    },
  },
  'GET /log/{node}/checkpoint': {
    description: 'The signed checkpoint (C2SP signed note)',
    content: { 'text/plain': TEXT },
  },
  'GET /log/{node}/tile/{*}': {
    description: 'The tile or entry bundle',
    content: { 'application/octet-stream': BINARY },
  },
};

/** Who may call besides a bearer token: the user's own privacy requests. */
const OTHER_CREDENTIALS: Readonly<Record<string, string>> = {
  'POST /v1/privacy-requests': 'installation',
  'GET /v1/privacy-requests/{id}': 'installation',
  'GET /v1/privacy-requests/{id}/export': 'installation',
  'GET /v1/privacy-requests/{id}/receipt': 'receipt',
};

const STATUS_DESCRIPTIONS: Readonly<Record<string, string>> = {
  200: 'OK',
  201: 'Created',
  202: 'Accepted: the work goes on in the background',
  400: 'The request is malformed (problem document)',
  401: 'No valid credentials (problem document)',
  403: 'The credentials do not allow this (problem document)',
  404: 'Not found (problem document)',
  409: 'The state does not allow this now (problem document)',
  413: 'The request is too large (problem document)',
  415: 'Unsupported media type (problem document)',
  503: 'Not available now; try again later (problem document)',
};

function completeOperation(key: string, operation: Operation, problem: object): void {
  operation.responses ??= {};
  const responses = operation.responses;
  const binary = BINARY_ANSWERS[key];
  if (binary !== undefined) responses['200'] = { ...binary };
  if (!Object.keys(responses).some((status) => status.startsWith('4'))) {
    responses['404'] = {
      description: STATUS_DESCRIPTIONS['404'] ?? '',
      content: { 'application/problem+json': { schema: problem } },
    };
  }
  for (const [status, response] of Object.entries(responses)) {
    if (response.description === undefined || response.description === 'Default Response') {
      response.description = STATUS_DESCRIPTIONS[status] ?? 'See the problem document';
    }
  }
  const other = OTHER_CREDENTIALS[key];
  if (other !== undefined) operation.security = [{ bearer: [] }, { [other]: [] }];
}

/** Fastify's wildcard `*` is not a valid parameter name in a path template. */
function renameWildcard(document: OpenApiDocument): void {
  const paths = document.paths ?? {};
  for (const path of Object.keys(paths)) {
    if (!path.includes('{*}')) continue;
    const operations = paths[path] ?? {};
    for (const operation of Object.values(operations)) {
      for (const parameter of operation.parameters ?? []) {
        if (parameter.name === '*') {
          parameter.name = 'tilePath';
          parameter.description = 'the rest of the path, e.g. `0/x001/234.p/5` (may contain `/`)';
        }
      }
    }
    paths[path.replace('{*}', '{tilePath}')] = operations;
    delete paths[path];
  }
}

/**
 * `GET /v1/samples/:hash/download` → `getSamplesByHashDownload`: unique, since a method and
 * a path are, and stable while the route is.
 */
export function operationIdOf(method: string, url: string): string {
  const words = url
    .split('/')
    .filter((part) => part !== '' && part !== 'v1')
    .map((part) => (part.startsWith(':') ? `by-${part.slice(1)}` : part === '*' ? 'path' : part));
  return [method.toLowerCase(), ...words.flatMap((w) => w.split(/[-_]/))]
    .map((w, i) => (i === 0 ? w : `${w.charAt(0).toUpperCase()}${w.slice(1)}`))
    .join('');
}
