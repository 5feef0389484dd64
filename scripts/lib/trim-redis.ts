/**
 * node-redis (`@redis/client`) imports two optional peer packages a Lambda function never installs:
 * `@node-rs/xxhash` (a native module, for the client-side cache's `DIGEST`), loaded with a dynamic
 * `import()` in a try/catch, and `@opentelemetry/api`, loaded with a `require()` in a try/catch. Left as
 * they are, the build would leave the dynamic import external and refuse the bundle (nothing on Lambda
 * provides it). Both resolve here to a module that throws as a missing package does, so node-redis takes
 * its own "not installed" path. Only imports made from inside @redis/client are replaced.
 */
import type { Plugin } from 'esbuild';

const MISSING = (name: string): string =>
  `const error = new Error("Cannot find package '${name}' (not in this build)"); error.code = 'ERR_MODULE_NOT_FOUND'; throw error;\n`;

/**
 * The esbuild plugin replacing node-redis's optional peers with modules that fail to load.
 *
 * @example
 * ```ts
 * await build({ ...options, plugins: [trimRedis] });
 * ```
 */
export const trimRedis: Plugin = {
  name: 'trim-redis',
  setup(build) {
    build.onResolve({ filter: /^(@node-rs\/xxhash|@opentelemetry\/api)$/ }, (args) =>
      /[\\/]node_modules[\\/]@redis[\\/]client[\\/]/.test(args.importer)
        ? { path: args.path, namespace: 'trim-redis' }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'trim-redis' }, (args) => ({
      contents: MISSING(args.path),
      loader: 'js',
    }));
  },
};
