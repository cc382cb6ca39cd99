/**
 * The contents of a loaded object's array maps, read from the kernel, as bpf-vm's map images:
 * the interpreter then runs on exactly what the real program would find.
 */
import type { LoadedObject, SantaNative } from '../../sidecar/bpf/native';
import { BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_PERCPU_ARRAY, MapImage } from './bpf-vm';

/** Every array and per-CPU array map of `obj` (per-CPU maps: the first CPU's values). */
export function readMapImages(bpf: SantaNative, obj: LoadedObject): Map<string, MapImage> {
  const images = new Map<string, MapImage>();
  const cpus = bpf.numPossibleCpus();
  for (const [name, fd] of Object.entries(obj.maps)) {
    const info = bpf.mapInfo(fd);
    if (info.type !== BPF_MAP_TYPE_ARRAY && info.type !== BPF_MAP_TYPE_PERCPU_ARRAY) continue;
    const values = Buffer.alloc(info.valueSize * info.maxEntries);
    const key = Buffer.alloc(4);
    for (let k = 0; k < info.maxEntries; k++) {
      key.writeUInt32LE(k, 0);
      const v = bpf.lookup(fd, key);
      // Per-CPU maps: every possible CPU's value, 8-byte aligned; the first is CPU 0's.
      if (!v || v.length < info.valueSize * (info.type === BPF_MAP_TYPE_PERCPU_ARRAY ? cpus : 1)) throw new Error(`map ${name}: no value for key ${k}`);
      v.copy(values, k * info.valueSize, 0, info.valueSize);
    }
    images.set(name, { type: info.type, valueSize: info.valueSize, maxEntries: info.maxEntries, values });
  }
  return images;
}
