/**
 * Atlas-dialect credentials for tests: API key pairs (Digest) and service accounts (OAuth),
 * made in the store like the other setup keys of helpers/app.ts, so the project's log stays
 * empty of self-audit records.
 */
import { serviceAccountClientId } from '../../src/auth/api-keys.ts';
import type { Role } from '../../src/core/roles.ts';
import { storeKey, type Built } from './app.ts';

export const V2 = 'application/vnd.atlas.2023-01-01+json';

/** An Atlas programmatic API key pair: public key (the key id) and private key. */
export async function atlasKey(vt: Built, projectId: string | null, role: Role = 'PROJECT_OWNER'): Promise<{ publicKey: string; privateKey: string }> {
  const { record, secret } = await storeKey(vt.node, role, projectId, `atlas ${role}`, { type: 'atlas', secretBox: vt.node.secretBox });
  return { publicKey: record.id, privateKey: secret };
}

/** A service account: OAuth client id and secret. */
export async function serviceAccount(vt: Built, projectId: string | null, role: Role = 'PROJECT_OWNER'): Promise<{ clientId: string; clientSecret: string; keyId: string }> {
  const { record, secret } = await storeKey(vt.node, role, projectId, `service account ${role}`, { type: 'service-account' });
  return { clientId: serviceAccountClientId(record.id), clientSecret: secret, keyId: record.id };
}

/** A Bearer access token for a new service account, through POST /api/oauth/token. */
export async function accessToken(vt: Built, projectId: string | null, role: Role = 'PROJECT_OWNER'): Promise<string> {
  const account = await serviceAccount(vt, projectId, role);
  const response = await vt.app.inject({
    method: 'POST',
    url: '/api/oauth/token',
    headers: { authorization: `Basic ${Buffer.from(`${account.clientId}:${account.clientSecret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    payload: 'grant_type=client_credentials',
  });
  if (response.statusCode !== 200) throw new Error(`couldn't get a token: ${response.body}`);
  return response.json<{ access_token: string }>().access_token;
}
