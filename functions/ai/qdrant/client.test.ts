/**
 * The vector-store conformance suite on the Qdrant contract fake, which does Qdrant's real search
 * (normalised cosine, dot, Euclidean distance) and filter semantics, and the filter translation itself.
 */
import { describe, expect, it } from 'vitest';
import { describeVectorStoreConformance } from '#shared/interfaces/vector-store.conformance.ts';
import { QDRANT_SANDBOX_KEY, startQdrantFake } from '../../../scripts/local/sandboxes/qdrant.ts';
import { pointId, QdrantStore, qdrantApi, qdrantFilter } from './client.ts';

describeVectorStoreConformance('QdrantStore on the Qdrant contract fake', async () => {
  const fake = await startQdrantFake();
  const store = new QdrantStore(qdrantApi.client({ baseUrl: fake.url, credential: QDRANT_SANDBOX_KEY }));
  return {
    store,
    // A raw upsert to the fake, as LangChain or Qdrant's own clients write points: any JSON payload.
    writeForeign: async (collection, namespace, records) => {
      const response = await fetch(`${fake.url}/collections/${collection}/points?wait=true`, {
        method: 'PUT',
        headers: { 'api-key': QDRANT_SANDBOX_KEY, 'content-type': 'application/json' },
        body: JSON.stringify({
          points: records.map((r) => ({
            id: pointId(namespace, r.id),
            vector: r.values,
            payload: { namespace, id: r.id, page_content: `text of ${r.id}`, metadata: r.metadata },
          })),
        }),
      });
      expect(response.status).toBe(200);
    },
    close: async () => {
      store.close();
      await fake.close();
    },
  };
});

describe('Function: qdrantFilter', () => {
  it('maps each operator onto Qdrant conditions under metadata.<field>', () => {
    // Act
    const filter = qdrantFilter({
      genre: 'drama',
      score: 2.5,
      year: { $gte: 2020, $lt: 2024 },
      lang: { $nin: ['en', 'fr'] },
      $or: [{ free: true }, { tag: { $ne: 'x' } }],
    });
    // Assess
    expect(filter).toEqual({
      must: [
        { key: 'metadata.genre', match: { value: 'drama' } },
        { key: 'metadata.score', range: { gte: 2.5, lte: 2.5 } },
        { key: 'metadata.year', range: { gte: 2020, lt: 2024 } },
        {
          must_not: [
            { key: 'metadata.lang', match: { value: 'en' } },
            { key: 'metadata.lang', match: { value: 'fr' } },
          ],
        },
        {
          should: [
            { must: [{ key: 'metadata.free', match: { value: true } }] },
            { must: [{ must_not: [{ key: 'metadata.tag', match: { value: 'x' } }] }] },
          ],
        },
      ],
    });
  });

  it('derives one UUID per namespace and id', () => {
    // Act
    const ids = [pointId('', 'a'), pointId('', 'a'), pointId('t', 'a'), pointId('', 'b')];
    // Assess
    expect(ids[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(new Set(ids).size).toBe(3);
  });
});
