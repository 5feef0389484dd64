import { describe, expect, it, vi } from 'vitest';
import {
  BROKER_NETWORK_CODES,
  BrokerSecret,
  brokerTlsOptions,
  envBrokerTls,
  errorCode,
  withDeadline,
} from './broker.ts';
import { ConfigurationError, TimeoutError } from './errors.ts';

describe('Function: envBrokerTls', () => {
  it('defaults to verify-full and refuses anything but the two modes', () => {
    // Prepare
    const schema = envBrokerTls('RabbitMQ');
    // Assess
    expect(schema.parse(undefined)).toBe('verify-full');
    expect(schema.parse('disable')).toBe('disable');
    expect(schema.safeParse('insecure').success).toBe(false);
    expect(schema.description).toContain('RabbitMQ');
  });
});

describe('Function: brokerTlsOptions', () => {
  it('verifies the chain and the host name, presenting no client certificate without one', () => {
    // Act
    const options = brokerTlsOptions('verify-full', 'mq.example.com', {}, 'MQ_SECRET');
    // Assess
    expect(options).toEqual({ rejectUnauthorized: true, servername: 'mq.example.com' });
  });

  it('sends no SNI name for an IP address, and presents a client certificate with its key', () => {
    // Act
    const options = brokerTlsOptions(
      'verify-full',
      '10.0.0.7',
      { clientCert: 'CERT PEM', clientKey: 'KEY PEM' },
      'MQ_SECRET',
    );
    // Assess
    expect(options).toEqual({ rejectUnauthorized: true, cert: 'CERT PEM', key: 'KEY PEM' });
  });

  it('answers no TLS options for plain TCP', () => {
    expect(brokerTlsOptions('disable', '127.0.0.1', { username: 'u' }, 'MQ_SECRET')).toBeUndefined();
  });

  it('refuses half a client certificate pair, and a client certificate without TLS, naming the setting', () => {
    // Act
    const half = () => brokerTlsOptions('verify-full', 'h', { clientCert: 'CERT PEM' }, 'MQ_SECRET');
    const plain = () =>
      brokerTlsOptions('disable', 'h', { clientCert: 'CERT PEM', clientKey: 'KEY PEM' }, 'MQ_SECRET');
    // Assess
    expect(half).toThrow(ConfigurationError);
    expect(half).toThrow(/MQ_SECRET holds only one of clientCert and clientKey/);
    expect(plain).toThrow(/needs TLS/);
  });
});

describe('Model: BrokerSecret', () => {
  it('keeps the known fields and drops others', () => {
    expect(BrokerSecret.parse({ username: 'app', password: 'pw', extra: 1 })).toEqual({
      username: 'app',
      password: 'pw',
    });
    expect(BrokerSecret.safeParse({ username: '' }).success).toBe(false);
  });
});

describe('Function: errorCode', () => {
  it('finds the code on the error or on a cause, and answers undefined without one', () => {
    // Prepare
    const socket = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const wrapped = new Error('driver failed', { cause: socket });
    // Assess
    expect(errorCode(socket)).toBe('ECONNREFUSED');
    expect(errorCode(wrapped)).toBe('ECONNREFUSED');
    expect(errorCode(new Error('plain'))).toBeUndefined();
    expect(errorCode('not an error')).toBeUndefined();
    expect(BROKER_NETWORK_CODES.has('ECONNRESET')).toBe(true);
    expect(['ENETDOWN', 'ECONNABORTED', 'EAI_AGAIN'].every((code) => BROKER_NETWORK_CODES.has(code))).toBe(
      true,
    );
  });
});

describe('Function: withDeadline', () => {
  it('answers the value, or the failure, that comes in time', async () => {
    await expect(withDeadline(Promise.resolve(7), 1_000, 'x')).resolves.toBe(7);
    await expect(withDeadline(Promise.reject(new Error('nack')), 1_000, 'x')).rejects.toThrow('nack');
  });

  it('rejects with a TimeoutError naming the wait, after running onTimeout, when nothing comes', async () => {
    // Prepare
    vi.useFakeTimers();
    const onTimeout = vi.fn();
    try {
      // Act
      const waiting = withDeadline(new Promise<never>(() => undefined), 500, 'RabbitMQ confirms', onTimeout);
      const outcome = waiting.catch((error: unknown) => error);
      await vi.advanceTimersByTimeAsync(500);
      // Assess
      const error = await outcome;
      expect(error).toBeInstanceOf(TimeoutError);
      expect((error as Error).message).toBe('RabbitMQ confirms did not answer within 500 ms');
      expect(onTimeout).toHaveBeenCalledOnce();
    } finally {
      vi.useRealTimers();
    }
  });
});
