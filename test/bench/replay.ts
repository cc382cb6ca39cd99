/**
 * Times an XDP program warm, as a driver runs it, even when it rewrites its frame: live-frame
 * test runs of xdp/bench/replay.bpf.c, which writes the query back over each page-pool frame
 * and tail-calls the program under test. bpf_stats counts the pair; the same with tx_xdp (only
 * XDP_TX) in the slot is the floor. Live frames need a network namespace of their own: passed
 * frames enter its stack, and transmitted ones leave by its loopback, which drops them.
 */
import { join } from 'path';
import { LoadedObject, SantaNative } from '../../sidecar/bpf/native';
import { REPO } from '../bpf/setup';

const REPLAY_OBJ = join(REPO, 'xdp', 'build', 'replay.bpf.o');
/* struct replay_frame in replay.bpf.c: len, pad, bytes[512]. */
const FRAME_MAX = 512;

export class Replay {
  private constructor(
    private readonly bpf: SantaNative,
    private readonly obj: LoadedObject,
    private readonly netnsPath: string,
  ) {}

  static load(bpf: SantaNative, netnsPath: string): Replay {
    return new Replay(bpf, bpf.loadObject(REPLAY_OBJ), netnsPath);
  }

  /** The program that only returns XDP_TX: the floor to subtract. */
  get floorFd(): number {
    return this.obj.progs.tx_xdp;
  }

  /** Mean ns per run (bpf_stats, which must be enabled) of `runs` live runs of progFd on `frame`. */
  time(progFd: number, frame: Buffer, runs: number): number {
    if (frame.length < 8 || frame.length > FRAME_MAX) throw new Error(`replay: a frame of ${frame.length} bytes (8..${FRAME_MAX})`);
    const value = Buffer.alloc(8 + FRAME_MAX);
    value.writeUInt32LE(frame.length, 0);
    frame.copy(value, 8);
    const zero = Buffer.alloc(4);
    this.bpf.update(this.obj.maps.replay_frame, zero, value);
    const target = Buffer.alloc(4);
    target.writeUInt32LE(progFd, 0);
    this.bpf.update(this.obj.maps.replay_target, zero, target);
    const wrapper = this.obj.progs.replay_xdp;
    const before = this.bpf.progInfo(wrapper);
    this.bpf.progTestRun(wrapper, frame, { repeat: runs, liveFrames: 1, netnsPath: this.netnsPath });
    const after = this.bpf.progInfo(wrapper);
    const count = after.runCnt - before.runCnt;
    if (count !== runs) throw new Error(`replay: ${count} runs counted, ${runs} asked (is bpf_stats on?)`);
    return (after.runTimeNs - before.runTimeNs) / count;
  }

  close(): void {
    this.bpf.closeObject(this.obj.id);
  }
}

/**
 * The programs of round r, each round starting one later: what runs just before a program moves
 * its warm figure by several ns (caches, branch history), so no program keeps one neighbour.
 */
export function roundOrder<T>(items: readonly T[], round: number): T[] {
  const k = round % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}
