#ifndef ECHOD_TUNABLES_H
#define ECHOD_TUNABLES_H

#include <stddef.h>

/*
 * glibc's tunables for a daemon of many small threads.  glibc keeps
 * about 1.6 KiB of spare static TLS below every thread's descriptor (for
 * libraries that dlopen() might bring; echod loads none), which pushes
 * each client thread's first frames onto a second stack page.  Without
 * the spare, a held client costs one stack page instead of two.  ld.so
 * reads GLIBC_TUNABLES only at exec, so the daemon sets it and runs
 * itself again, unless the environment already chose either tunable.
 */
#define TUNABLES_ECHOD	"glibc.rtld.nns=1:glibc.rtld.optional_static_tls=0"

/*
 * The GLIBC_TUNABLES value to run with, given the current one (NULL if
 * unset), into buf: 1 when it differs from current, 0 when current already
 * sets either of echod's tunables (the environment's choice stands), -1
 * with ENAMETOOLONG when buf is too small.
 */
int	tunables_merge(const char *current, char *buf, size_t size);
/*
 * Run this program again (same pid, descriptors and arguments) with
 * echod's tunables in GLIBC_TUNABLES.  Returns only when that is not
 * needed or not possible (already set, sanitizer or setuid run, no
 * /proc), with the environment as it was.
 */
void	tunables_reexec(char *argv[]);

#endif /* ECHOD_TUNABLES_H */
