import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { exportJWK, SignJWT, type JWK, type JWTPayload } from 'jose';

/** HS256 secret used by the tests (32+ bytes). */
export const HS_SECRET = 'a-test-secret-of-at-least-32-bytes-long!';

/** Key pairs for RS256 and EdDSA. */
export const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
export const ed = generateKeyPairSync('ed25519');

/** The public half as SPKI PEM. */
export function pem(key: KeyObject): string {
  return key.export({ type: 'spki', format: 'pem' }).toString();
}

/** A JWK of a public key, with kid and alg. */
export async function jwk(key: KeyObject, kid: string, alg: string): Promise<JWK> {
  return { ...(await exportJWK(key)), kid, alg, use: 'sig' };
}

/**
 * Signs a token; `now` is seconds since the epoch. `iat` is `issuedAt` (default `now`, `null`:
 * none); `exp` is `now + expiresIn` (default 300 s; `null`: no `exp`).
 */
export function token(
  claims: JWTPayload,
  options: {
    alg?: 'HS256' | 'RS256' | 'EdDSA';
    key?: KeyObject | Uint8Array;
    now: number;
    expiresIn?: number | null;
    issuedAt?: number | null;
    audience?: string;
    issuer?: string;
    kid?: string;
  },
): Promise<string> {
  const alg = options.alg ?? 'HS256';
  const key =
    options.key ??
    (alg === 'HS256'
      ? new TextEncoder().encode(HS_SECRET)
      : alg === 'RS256'
        ? rsa.privateKey
        : ed.privateKey);
  let jwt = new SignJWT(claims).setProtectedHeader({
    alg,
    ...(options.kid ? { kid: options.kid } : {}),
  });
  if (options.issuedAt !== null) jwt = jwt.setIssuedAt(options.issuedAt ?? options.now);
  if (options.expiresIn !== null)
    jwt = jwt.setExpirationTime(options.now + (options.expiresIn ?? 300));
  if (options.audience !== null) jwt = jwt.setAudience(options.audience ?? 'causeway');
  jwt = jwt.setIssuer(options.issuer ?? 'https://id.example.test/');
  return jwt.sign(key);
}
