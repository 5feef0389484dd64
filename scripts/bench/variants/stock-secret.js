/**
 * Stock variant with a secret: the stock HTTP stack plus the API token fetched during init with
 * Powertools parameters, as its documentation suggests. For the cold start comparison.
 */
import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import { handler as createItemHandler } from './stock-http.js';

const token = await getSecret(process.env.BENCH_SECRET_NAME ?? 'bench/api-token');

export const handler = async (event, context) => {
  if (typeof token !== 'string' || token.length === 0)
    return { statusCode: 503, body: '{"title":"No API token"}' };
  return createItemHandler(event, context);
};
