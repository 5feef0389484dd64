/**
 * The models of the LLM interface (OpenAI, Anthropic, Amazon Bedrock, ...): chat with tools, structured
 * output checked against a JSON Schema, embeddings, and what every call used and cost. Inputs are strict
 * (`z.strictObject`): an unknown field is a 400 naming it. JSON Schemas given in inputs (tool parameters,
 * the shape of a structured answer) are data, kept as records: the model provider reads their grammar.
 */
import * as z from 'zod';

/** The longest text a message may carry here (about 250k tokens); providers cap by tokens below it. */
export const MAX_MESSAGE_CHARS = 1_000_000;
/** Messages in one conversation. */
export const MAX_MESSAGES = 500;
/** Tools declared on one call (OpenAI's limit is 128). */
export const MAX_TOOLS = 128;
/** Texts embedded in one call (OpenAI accepts 2048 inputs; Bedrock Titan one: connectors split). */
export const MAX_EMBED_INPUTS = 256;

/** A model id; absent means the connector's configured default. */
export const ModelId = z
  .string()
  .trim()
  .min(1)
  .max(200)
  .regex(/^[\w.:/@-]+$/, 'letters, digits and . _ : / @ - only')
  .describe('Model id, e.g. gpt-4o-mini or claude-3-5-haiku-latest; default: the connector setting');

/** A tool or schema name as providers accept it. */
export const ToolName = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, '1 to 64 letters, digits, _ or -')
  .describe('Function name the model calls, e.g. get_weather (1-64 of A-Z a-z 0-9 _ -)');

/** A JSON Schema as data. */
export const JsonSchemaObject = z
  .record(z.string(), z.unknown())
  .describe('A JSON Schema object, e.g. { "type": "object", "properties": { ... }, "required": [...] }');

/** One call of a tool the model asked for. */
export const ToolCall = z.object({
  id: z.string().min(1).max(200).describe('The provider id of this call; send it back as toolCallId'),
  name: ToolName,
  arguments: z.record(z.string(), z.unknown()).describe('The arguments, parsed from the model JSON'),
});
export type ToolCall = z.output<typeof ToolCall>;

const MessageContent = z.string().max(MAX_MESSAGE_CHARS);

/** One turn of a conversation. */
export const ChatMessage = z
  .discriminatedUnion('role', [
    z.strictObject({
      role: z.literal('user').describe('A person (or the calling workflow) speaking'),
      content: MessageContent.min(1).describe('What the user says'),
    }),
    z.strictObject({
      role: z.literal('assistant').describe('An earlier answer of the model'),
      content: MessageContent.optional().describe('What the model answered, if it answered text'),
      toolCalls: z
        .array(
          z.strictObject({
            id: ToolCall.shape.id,
            name: ToolName,
            arguments: z.record(z.string(), z.unknown()).describe('The arguments the model gave'),
          }),
        )
        .max(MAX_TOOLS)
        .optional()
        .describe('The tool calls the model asked for in that turn, as returned by complete-chat'),
    }),
    z.strictObject({
      role: z.literal('tool').describe('The result of a tool call, sent back to the model'),
      toolCallId: ToolCall.shape.id.describe('The id of the tool call this answers'),
      content: MessageContent.describe('The tool result, usually JSON text'),
    }),
  ])
  .describe('One message: user, assistant (text and/or tool calls) or tool (a result)');
export type ChatMessage = z.input<typeof ChatMessage>;

/** A function the model may call. */
export const ToolDeclaration = z.strictObject({
  name: ToolName,
  description: z.string().max(1024).optional().describe('What the tool does and when to call it'),
  parameters: JsonSchemaObject.describe('The JSON Schema of the arguments (an object schema)'),
});
export type ToolDeclaration = z.input<typeof ToolDeclaration>;

/** The generation settings shared by chat and structured output. */
const GenerationFields = {
  model: ModelId.optional(),
  system: z.string().min(1).max(MAX_MESSAGE_CHARS).optional().describe('System instructions'),
  messages: z
    .array(ChatMessage)
    .min(1)
    .max(MAX_MESSAGES)
    .describe('The conversation so far, oldest first; the last one is usually from the user'),
  temperature: z
    .number()
    .min(0)
    .max(2)
    .optional()
    .describe('Sampling temperature, 0 to 2 (Anthropic: 0 to 1)'),
  maxTokens: z
    .int()
    .min(1)
    .max(200_000)
    .optional()
    .describe('The most tokens to generate; default the setting'),
  stop: z
    .array(z.string().min(1).max(100))
    .min(1)
    .max(4)
    .optional()
    .describe('Up to 4 sequences at which generation stops; they are not part of the answer'),
};

/** A chat call. */
export const CompleteChatInput = z
  .strictObject({
    ...GenerationFields,
    tools: z.array(ToolDeclaration).min(1).max(MAX_TOOLS).optional().describe('Functions the model may call'),
    toolChoice: z
      .union([
        z.enum(['auto', 'none', 'required']),
        z.strictObject({ name: ToolName.describe('The tool the model must call') }),
      ])
      .optional()
      .describe('auto (default), none, required (some tool) or { name } (that tool); needs tools'),
  })
  .superRefine((value, context) => {
    if (value.toolChoice !== undefined && value.tools === undefined) {
      context.addIssue({ code: 'custom', path: ['toolChoice'], message: 'toolChoice needs tools' });
    }
    const names = new Set(value.tools?.map((tool) => tool.name));
    if (typeof value.toolChoice === 'object' && !names.has(value.toolChoice.name)) {
      context.addIssue({ code: 'custom', path: ['toolChoice', 'name'], message: 'names no declared tool' });
    }
    if (names.size !== (value.tools?.length ?? 0)) {
      context.addIssue({ code: 'custom', path: ['tools'], message: 'tool names must be unique' });
    }
  })
  .describe('A conversation to continue, optionally with tools the model may call');
export type CompleteChatInput = z.input<typeof CompleteChatInput>;

/** Tokens a call used. */
export const TokenUsage = z
  .object({
    inputTokens: z.int().min(0).describe('Prompt tokens billed'),
    outputTokens: z.int().min(0).describe('Generated tokens billed'),
    totalTokens: z.int().min(0).describe('inputTokens + outputTokens'),
  })
  .describe('Tokens the call used, as the provider counted them');
export type TokenUsage = z.output<typeof TokenUsage>;

/** What a call is estimated to cost, from the connector's price table. */
export const CallCost = z
  .object({
    currency: z.literal('USD').describe('Always USD, as providers publish prices'),
    estimated: z
      .number()
      .min(0)
      .nullable()
      .describe('Estimated cost from the price table; null when the model is not in the table'),
    pricedAs: z.string().nullable().describe('The price-table entry used (a model id prefix), or null'),
  })
  .describe('Estimated cost of the call from the price table kept beside the connector');
export type CallCost = z.output<typeof CallCost>;

/** Why generation stopped. */
export const FinishReason = z
  .enum(['stop', 'length', 'tool-calls', 'content-filter', 'other'])
  .describe('stop (done or a stop sequence), length (maxTokens), tool-calls, content-filter, other');
export type FinishReason = z.output<typeof FinishReason>;

export const CompleteChatOutput = z.object({
  model: z.string().describe('The model that answered, as the provider names it'),
  content: z.string().describe('The answer text; empty when the model only called tools'),
  toolCalls: z.array(ToolCall).describe('Tool calls the model asks for; run them and send tool messages'),
  finishReason: FinishReason,
  usage: TokenUsage,
  cost: CallCost,
});
export type CompleteChatOutput = z.output<typeof CompleteChatOutput>;

/** A call whose answer must be a JSON value matching a schema. */
export const GenerateObjectInput = z
  .strictObject({
    ...GenerationFields,
    schemaName: ToolName.default('answer').describe('A name for the schema (providers ask for one)'),
    schema: JsonSchemaObject.describe(
      'The JSON Schema the answer must match, e.g. { "type": "object", "properties": { "label": { "enum": ["bug", "feature"] } }, "required": ["label"] }',
    ),
  })
  // Whether zod can read the schema is checked where it is converted, before any model call
  // (generateValidated): the converter loads on first use, and this parse is synchronous.
  .describe('A conversation whose answer is JSON matching a schema (retried once when it does not)');
export type GenerateObjectInput = z.input<typeof GenerateObjectInput>;

export const GenerateObjectOutput = z.object({
  model: z.string().describe('The model that answered'),
  object: z.unknown().describe('The answer, parsed and validated against the schema'),
  attempts: z.int().min(1).max(2).describe('1, or 2 when the first answer did not match and was retried'),
  usage: TokenUsage.describe('Tokens of every attempt together'),
  cost: CallCost.describe('Cost of every attempt together'),
});
export type GenerateObjectOutput = z.output<typeof GenerateObjectOutput>;

export const EmbedTextsInput = z.strictObject({
  model: ModelId.optional().describe('Embedding model id, e.g. text-embedding-3-small; default the setting'),
  inputs: z
    .array(z.string().min(1).max(32_000))
    .min(1)
    .max(MAX_EMBED_INPUTS)
    .describe(`Texts to embed, 1 to ${MAX_EMBED_INPUTS}; vectors come back in the same order`),
  dimensions: z
    .int()
    .min(1)
    .max(8192)
    .optional()
    .describe('Shorter vectors where the model allows it (capability "dimensions"), e.g. 256'),
});
export type EmbedTextsInput = z.input<typeof EmbedTextsInput>;

export const EmbedTextsOutput = z.object({
  model: z.string().describe('The model that embedded'),
  dimensions: z.int().min(1).describe('The length of every vector'),
  embeddings: z.array(z.array(z.number())).describe('One vector per input, in input order'),
  usage: TokenUsage.describe('Tokens read (outputTokens is 0)'),
  cost: CallCost,
});
export type EmbedTextsOutput = z.output<typeof EmbedTextsOutput>;

/** One model's published prices. */
export const ModelPrice = z.strictObject({
  inputPerMillion: z.number().min(0).describe('USD per million input tokens'),
  outputPerMillion: z.number().min(0).describe('USD per million output tokens (0 for embeddings)'),
});

/** A provider's price table as data (a JSON file beside the connector), keyed by model id prefix. */
export const PriceTable = z.strictObject({
  provider: z.string().min(1).describe('Whose prices these are'),
  source: z.string().min(1).describe('Where the prices were read (a pricing page)'),
  asOf: z.iso.date().describe('When they were read'),
  models: z.record(z.string().min(1), ModelPrice).describe('Model id (or prefix) -> prices'),
});
export type PriceTable = z.output<typeof PriceTable>;
