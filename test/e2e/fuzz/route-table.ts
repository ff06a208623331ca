import 'reflect-metadata';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { QUEUE_BOARD_PATH } from '../../../apps/api/src/queue-board/queue-board';

/**
 * The API's routes as the built code declares them, so that the fuzz test can check that every
 * route is in its table: the controllers' decorators (read from the compiled classes, the same
 * metadata Nest routes by), the global prefix and its exclusions, and what main.ts and the
 * dashboard module mount on Express outside Nest's routing.
 */
const API_SRC = join(__dirname, '..', '..', '..', 'apps', 'api', 'src');

function filesUnder(dir: string, suffix: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return filesUnder(path, suffix);
    return entry.name.endsWith(suffix) ? [path] : [];
  });
}

const asList = (value: unknown): string[] => (Array.isArray(value) ? value.map(String) : [String(value ?? '')]);
const joinPath = (...parts: string[]): string => `/${parts.map((p) => p.replace(/^\/+|\/+$/g, '')).filter((p) => p !== '').join('/')}`;

/** The prefix main.ts sets, and the controller paths it leaves outside the prefix. */
function globalPrefix(): { prefix: string; exclude: string[] } {
  const main = readFileSync(join(API_SRC, 'main.js'), 'utf8');
  const call = /setGlobalPrefix\('([^']*)'(?:,\s*\{\s*exclude:\s*\[([^\]]*)\])?/.exec(main);
  if (!call) throw new Error('main.js sets no global prefix the route table can read');
  const exclude = [...(call[2] ?? '').matchAll(/'([^']*)'/g)].map((m) => m[1]!.replace(/^\/+/, ''));
  return { prefix: call[1]!, exclude };
}

/** `METHOD /path` for every handler of every controller under apps/api/src. */
export function controllerRoutes(): string[] {
  const { prefix, exclude } = globalPrefix();
  const routes = new Set<string>();
  for (const file of filesUnder(API_SRC, '.controller.js')) {
    const exports = require(file) as Record<string, unknown>;
    for (const value of Object.values(exports)) {
      if (typeof value !== 'function' || Reflect.getMetadata('__controller__', value) !== true) continue;
      const controller = value as { prototype: Record<string, unknown> };
      for (const base of asList(Reflect.getMetadata(PATH_METADATA, controller))) {
        const prefixed = exclude.includes(base.replace(/^\/+/, '')) ? '' : prefix;
        for (const name of Object.getOwnPropertyNames(controller.prototype)) {
          const handler = controller.prototype[name];
          if (typeof handler !== 'function' || name === 'constructor') continue;
          const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
          const paths = Reflect.getMetadata(PATH_METADATA, handler) as unknown;
          if (method === undefined || paths === undefined) continue;
          for (const path of asList(paths)) routes.add(`${RequestMethod[method]} ${joinPath(prefixed, base, path)}`);
        }
      }
    }
  }
  return [...routes].sort();
}

/** Known path constants a mount may use, by name. */
const MOUNT_CONSTANTS: Record<string, string> = { QUEUE_BOARD_PATH };

/** `MOUNT /path` for what main.ts and the dashboard module put on Express beside the controllers, and the OpenAPI page. */
export function expressMounts(): string[] {
  const mounts = new Set<string>();
  for (const file of [join(API_SRC, 'main.js'), ...filesUnder(join(API_SRC, 'dashboard'), '.js')]) {
    const code = readFileSync(file, 'utf8');
    for (const use of code.matchAll(/\.use\(\s*(?:'([^']*)'|([\w.]*_PATH)\b)/g)) {
      if (use[1] !== undefined) mounts.add(`MOUNT ${use[1]}`);
      else {
        const name = use[2]!.split('.').pop()!;
        const path = MOUNT_CONSTANTS[name];
        if (path === undefined) throw new Error(`${file} mounts ${use[2]}: add it to the route table's constants`);
        mounts.add(`MOUNT ${path}`);
      }
    }
    for (const docs of code.matchAll(/SwaggerModule\.setup\(\s*'([^']*)'/g)) mounts.add(`MOUNT ${joinPath(docs[1]!)}`);
  }
  return [...mounts].sort();
}
