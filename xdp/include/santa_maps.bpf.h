/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * santa_maps.bpf.h: the maps user space shares with the Santa program, defined once for every
 * BPF object that carries them (xdp/santa.bpf.c and the map-layer test fixture). Layouts are
 * santa_abi.h's; sizes here are defaults that loaders may override before load.
 */
#ifndef SANTA_MAPS_BPF_H
#define SANTA_MAPS_BPF_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "santa_abi.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, SANTA_ENTRIES_DEFAULT);
	__type(key, __u32);
	__type(value, struct santa_entry);
} santa_entries SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, SANTA_INDEX_GROUPS_DEFAULT);
	__type(key, __u32);
	__type(value, struct santa_index_group);
} santa_index SEC(".maps");

/* Loaders may resize it (a power of two of words); santa_settings.filter_shift follows. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, SANTA_FILTER_WORDS_DEFAULT);
	__type(key, __u32);
	__type(value, __u64);
} santa_filter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SANTA_ENTRIES_DEFAULT);
	__type(key, __u32);
	__type(value, __u64);
} santa_hits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct santa_settings);
} santa_settings SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct santa_stats);
} santa_stats SEC(".maps");

/* The zone change guard (santa_abi.h): a generation per zone slot. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, SANTA_ZONE_GENS);
	__type(key, __u32);
	__type(value, __u32);
} santa_zone_gens SEC(".maps");

/* Response rate limiting (santa_abi.h, RRL section; the algorithm is in xdp/rrl.h). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct santa_rrl_config);
} santa_rrl_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct santa_rrl_key);
	__type(value, struct santa_rrl_bucket);
} santa_rrl_buckets SEC(".maps");

#endif /* SANTA_MAPS_BPF_H */
