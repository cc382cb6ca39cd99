/** `santa status`: what the program is doing now, read from its maps. */
import type { SantaConfig } from '../config';
import { SantaMaps } from '../bpf/maps';
import { wireToName } from '../bpf/dns-wire';
import { typeName } from '../zone/types';
import { createLoader } from '../run/loaders';
import { defaultObjectPath } from '../run/santa-run';

export interface StatusReport {
  loader: string;
  attachments: { iface: string; netns?: string; programId: number; mapDir?: string }[];
  mode: string;
  counters: Record<string, number>;
  hitRatio: number | null;
  entries: number;
  expired: number;
  top: { question: string; hits: number; expiresInSeconds: number }[];
}

export async function statusReport(config: SantaConfig, topN: number): Promise<StatusReport> {
  const loader = createLoader(config, config.bpfObject ?? defaultObjectPath());
  let description;
  try {
    description = await loader.describe();
  } finally {
    await loader.close();
  }
  const mapDir = description.attachments.find((a) => a.mapDir)?.mapDir ?? config.pinDir;
  const maps = SantaMaps.openPinned(mapDir);
  try {
    const counters = maps.readStats();
    const entries = maps.entries();
    const hits = maps.readHits(entries.map((e) => e.value.slot));
    const nowNs = process.hrtime.bigint();
    const top = entries
      .map((e, i) => ({
        question: `${wireToName(e.key.name)} ${typeName(e.key.qtype)} flags=${e.key.flags}`,
        hits: hits[i],
        expiresInSeconds: Number(maps.clock.monotonicNsAt(e.value.expiresJiffies) - nowNs) / 1e9,
      }))
      .sort((a, b) => b.hits - a.hits)
      .slice(0, topN);
    const answered = counters.HITS;
    const missed = counters.PASS_MISS + counters.PASS_EXPIRED + counters.PASS_TOO_BIG + counters.PASS_NO_ROOM;
    return {
      loader: description.kind,
      attachments: description.attachments.map((a) => ({ iface: a.iface, netns: a.netns, programId: a.programId, mapDir: a.mapDir })),
      mode: maps.readSettings().mode,
      counters,
      hitRatio: answered + missed > 0 ? answered / (answered + missed) : null,
      entries: entries.length,
      expired: entries.filter((e) => e.value.expiresJiffies <= maps.clock.jiffiesAt(nowNs)).length,
      top,
    };
  } finally {
    maps.close();
  }
}

export function formatStatus(r: StatusReport): string {
  const lines: string[] = [];
  lines.push(`loader ${r.loader}, mode ${r.mode}`);
  for (const a of r.attachments) lines.push(`  ${a.iface}${a.netns ? ` (${a.netns})` : ''}: program ${a.programId}, maps ${a.mapDir ?? '?'}`);
  if (r.attachments.length === 0) lines.push('  not attached to any configured interface');
  lines.push(`entries ${r.entries} (${r.expired} past their lease)`);
  lines.push(`hit ratio ${r.hitRatio === null ? 'n/a' : (100 * r.hitRatio).toFixed(1) + '%'}`);
  lines.push('counters:');
  for (const [name, value] of Object.entries(r.counters)) if (value) lines.push(`  ${name.toLowerCase().padEnd(20)} ${value}`);
  lines.push('most-hit cached questions:');
  for (const t of r.top) lines.push(`  ${String(t.hits).padStart(10)}  ${t.question}  (lease ${t.expiresInSeconds.toFixed(0)} s)`);
  return lines.join('\n') + '\n';
}
