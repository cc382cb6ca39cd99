/**
 * bpfman's gRPC API through BpfmanClient against a real bpfman-rpc 0.6.0: errors carry bpfman's
 * own reasons. These calls load nothing, so they run on every kernel.
 */
import { BpfmanClient, BpfmanError } from '../../sidecar/loader/bpfman/client';
import { META } from '../../sidecar/loader/bpfman/loader';
import { bpfman, INSTANCE, ourPrograms, PROGRAM, useBpfmanDaemon } from './bpfman-fixture';

useBpfmanDaemon();

describe('BpfmanClient', () => {
  test('errors carry bpfman\'s own message', async () => {
    const err = await bpfman.client.get(4_000_000_000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BpfmanError);
    expect((err as BpfmanError).method).toBe('Get');
    expect((err as BpfmanError).details).toMatch(/Program 4000000000 does not exist/);
    expect((err as BpfmanError).message).toBe(`bpfman Get failed: ${(err as BpfmanError).details}`);
  });

  test('attach, detach and unload of unknown ids fail with bpfman\'s reason', async () => {
    await expect(bpfman.client.attachXdp(4_000_000_000, { iface: 'lo', priority: 50 })).rejects.toThrow(
      /^bpfman Attach failed: .*does not exist/,
    );
    await expect(bpfman.client.unload(4_000_000_000)).rejects.toThrow(/^bpfman Unload failed: .*does not exist/);
    await expect(bpfman.client.detach(4_000_000_000)).rejects.toThrow(/^bpfman Detach failed: .*link_4000000000/);
  });

  test('a missing object file is refused with bpfman\'s reason', async () => {
    const err = await bpfman.client
      .load({ objectPath: '/nonexistent/santa.bpf.o', programName: PROGRAM, metadata: { [META.instance]: INSTANCE } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BpfmanError);
    expect((err as Error).message).toMatch(/^bpfman Load failed: .*No such file or directory/);
    expect(await ourPrograms()).toEqual([]);
  });

  test('an unreachable socket is reported as such, within the deadline', async () => {
    const client = new BpfmanClient({ socketPath: '/run/santa-no-such-dir/bpfman.sock', timeoutMs: 2_000 });
    try {
      await expect(client.list()).rejects.toThrow(/bpfman List: (cannot reach bpfman at \/run\/santa-no-such-dir\/bpfman.sock|no answer)/);
    } finally {
      client.close();
    }
  });
});

