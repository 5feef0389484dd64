/**
 * The local stack's default Redis (scripts/local/stores/redis.ts): which functions use the machine's
 * Redis, how their environment is pointed at it, and what start-up says when it does not answer.
 */
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { LocalFunction } from '../../scripts/local/config/model.ts';
import {
  applyRedisEnvironment,
  localRedisSummary,
  planLocalRedis,
  REDIS_ABSENT,
} from '../../scripts/local/stores/redis.ts';
import { freePort } from '../peers/tls.ts';

const SECRET = 'circle-core/dev/redis/credentials';

const fn = (key: string, environment: Record<string, string>): LocalFunction => ({
  key,
  name: `circle-core-dev-${key}`,
  arn: `arn:aws:lambda:us-east-1:000000000000:function:circle-core-dev-${key}`,
  handler: 'index.handler',
  timeoutSeconds: 28,
  memorySize: 512,
  environment,
  routes: [],
  queues: [],
  schedules: [],
});

const redis = fn('redis', { REDIS_HOST: 'redis.example', REDIS_TLS: 'verify-full', REDIS_SECRET: SECRET });

describe('Local stack: the default Redis', () => {
  it('serves the redis function from the machine Redis unless the shell or a stored secret names another', async () => {
    // Prepare
    const server = createServer((socket) => socket.end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const shell = { CIRCLE_LOCAL_REDIS_URL: `redis://127.0.0.1:${port}` };
    const warnings: string[] = [];

    // Act
    const plan = await planLocalRedis([redis, fn('s3', {})], shell, new Set(), (message) =>
      warnings.push(message),
    );
    const withHost = await planLocalRedis(
      [redis],
      { ...shell, REDIS_HOST: 'cache.internal' },
      new Set(),
      () => 0,
    );
    const withSecret = await planLocalRedis([redis], shell, new Set([SECRET]), () => 0);
    server.close();

    // Assess
    expect(plan).toEqual({ url: shell.CIRCLE_LOCAL_REDIS_URL, functions: new Set(['redis']), up: true });
    expect(warnings).toEqual([]);
    expect(localRedisSummary(plan)).toBe(`${shell.CIRCLE_LOCAL_REDIS_URL} (the machine's Redis)`);
    expect(withHost.functions.size).toBe(0);
    expect(withSecret.functions.size).toBe(0);
    expect(localRedisSummary(withSecret)).toMatch(/^not used/);
  });

  it('says clearly that Redis is down and how to start it', async () => {
    // Prepare
    const url = `redis://127.0.0.1:${await freePort()}`;
    const warnings: string[] = [];

    // Act
    const plan = await planLocalRedis([redis], { CIRCLE_LOCAL_REDIS_URL: url }, new Set(), (message) =>
      warnings.push(message),
    );

    // Assess
    expect(plan.up).toBe(false);
    expect(warnings).toEqual([REDIS_ABSENT]);
    expect(REDIS_ABSENT).toContain('redis-server --daemonize yes');
    expect(localRedisSummary(plan)).toContain('NOT RUNNING');
  });

  it('points the function at plain TCP without AUTH, and leaves other functions alone', () => {
    // Prepare
    const env = { ...redis.environment };
    const other = { S3_BUCKET: 'b' };

    // Act
    applyRedisEnvironment(redis, env, 'redis://127.0.0.1:6380');
    applyRedisEnvironment(fn('s3', other), other, 'redis://127.0.0.1:6380');

    // Assess
    expect(env).toEqual({ REDIS_HOST: '127.0.0.1', REDIS_PORT: '6380', REDIS_TLS: 'disable' });
    expect(other).toEqual({ S3_BUCKET: 'b' });
  });
});
