/**
 * The vector-store conformance suite on the Pinecone contract fake, which does Pinecone's real search
 * (cosine, dot product, squared Euclidean distance) and its metadata filter language.
 */
import { describeVectorStoreConformance } from '#shared/interfaces/vector-store.conformance.ts';
import { PINECONE_SANDBOX_KEY, startPineconeFake } from '../../../scripts/local/sandboxes/pinecone.ts';
import { PineconeStore } from './client.ts';
import { PineconeConfig } from './config.ts';

describeVectorStoreConformance('PineconeStore on the Pinecone contract fake', async () => {
  const fake = await startPineconeFake();
  const store = new PineconeStore(PineconeConfig.parse({ PINECONE_API_URL: fake.url }), PINECONE_SANDBOX_KEY);
  return {
    store,
    close: async () => {
      store.close();
      await fake.close();
    },
  };
});
