/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * address_match.h: BIND's address match lists as santa_abi.h holds them (struct santa_prefix,
 * first match decides), for rrl.h's exempt-clients and santa_xdp's blackhole.
 */
#ifndef SANTA_ADDRESS_MATCH_H
#define SANTA_ADDRESS_MATCH_H

#include "santa_abi.h"

/* Whether the first of the list's n elements (at most max, a constant, so the loop unrolls)
 * holding the address says "yes"; none holding it says "no". v6 is the address as four wire
 * words when is_v6, else v4 is. */
static __always_inline int address_matches(const struct santa_prefix *list, __u32 n, const __u32 max,
					   int is_v6, __be32 v4, const __u32 *v6)
{
	if (!is_v6) {
#pragma unroll
		for (__u32 i = 0; i < max; i++) {
			const struct santa_prefix *p = &list[i];

			if (i >= n)
				break;
			if ((v4 & *(const __u32 *)p->mask) == *(const __u32 *)p->addr)
				return !p->negated;
		}
		return 0;
	}
#pragma unroll
	for (__u32 i = 0; i < max; i++) {
		const struct santa_prefix *p = &list[i];
		const __u32 *a = (const __u32 *)p->addr, *m = (const __u32 *)p->mask;

		if (i >= n)
			break;
		if ((v6[0] & m[0]) == a[0] && (v6[1] & m[1]) == a[1] && (v6[2] & m[2]) == a[2] &&
		    (v6[3] & m[3]) == a[3])
			return !p->negated;
	}
	return 0;
}

#endif
