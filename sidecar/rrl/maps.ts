/**
 * The program's two RRL maps, opened from wherever the Santa maps are (our pins, bpfman's
 * map_pin_path, or a loaded object's fds). Writes the config; reads buckets for tests and
 * diagnostics.
 */
import { join } from 'node:path';
import type { SantaAbi } from '../bpf/abi';
import { isBpfError, type SantaNative } from '../bpf/native';
import { decodeBucket, decodeBucketKey, encodeBucket, encodeRrlConfig, type RrlBucket, type RrlBucketKey } from './codec';
import type { RrlConfig } from './config';

export type MapSource = { kind: 'pinned'; dir: string } | { kind: 'fds'; fds: Readonly<Record<string, number>> };

export class RrlMaps {
  private closed = false;

  private constructor(
    private readonly configFd: number,
    private readonly bucketsFd: number,
    private readonly ownsFds: boolean,
    private readonly bpf: SantaNative,
    private readonly abi: SantaAbi,
  ) {
    const check = (fd: number, name: string, keySize: number, valueSize: number) => {
      const info = bpf.mapInfo(fd);
      if (info.keySize !== keySize || info.valueSize !== valueSize) {
        this.close();
        throw new Error(`map ${name} has ${info.keySize}-byte keys and ${info.valueSize}-byte values, expected ${keySize} and ${valueSize}: program and sidecar come from different santa_abi.h`);
      }
    };
    check(configFd, abi.rrl.maps.config, 4, abi.rrl.config.size);
    check(bucketsFd, abi.rrl.maps.buckets, abi.rrl.key.size, abi.rrl.bucket.size);
  }

  static open(source: MapSource, bpf: SantaNative, abi: SantaAbi): RrlMaps {
    const { config, buckets } = abi.rrl.maps;
    if (source.kind === 'fds') {
      const c = source.fds[config];
      const b = source.fds[buckets];
      if (c === undefined || b === undefined) throw new Error(`the program has no ${config}/${buckets} maps: it was built without response rate limiting`);
      return new RrlMaps(c, b, false, bpf, abi);
    }
    let c: number | undefined;
    try {
      c = bpf.objGet(join(source.dir, config));
      const b = bpf.objGet(join(source.dir, buckets));
      return new RrlMaps(c, b, true, bpf, abi);
    } catch (e) {
      if (c !== undefined) bpf.closeFd(c);
      if (isBpfError(e) && e.code === 'ENOENT') throw new Error(`${source.dir} has no ${config}/${buckets} pins: the attached program predates response rate limiting (restart it)`);
      throw e;
    }
  }

  /** `null` turns rate limiting off. */
  writeConfig(cfg: RrlConfig | null, hz: number): void {
    this.bpf.update(this.configFd, Buffer.alloc(4), encodeRrlConfig(cfg, hz, this.abi));
  }

  buckets(): Array<{ key: RrlBucketKey; bucket: RrlBucket; rawKey: Buffer }> {
    const { keys, values, count } = this.bpf.lookupBatch(this.bucketsFd);
    const ks = this.abi.rrl.key.size;
    const vs = this.abi.rrl.bucket.size;
    const out = [];
    for (let i = 0; i < count; i++) {
      const rawKey = Buffer.from(keys.subarray(i * ks, (i + 1) * ks));
      out.push({ key: decodeBucketKey(rawKey, this.abi.rrl), bucket: decodeBucket(values.subarray(i * vs, (i + 1) * vs), this.abi.rrl), rawKey });
    }
    return out;
  }

  writeBucket(rawKey: Buffer, bucket: RrlBucket): void {
    this.bpf.update(this.bucketsFd, rawKey, encodeBucket(bucket, this.abi.rrl));
  }

  clearBuckets(): void {
    for (const k of this.bpf.keys(this.bucketsFd)) this.bpf.delete(this.bucketsFd, k);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsFds) {
      this.bpf.closeFd(this.configFd);
      this.bpf.closeFd(this.bucketsFd);
    }
  }
}
