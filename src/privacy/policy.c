/*
 * policy: fill the privacy policy template and render it as HTML and JSON.
 *
 * The template is a small Markdown subset: "# "/"## "/"### " headings, "- "
 * list items, paragraphs separated by blank lines, **bold**, and links
 * [text](/path) or [text](https://...). Everything else is text, and every
 * byte of text, including the substituted {{placeholders}}, is HTML-escaped.
 */
#include "privacy/policy.h"

#include "core/docs.h"
#include "core/xalloc.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int privacy_html_escape(struct buf *out, const char *s, size_t n)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        switch (s[i]) {
        case '&':
            rc = buf_append_str(out, "&amp;");
            break;
        case '<':
            rc = buf_append_str(out, "&lt;");
            break;
        case '>':
            rc = buf_append_str(out, "&gt;");
            break;
        case '"':
            rc = buf_append_str(out, "&quot;");
            break;
        case '\'':
            rc = buf_append_str(out, "&#39;");
            break;
        default:
            /* Control characters have no business in a policy page. */
            if ((unsigned char)s[i] < 0x20 && s[i] != '\t')
                rc = buf_append(out, " ", 1);
            else
                rc = buf_append(out, &s[i], 1);
        }
    }
    return rc;
}

/* Inline markup of one block of text: **bold** and [text](url). */
static int inline_html(struct buf *out, const char *s, size_t n)
{
    int rc = 0;
    size_t i = 0;
    bool bold = false;
    while (rc == 0 && i < n) {
        if (i + 1 < n && s[i] == '*' && s[i + 1] == '*') {
            rc = buf_append_str(out, bold ? "</strong>" : "<strong>");
            bold = !bold;
            i += 2;
            continue;
        }
        if (s[i] == '[') {
            const char *close = memchr(s + i, ']', n - i);
            if (close && (size_t)(close - s) + 1 < n && close[1] == '(') {
                const char *end = memchr(close, ')', n - (size_t)(close - s));
                const char *url = close + 2;
                size_t ulen = end ? (size_t)(end - url) : 0;
                bool safe = end && ((ulen > 0 && url[0] == '/') ||
                                    (ulen > 8 && strncmp(url, "https://", 8) == 0));
                if (safe) {
                    if ((rc = buf_append_str(out, "<a href=\"")) ||
                        (rc = privacy_html_escape(out, url, ulen)) ||
                        (rc = buf_append_str(out, "\">")) ||
                        (rc = privacy_html_escape(out, s + i + 1, (size_t)(close - s) - i - 1)) ||
                        (rc = buf_append_str(out, "</a>")))
                        return rc;
                    i = (size_t)(end - s) + 1;
                    continue;
                }
            }
        }
        size_t j = i + 1;
        while (j < n && s[j] != '*' && s[j] != '[')
            j++;
        rc = privacy_html_escape(out, s + i, j - i);
        i = j;
    }
    if (rc == 0 && bold)
        rc = buf_append_str(out, "</strong>");
    return rc;
}

/* Emit the pending paragraph or list item. */
static int flush_block(struct buf *out, struct buf *para, bool in_list)
{
    int rc = 0;
    if (para->len == 0)
        return 0;
    if ((rc = buf_append_str(out, in_list ? "<li>" : "<p>")) == 0 &&
        (rc = inline_html(out, (const char *)buf_head(para), para->len)) == 0)
        rc = buf_append_str(out, in_list ? "</li>\n" : "</p>\n");
    buf_reset(para);
    return rc;
}

static int markdown_html(struct buf *out, const char *md, size_t n)
{
    struct buf para;
    buf_init(&para, out->max);
    bool in_list = false;
    int rc = 0;
    size_t i = 0;
    while (rc == 0 && i < n) {
        const char *line = md + i;
        const char *nl = memchr(line, '\n', n - i);
        size_t len = nl ? (size_t)(nl - line) : n - i;
        i += len + 1;
        size_t k = 0;
        while (k < len && line[k] == ' ')
            k++;
        int level = 0;
        while (level < (int)len && level < 4 && line[level] == '#')
            level++;
        if (k == len) { /* blank line: end of paragraph and of list */
            rc = flush_block(out, &para, in_list);
            if (rc == 0 && in_list)
                rc = buf_append_str(out, "</ul>\n");
            in_list = false;
        } else if (level > 0 && level < 4 && (size_t)level < len && line[level] == ' ') {
            rc = flush_block(out, &para, in_list);
            if (rc == 0 && in_list)
                rc = buf_append_str(out, "</ul>\n");
            in_list = false;
            if (rc == 0 && (rc = buf_appendf(out, "<h%d>", level)) == 0 &&
                (rc = inline_html(out, line + level + 1, len - (size_t)level - 1)) == 0)
                rc = buf_appendf(out, "</h%d>\n", level);
        } else if (k == 0 && len >= 2 && line[0] == '-' && line[1] == ' ') {
            rc = flush_block(out, &para, in_list);
            if (rc == 0 && !in_list)
                rc = buf_append_str(out, "<ul>\n");
            in_list = true;
            if (rc == 0)
                rc = buf_append(&para, line + 2, len - 2);
        } else { /* text: starts or continues the current paragraph or item */
            if (para.len)
                rc = buf_append(&para, " ", 1);
            if (rc == 0)
                rc = buf_append(&para, line + k, len - k);
        }
    }
    if (rc == 0)
        rc = flush_block(out, &para, in_list);
    if (rc == 0 && in_list)
        rc = buf_append_str(out, "</ul>\n");
    buf_free(&para);
    return rc;
}

/* Replace {{name}} placeholders; unknown ones are left visible for the operator to notice. */
static int substitute(struct buf *out, const char *tpl, size_t n, const char *const *names,
                      const char *const *values, size_t nvars)
{
    int rc = 0;
    size_t i = 0;
    while (rc == 0 && i < n) {
        if (i + 1 < n && tpl[i] == '{' && tpl[i + 1] == '{') {
            const char *end = memmem(tpl + i, n - i, "}}", 2);
            if (end) {
                size_t nl = (size_t)(end - tpl) - i - 2;
                size_t k;
                for (k = 0; k < nvars; k++)
                    if (strlen(names[k]) == nl && memcmp(names[k], tpl + i + 2, nl) == 0)
                        break;
                if (k < nvars) {
                    rc = buf_append_str(out, values[k]);
                    i = (size_t)(end - tpl) + 2;
                    continue;
                }
            }
        }
        rc = buf_append(out, &tpl[i], 1);
        i++;
    }
    return rc;
}

static json_t *policy_json(const struct privacy_policy_config *c, const char *op,
                           const char *contact)
{
    json_t *keys = json_array();
    for (size_t i = 0; privacy_allowed_key(i); i++)
        json_array_append_new(keys, json_string(privacy_allowed_key(i)));
    bool truncated = c->ip_precision == PRIVACY_IP_TRUNCATED;
    json_t *collected = json_array();
    json_array_append_new(
        collected,
        json_pack("{s:s, s:s, s:s, s:s}", "item", "client_ip", "precision",
                  truncated ? "truncated" : "full", "detail",
                  truncated ? "IPv4 addresses truncated to /24, IPv6 to /48, before storage"
                            : "the full public address of the client, as the server sees it",
                  "purpose", "locate results in networks and regions; the only identifying datum"));
    json_array_append_new(collected,
                          json_pack("{s:s, s:s, s:s}", "item", "measurements", "detail",
                                    "bytes, timings and kernel TCP statistics (TCP_INFO, BBR) of "
                                    "the test connection",
                                    "purpose", "measure Internet performance"));
    json_array_append_new(collected,
                          json_pack("{s:s, s:o, s:i, s:s, s:s}", "item", "client_metadata",
                                    "allowed_keys", keys, "max_value_length", PRIVACY_MAX_VALUE,
                                    "other_keys", c->strict_metadata ? "refused" : "dropped",
                                    "purpose", "tell client software versions apart"));
    json_t *retention = json_object();
    if (c->retention_days == POLICY_RETENTION_INDEFINITE) {
        json_object_set_new(retention, "days", json_null());
        json_object_set_new(retention, "text",
                            json_string("raw records are kept indefinitely; published results "
                                        "are open data and permanent"));
    } else {
        json_object_set_new(retention, "days", json_integer(c->retention_days));
        json_object_set_new(retention, "text",
                            json_string("raw records are deleted after this many days; "
                                        "published results are open data and permanent"));
    }
    return json_pack(
        "{s:i, s:s, s:s, s:s, s:o, s:[sssss], s:s, s:{s:s, s:s, s:i, s:s}, s:o, s:{s:s, s:s}}",
        "version", 1, "operator", op, "contact", contact, "policy", "/privacy", "collected",
        collected, "not_collected", "cookies", "user_agent", "request_headers", "access_tokens",
        "other_traffic", "purpose",
        "measure Internet performance and publish the results as open data", "publication",
        "license", "CC0-1.0", "format", "dated bundles of raw ndt7 records (fathom-ndt7)",
        "delay_days", c->publication_delay_days, "ip", "as collected (see collected.client_ip)",
        "retention", retention, "erasure", "scope", "unpublished records", "how", contact);
}

int privacy_policy_render(const struct privacy_policy_config *c, struct buf *html, struct buf *json,
                          struct errbuf *eb)
{
    const char *op =
        c->operator_name && *c->operator_name ? c->operator_name : "the operator of this server";
    const char *contact = c->contact && *c->contact ? c->contact
                                                    : "the operator (no contact address "
                                                      "configured)";
    if (json) {
        json_t *j = policy_json(c, op, contact);
        char *s = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
        json_decref(j);
        int rc = s ? buf_append_str(json, s) : ERR_IO;
        if (rc == 0)
            rc = buf_append(json, "\n", 1);
        free(s);
        if (rc)
            return errbuf_set(eb, rc, "privacy.json: cannot render");
    }
    if (!html)
        return 0;
    const uint8_t *tpl;
    size_t tlen;
    if (!docs_get("privacy-policy.md", &tpl, &tlen))
        return errbuf_set(eb, ERR_NOTFOUND, "privacy policy template missing from the build");

    char keys[512] = "", delay[128], retention[256], ip[160];
    for (size_t i = 0; privacy_allowed_key(i); i++) {
        size_t used = strlen(keys);
        snprintf(keys + used, sizeof(keys) - used, "%s%s", i ? ", " : "", privacy_allowed_key(i));
    }
    if (c->publication_delay_days == 0)
        snprintf(delay, sizeof(delay), "as soon as the day's tests are done");
    else
        snprintf(delay, sizeof(delay), "%d day%s after the test", c->publication_delay_days,
                 c->publication_delay_days == 1 ? "" : "s");
    if (c->retention_days == POLICY_RETENTION_INDEFINITE)
        snprintf(retention, sizeof(retention),
                 "Raw records are kept indefinitely, as open data meant to stay available "
                 "for research. Published results are permanent.");
    else
        snprintf(retention, sizeof(retention),
                 "Raw records are deleted %d days after the test. Published results are "
                 "open data and permanent.",
                 c->retention_days);
    snprintf(ip, sizeof(ip), "%s",
             c->ip_precision == PRIVACY_IP_TRUNCATED
                 ? "truncated before it is stored (IPv4 to /24, IPv6 to /48)"
                 : "stored in full");
    const char *names[] = {"operator",     "contact",      "publication_delay", "retention",
                           "ip_precision", "allowed_keys", "publication_ip"};
    const char *values[] = {op,
                            contact,
                            delay,
                            retention,
                            ip,
                            keys,
                            "Bundles carry the IP addresses as stored above, unless the "
                            "operator truncates them at publication."};
    struct buf md;
    buf_init(&md, 256 * 1024);
    int rc =
        substitute(&md, (const char *)tpl, tlen, names, values, sizeof(names) / sizeof(names[0]));
    if (rc == 0)
        rc =
            buf_append_str(html, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                                 "<meta name=\"viewport\" content=\"width=device-width\">"
                                 "<title>Privacy policy</title></head>\n<body>\n");
    if (rc == 0)
        rc = markdown_html(html, (const char *)buf_head(&md), md.len);
    if (rc == 0)
        rc = buf_append_str(html, "</body></html>\n");
    buf_free(&md);
    if (rc)
        return errbuf_set(eb, rc, "privacy policy: cannot render");
    return 0;
}
