import type * as Http from 'node:http';
import type * as Https from 'node:https';
import { createRequire } from 'node:module';

// An ESM `import * as http from 'node:http'` materialises every export of the module, including lazy
// ones that load undici and http2: about 15 ms of cold start that no connector uses. `require` does not.
const load = createRequire(import.meta.url);

/** `node:http`, loaded without materialising its lazy exports. */
export const http = load('node:http') as typeof Http;
/** `node:https`, loaded without materialising its lazy exports. */
export const https = load('node:https') as typeof Https;
