#ifndef ECHOD_FDLIMIT_H
#define ECHOD_FDLIMIT_H

#include "echod/config.h"

/*
 * Raise the open-file limit to what cfg's max_clients needs, as far as
 * the hard limit (or, with CAP_SYS_RESOURCE, fs.nr_open) allows; warns
 * when it still cannot fit.
 */
void	fdlimit_raise(const struct echod_config *cfg);

#endif /* ECHOD_FDLIMIT_H */
