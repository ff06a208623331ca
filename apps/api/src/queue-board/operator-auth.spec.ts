import { keyFromRequest } from './operator-auth';

describe('operator auth', () => {
  const req = (authorization?: string) => ({ headers: authorization === undefined ? {} : { authorization } });

  it('takes the key from a Bearer token or a Basic password (any user name, colons in the key kept)', () => {
    expect(keyFromRequest(req('Bearer abc'))).toBe('abc');
    expect(keyFromRequest(req(`Basic ${Buffer.from('anyone:k:e:y').toString('base64')}`))).toBe('k:e:y');
    expect(keyFromRequest(req(`Basic ${Buffer.from('no-colon').toString('base64')}`))).toBeNull();
    expect(keyFromRequest(req('Digest x'))).toBeNull();
    expect(keyFromRequest(req())).toBeNull();
  });
});
