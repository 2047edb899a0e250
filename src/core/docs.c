/* docs: lookup in the table tools/embed.sh generates from docs/. */
#include "core/docs.h"

#include <string.h>

struct embedded_file {
    const char *path; /* "/data-format.md" */
    const unsigned char *data;
    size_t len;
};
extern const struct embedded_file fathom_docs_files[];
extern const size_t fathom_docs_count;

bool docs_get(const char *name, const uint8_t **data, size_t *len)
{
    for (size_t i = 0; i < fathom_docs_count; i++) {
        const char *p = fathom_docs_files[i].path;
        if (p[0] == '/')
            p++;
        if (strcmp(p, name) == 0) {
            *data = fathom_docs_files[i].data;
            *len = fathom_docs_files[i].len;
            return true;
        }
    }
    return false;
}
