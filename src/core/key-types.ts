/**
 * How a key may authenticate, besides the native `Authorization: Bearer <key>` every key has:
 *  - `native`: only that;
 *  - `atlas`: also HTTP Digest as an Atlas programmatic API key pair (public key = key id,
 *    private key = the key), for the Atlas dialect (spec/atlas.md §7.1);
 *  - `service-account`: also OAuth 2 client credentials (client id `mdb_sa_id_<key id>`,
 *    client secret = the key), which yield Bearer access tokens (spec/atlas.md §7.3).
 */
export const KEY_TYPES = ['native', 'atlas', 'service-account'] as const;
export type KeyType = (typeof KEY_TYPES)[number];
