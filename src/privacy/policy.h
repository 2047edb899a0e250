/*
 * policy: the operator's privacy policy, served by `fathom serve` at /privacy
 * (HTML rendered from the docs/privacy-policy.md template, compiled into the
 * binary) and /privacy.json (a machine-readable summary of what is collected,
 * why, and where it is published). Both are rendered once at start-up; the
 * values come from the server's configuration and are escaped, so nothing an
 * operator types can inject markup.
 */
#ifndef FATHOM_PRIVACY_POLICY_H
#define FATHOM_PRIVACY_POLICY_H

#include "core/buf.h"
#include "core/err.h"
#include "privacy/privacy.h"

#include <stdbool.h>

#define POLICY_RETENTION_INDEFINITE 0

struct privacy_policy_config {
    const char *operator_name; /* NULL: "the operator of this server" */
    const char *contact;       /* NULL: "the operator (no contact address configured)" */
    int publication_delay_days;
    int retention_days; /* days raw records are kept; POLICY_RETENTION_INDEFINITE (0): forever */
    enum privacy_ip_precision ip_precision;
    bool strict_metadata;
};

/*
 * Render the policy page (a complete HTML document) into html and the JSON
 * summary into json (both appended; either may be NULL). Returns 0, or a
 * negative error with eb explaining (ERR_NOTFOUND: template missing from the
 * build, ERR_TOOBIG: output over the buffers' max).
 */
int privacy_policy_render(const struct privacy_policy_config *c, struct buf *html, struct buf *json,
                          struct errbuf *eb);

/* Append text with &, <, >, " and ' escaped for HTML. 0 or ERR_TOOBIG. */
int privacy_html_escape(struct buf *out, const char *s, size_t n);

#endif
