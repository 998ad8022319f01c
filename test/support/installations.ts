import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';
import { bearer } from './harness.js';

export interface RegisteredInstallation {
  readonly id: string;
  readonly secret: string;
  readonly site: string;
  readonly country: string;
}

/** Registers an installation through the API (a product token) and checks the 201. */
export async function registerInstallation(
  app: FastifyInstance,
  productToken: string,
  country: string,
): Promise<RegisteredInstallation> {
  const response = await app.inject({
    method: 'POST',
    url: '/v1/installations',
    headers: bearer(productToken),
    payload: { country, product: 'endpoint-12' },
  });
  expect(response.statusCode).toBe(201);
  return response.json();
}

/** Uploads a sample as the installation; the caller checks the answer. */
export function submitSample(
  app: FastifyInstance,
  productToken: string,
  installation: string,
  filename: string,
  body: Buffer,
) {
  return app.inject({
    method: 'POST',
    url: `/v1/samples?installation=${installation}&filename=${encodeURIComponent(filename)}`,
    headers: { ...bearer(productToken), 'content-type': 'application/octet-stream' },
    payload: body,
  });
}
