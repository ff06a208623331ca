import type { NextFunction, Request, RequestHandler, Response } from 'express';

/**
 * The key a request carries: `Authorization: Bearer <key>`, or HTTP Basic with the key as the
 * password (any user name), which is what a browser can send when it navigates to a page.
 */
export function keyFromRequest(req: Pick<Request, 'headers'>): string | null {
  const header = req.headers.authorization ?? '';
  const bearer = /^Bearer (.+)$/.exec(header);
  if (bearer) return bearer[1]!;
  const basic = /^Basic ([A-Za-z0-9+/=]+)$/.exec(header);
  if (!basic) return null;
  const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? null : decoded.slice(colon + 1);
}

/** Whether a presented key may see the operator pages: the API's named keys, `read` scope or more. */
export type OperatorKeyCheck = (key: string) => Promise<boolean>;

/**
 * Express middleware for the pages outside Nest's routing (the queue board): 401 with a Basic
 * challenge, so a browser asks for the key, unless the request carries a key the check accepts.
 */
export function operatorAuth(check: OperatorKeyCheck): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const given = keyFromRequest(req);
    const refuse = () =>
      res
        .status(401)
        .set('WWW-Authenticate', 'Basic realm="tfleet"')
        .json({ statusCode: 401, message: given === null ? 'missing API key: send Authorization: Bearer <key>, or sign in with the key as the password' : 'wrong API key' });
    if (given === null) {
      refuse();
      return;
    }
    check(given).then(
      (allowed) => (allowed ? next() : refuse()),
      () => res.status(500).json({ statusCode: 500, message: 'internal error' }),
    );
  };
}
