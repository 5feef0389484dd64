/**
 * The message-publisher conformance suite against its in-memory reference, once with every capability and
 * once with none (observed through the inner publisher's pull, as a subscriber would see it), so the suite
 * itself is proven: each capability test and each refusal test runs in one of the two. The connectors run
 * it against their brokers in their own test files.
 */
import { describeMessagePublisherConformance } from '../../shared/interfaces/message-publisher.conformance.ts';
import { inMemoryPublisher } from '../../shared/interfaces/testing/in-memory-publisher.ts';
import { messagePublisherWithoutCapabilities } from '../../shared/interfaces/testing/without-capabilities.ts';

describeMessagePublisherConformance('in-memory reference', async () => ({
  publisher: inMemoryPublisher(['events', 'audit']),
  disallowedDestination: 'elsewhere',
}));

describeMessagePublisherConformance('in-memory reference without optional capabilities', async () => {
  const inner = inMemoryPublisher(['events']);
  return {
    publisher: messagePublisherWithoutCapabilities(inner),
    collect: async () => {
      const { messages } = await inner.receive({ maxMessages: 10, waitTimeMs: 0 });
      if (messages.length > 0)
        await inner.acknowledge({ receipts: messages.map((message) => message.receipt) });
      return messages;
    },
  };
});
