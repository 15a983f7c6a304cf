// The guard both embedding examples are tested with: writers need `x-api-key: writer`;
// anyone may read.
import { CausewayError, type AccessGuard, type Principal } from '@causewayjs/core';

export const writerKeyGuard: AccessGuard = {
  authenticate({ headers }): Promise<Principal | undefined> {
    const key = headers['x-api-key'];
    if (key === undefined) return Promise.resolve(undefined);
    if (key !== 'writer') return Promise.reject(new CausewayError('AUTH_INVALID', 'Unknown key'));
    return Promise.resolve({ id: 'writer', roles: [] });
  },
  can: (principal, permission) => permission === 'read' || principal !== undefined,
};
