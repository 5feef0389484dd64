/**
 * The LLM contract fakes' streamed answers over real HTTP, as each provider's reference frames them:
 * OpenAI's chat completion chunks (`data: {chunk}` ... `data: [DONE]`) and Anthropic's message events
 * (`message_start` ... `message_stop`). The frames arrive one at a time: each fake holds frame 1 until the
 * client has read frame 0 (its `streamGate`), so the first frame is seen before the last is produced, with
 * no timing assertion. The streamed answer is the non-streamed one cut into pieces.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ANTHROPIC_SANDBOX_TOKEN,
  ANTHROPIC_VERSION,
  type AnthropicFakeState,
  startAnthropicFake,
} from '../../scripts/local/sandboxes/anthropic.ts';
import type { FakeServer } from '../../scripts/local/sandboxes/kit/index.ts';
import type { StreamGate } from '../../scripts/local/sandboxes/llm-behaviour.ts';
import {
  OPENAI_SANDBOX_TOKEN,
  type OpenaiFakeState,
  startOpenaiFake,
} from '../../scripts/local/sandboxes/openai.ts';

interface Frame {
  event?: string;
  data: string;
}

/** A gate that holds frame 1 until `release()`, and records every frame the fake was let produce. */
function holdSecondFrame(): { gate: StreamGate; release: () => void; passed: number[] } {
  let release: () => void = () => undefined;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  const passed: number[] = [];
  const gate: StreamGate = async (index) => {
    if (index === 1) await released;
    passed.push(index);
  };
  return { gate, release, passed };
}

/**
 * Reads the SSE frames of a response as they arrive; `onFirst` runs once the first frame has been read,
 * before the reader asks for more.
 */
async function readFrames(response: Response, onFirst: () => void): Promise<Frame[]> {
  const reader = response.body?.getReader();
  if (reader === undefined) throw new Error('no body');
  const decoder = new TextDecoder();
  const frames: Frame[] = [];
  let buffered = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return frames;
    buffered += decoder.decode(value, { stream: true });
    for (let end = buffered.indexOf('\n\n'); end >= 0; end = buffered.indexOf('\n\n')) {
      const text = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      const event = /^event: (.*)$/m.exec(text)?.[1];
      frames.push({ ...(event === undefined ? {} : { event }), data: /^data: (.*)$/m.exec(text)?.[1] ?? '' });
      if (frames.length === 1) onFirst();
    }
  }
}

const WEATHER_TOOL = {
  name: 'get_weather',
  description: 'The weather in a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

describe('OpenAI fake: chat completions with stream: true', () => {
  let fake: FakeServer<OpenaiFakeState>;
  beforeAll(async () => {
    fake = await startOpenaiFake();
  });
  afterAll(async () => {
    await fake?.close();
  });

  const chat = (body: Record<string, unknown>) =>
    fetch(`${fake.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${OPENAI_SANDBOX_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', ...body }),
    });

  it('sends chunk objects one by one: role, content pieces, finish_reason, usage, [DONE]', async () => {
    // Prepare
    const { gate, release, passed } = holdSecondFrame();
    fake.state.streamGate = gate;
    const messages = [{ role: 'user', content: 'Reply with: hello streaming world' }];

    // Act
    const response = await chat({ messages, stream: true, stream_options: { include_usage: true } });
    let passedWhenFirstRead: number[] = [];
    const frames = await readFrames(response, () => {
      passedWhenFirstRead = [...passed];
      release();
    });
    const whole = (await (await chat({ messages })).json()) as {
      choices: { message: { content: string } }[];
      usage: unknown;
    };

    // Assess: nothing after frame 0 existed when the client read it.
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(passedWhenFirstRead).toEqual([]);
    expect(frames.at(-1)?.data).toBe('[DONE]');
    const chunks = frames.slice(0, -1).map((frame) => JSON.parse(frame.data));
    expect(chunks.every((chunk) => chunk.object === 'chat.completion.chunk')).toBe(true);
    expect(chunks[0].choices[0].delta).toEqual({ role: 'assistant', content: '', refusal: null });
    const contents = chunks.flatMap((chunk) =>
      chunk.choices.length > 0 && typeof chunk.choices[0].delta.content === 'string'
        ? [chunk.choices[0].delta.content]
        : [],
    );
    expect(contents).toEqual(['', 'hello', ' streaming', ' world']);
    expect(contents.join('')).toBe(whole.choices[0]?.message.content);
    expect(chunks.at(-2).choices[0].finish_reason).toBe('stop');
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: whole.usage });
    expect(new Set(chunks.map((chunk) => chunk.id)).size).toBe(1);
  });

  it('streams a tool call: id and name first, then the arguments in slices, finish_reason tool_calls', async () => {
    // Prepare
    delete fake.state.streamGate;
    const body = {
      messages: [{ role: 'user', content: 'What is get_weather in Paris?' }],
      tools: [{ type: 'function', function: WEATHER_TOOL }],
    };

    // Act
    const frames = await readFrames(await chat({ ...body, stream: true }), () => undefined);
    const whole = (await (await chat(body)).json()) as {
      choices: { message: { tool_calls: { function: { name: string; arguments: string } }[] } }[];
    };

    // Assess
    const chunks = frames.slice(0, -1).map((frame) => JSON.parse(frame.data));
    const calls = chunks.flatMap((chunk) => chunk.choices[0].delta.tool_calls ?? []);
    expect(calls[0]).toMatchObject({ index: 0, id: expect.stringMatching(/^call_/), type: 'function' });
    expect(calls[0].function.name).toBe('get_weather');
    const args = calls.map((call: { function: { arguments: string } }) => call.function.arguments).join('');
    expect(calls.length).toBeGreaterThan(2);
    expect(JSON.parse(args)).toEqual(
      JSON.parse(whole.choices[0]?.message.tool_calls[0]?.function.arguments ?? ''),
    );
    expect(chunks.at(-1).choices[0].finish_reason).toBe('tool_calls');
    expect(chunks.every((chunk) => !('usage' in chunk))).toBe(true);
  });
});

describe('Anthropic fake: messages with stream: true', () => {
  let fake: FakeServer<AnthropicFakeState>;
  beforeAll(async () => {
    fake = await startAnthropicFake();
  });
  afterAll(async () => {
    await fake?.close();
  });

  const message = (body: Record<string, unknown>) =>
    fetch(`${fake.url}/v1/messages`, {
      method: 'POST',
      headers: {
        'x-api-key': ANTHROPIC_SANDBOX_TOKEN,
        'anthropic-version': ANTHROPIC_VERSION,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ model: 'claude-3-5-haiku-latest', max_tokens: 100, ...body }),
    });

  it('sends the events in the reference order, each as it is produced', async () => {
    // Prepare
    const { gate, release, passed } = holdSecondFrame();
    fake.state.streamGate = gate;
    const messages = [{ role: 'user', content: 'Reply with: hello streaming world' }];

    // Act
    const response = await message({ messages, stream: true });
    let passedWhenFirstRead: number[] = [];
    const frames = await readFrames(response, () => {
      passedWhenFirstRead = [...passed];
      release();
    });
    const whole = (await (await message({ messages })).json()) as {
      content: { text: string }[];
      usage: { input_tokens: number; output_tokens: number };
    };

    // Assess
    expect(passedWhenFirstRead).toEqual([]);
    expect(frames.map((frame) => frame.event)).toEqual([
      'message_start',
      'content_block_start',
      'ping',
      'content_block_delta',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    const data = frames.map((frame) => JSON.parse(frame.data));
    expect(data.map((item) => item.type)).toEqual(frames.map((frame) => frame.event));
    expect(data[0].message).toMatchObject({ role: 'assistant', content: [], stop_reason: null });
    expect(data[0].message.usage.input_tokens).toBe(whole.usage.input_tokens);
    const text = data
      .filter((item) => item.type === 'content_block_delta')
      .map((item) => item.delta.text)
      .join('');
    expect(text).toBe(whole.content[0]?.text);
    expect(data[7]).toMatchObject({
      delta: { stop_reason: 'end_turn', stop_sequence: null },
      usage: { output_tokens: whole.usage.output_tokens },
    });
  });

  it('streams tool use as a tool_use block start and input_json_delta slices', async () => {
    // Prepare
    delete fake.state.streamGate;
    const body = {
      messages: [{ role: 'user', content: 'What is get_weather in Paris?' }],
      tools: [
        {
          name: WEATHER_TOOL.name,
          description: WEATHER_TOOL.description,
          input_schema: WEATHER_TOOL.parameters,
        },
      ],
    };

    // Act
    const frames = await readFrames(await message({ ...body, stream: true }), () => undefined);
    const whole = (await (await message(body)).json()) as { content: { input: unknown }[] };

    // Assess
    const data = frames.map((frame) => JSON.parse(frame.data));
    expect(data[1].content_block).toMatchObject({ type: 'tool_use', name: 'get_weather', input: {} });
    const json = data
      .filter((item) => item.type === 'content_block_delta')
      .map((item) => {
        expect(item.delta.type).toBe('input_json_delta');
        return item.delta.partial_json;
      })
      .join('');
    expect(JSON.parse(json)).toEqual(whole.content[0]?.input);
    expect(data.at(-2).delta.stop_reason).toBe('tool_use');
  });
});
