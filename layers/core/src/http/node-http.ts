import type * as Http from 'node:http';
import type * as Https from 'node:https';
import type * as Zlib from 'node:zlib';

// An ESM `import * as http from 'node:http'` materialises every export of the module, including lazy
// ones that load undici and http2: about 15 ms of cold start that no connector uses. Loading the CommonJS
// exports on first property access also spares connectors without an HTTP provider (S3 through the SDK,
// PostgreSQL) `node:https` and the TLS stack it pulls in at init: several milliseconds more.
function onFirstUse<T extends object>(id: 'node:http' | 'node:https' | 'node:zlib'): T {
  let loaded: T | undefined;
  return new Proxy({} as T, {
    get: (_target, key) => {
      loaded ??= process.getBuiltinModule(id) as T;
      return Reflect.get(loaded, key);
    },
  });
}

/** `node:http`, loaded on first use without materialising its lazy exports. */
export const http = onFirstUse<typeof Http>('node:http');
/** `node:https`, loaded on first use without materialising its lazy exports. */
export const https = onFirstUse<typeof Https>('node:https');
/** `node:zlib`, loaded on first use: only a compressed answer needs it (see `transport.ts`). */
export const zlib = onFirstUse<typeof Zlib>('node:zlib');
