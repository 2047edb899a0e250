/*
 * docs: the files of docs/ compiled into the binary at build time
 * (tools/embed.sh), so an installed `fathom` can put the data format, the
 * JSON Schema and the privacy policy template where they are needed without
 * knowing where the source tree is.
 */
#ifndef FATHOM_CORE_DOCS_H
#define FATHOM_CORE_DOCS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Find an embedded document by its path under docs/ ("data-format.md").
 * On success *data (static storage, not NUL-terminated) and *len are set.
 */
bool docs_get(const char *name, const uint8_t **data, size_t *len);

#endif
