import { describe, expect, it } from 'vitest';
import { dockerOfMachine } from '../helpers/docker-runner.js';
import { InfrastructureError } from '../../src/core/index.js';
import { LocalProvider } from '../../providers/local/index.js';

const target = (options: Record<string, unknown> = {}) => ({ name: 'here', provider: 'local', options });

describe('LocalProvider', () => {
  it('acquires this machine once its Docker engine answers, with hardware facts', async () => {
    const provider = new LocalProvider();
    const machine = await provider.acquire(target(), AbortSignal.timeout(10_000));
    expect(machine).toMatchObject({ provider: 'local', instanceType: 'local', localCgroups: true });
    expect(machine.hardware?.cpuCores).toBeGreaterThan(0);
    expect(machine.hardware?.memoryBytes).toBeGreaterThan(0);
    expect((await dockerOfMachine(machine).version()).ApiVersion).toMatch(/^\d+\.\d+$/);
    await provider.release(machine, AbortSignal.timeout(1000));
    await provider.release(machine, AbortSignal.timeout(1000)); // idempotent
  });

  it('says which socket did not answer and how to start the engine', async () => {
    const err = await new LocalProvider()
      .acquire(target({ docker: { socketPath: '/tmp/no-docker-here.sock' } }), AbortSignal.timeout(10_000))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InfrastructureError);
    expect((err as Error).message).toMatch(
      /Docker engine at \/tmp\/no-docker-here\.sock does not answer.*scripts\/services up docker/,
    );
  });
});
