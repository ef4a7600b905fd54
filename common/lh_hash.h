#ifndef LH_HASH_H
#define LH_HASH_H
#include <uthash.h>

/* Gives the uthash table behind head (handle hh) at least n/2 buckets at
 * once, when n items are about to be added in a row (a restore of 100k
 * sessions): uthash would otherwise double its buckets a dozen times on
 * the way, walking every item each time, and let chains grow to 10 items
 * between doublings. A no-op on an empty table (there is none yet: call
 * it after the first add). Out of memory is uthash's (fatal), as for any
 * add. */
#define LH_HASH_RESERVE(hh, head, n)                                                               \
	do {                                                                                       \
		if ((head) != NULL)                                                                \
			while ((head)->hh.tbl->num_buckets < (size_t)(n) / 2 &&                    \
			       (head)->hh.tbl->num_buckets < (1u << 24))                           \
				HASH_EXPAND_BUCKETS(&(head)->hh, (head)->hh.tbl, lh_oom_unused);   \
	} while (0)

#endif
