/**
 * Can bpfman load an XDP program on this kernel? Starts a real bpfman-rpc, loads santa.bpf.o
 * once and unloads it. Exit status: 0 yes; 3 the kernel refuses freplace (BPF_PROG_TYPE_EXT)
 * programs, which bpfman needs for every XDP program (the reason is printed); 1 anything else.
 * test/run-all.sh uses it to report the bpfman load suite as blocked rather than run it.
 */
import { resolve } from 'node:path';
import { requireBpfmanXdpLoads, startBpfman } from './bpfman';
import { PreconditionError } from './require-root';

async function main(): Promise<number> {
  const daemon = await startBpfman();
  try {
    await requireBpfmanXdpLoads(daemon, resolve(__dirname, '../../xdp/build/santa.bpf.o'), 'santa_xdp');
    console.log('bpfman can load XDP programs on this kernel');
    return 0;
  } catch (e) {
    console.log((e as Error).message);
    return e instanceof PreconditionError ? 3 : 1;
  } finally {
    await daemon.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.log(`bpfman probe failed: ${(e as Error).message}`);
    process.exit(1);
  },
);
