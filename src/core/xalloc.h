/*
 * xalloc: allocation wrappers that abort on out-of-memory. Acceptable only
 * because every size a peer can influence is capped before it gets here.
 */
#ifndef FATHOM_CORE_XALLOC_H
#define FATHOM_CORE_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

#endif
