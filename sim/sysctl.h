/*
 * sysctl.h - `--sysctl NAME=VALUE`: Linux's own knob names, mapped onto
 * the stack's configuration.
 */
#ifndef TCPDEMUX_SYSCTL_H
#define TCPDEMUX_SYSCTL_H

#include <stddef.h>
#include <stdio.h>

#include "stack.h"

/*
 * Applies "NAME=VALUE" (NAME with dots or slashes, as sysctl(8) accepts)
 * to cfg. Returns 0, or -1 with a message for the user in err (unknown
 * name, or a value outside the range Linux accepts); cfg is unchanged then.
 */
int sysctl_apply(struct stack_config *cfg, const char *assignment, char *err, size_t errlen);

/*
 * The same for a script's profile (defaults.sh): returns 0 (applied), 1
 * (a Linux knob the stack does not model: cfg unchanged, nothing in err),
 * or -1 with a message in err.
 */
int sysctl_profile_apply(struct stack_config *cfg, const char *assignment, char *err, size_t errlen);

/*
 * Writes the list of known names, each with its default on one line and
 * its description beneath, wrapped to 80 columns.
 */
void sysctl_list(FILE *out);

#endif
