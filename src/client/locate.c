/*
 * locate: find ndt7 servers with the Locate v2 API (spec §6.3/6.4).
 *
 * locate_parse is pure (a string in, targets out) and unit-tested with the
 * fixtures in tests/data/locate/; locate_fetch is the thin libcurl driver
 * (http, https and file URLs, so fixtures can drive target selection in
 * integration tests). Nothing but the User-Agent is sent to Locate: the
 * client_* metadata goes only to the measurement server.
 */
#include "client/client.h"
#include "core/xalloc.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

void locate_result_free(struct locate_result *r)
{
    for (size_t i = 0; i < r->ntargets; i++) {
        struct locate_target *t = &r->targets[i];
        free(t->machine);
        free(t->hostname);
        for (int s = 0; s < 2; s++)
            for (int d = 0; d < 2; d++)
                free(t->urls[s][d]);
    }
    memset(r, 0, sizeof(*r));
}

/*
 * Map a urls key ("wss:///ndt/v7/download", or with a port template such as
 * "ws://:8080/ndt/v7/upload") to scheme and direction; false for other keys.
 */
static bool url_key(const char *key, int *scheme, int *dir)
{
    const char *p;
    if (strncmp(key, "wss://", 6) == 0) {
        *scheme = CLIENT_SCHEME_WSS;
        p = key + 6;
    } else if (strncmp(key, "ws://", 5) == 0) {
        *scheme = CLIENT_SCHEME_WS;
        p = key + 5;
    } else {
        return false;
    }
    if (*p == ':') /* port template */
        p += 1 + strspn(p + 1, "0123456789");
    if (strcmp(p, NDT7_PATH_DOWNLOAD) == 0)
        *dir = NDT7_DOWNLOAD;
    else if (strcmp(p, NDT7_PATH_UPLOAD) == 0)
        *dir = NDT7_UPLOAD;
    else
        return false;
    return true;
}

static int locate_error_object(json_t *err, long http_status, struct errbuf *eb)
{
    const char *title = json_string_value(json_object_get(err, "title"));
    const char *detail = json_string_value(json_object_get(err, "detail"));
    json_t *st = json_object_get(err, "status");
    long status = json_is_integer(st) ? (long)json_integer_value(st) : http_status;
    if (!json_is_object(err))
        return errbuf_set(eb, ERR_PROTO, "locate: malformed response: \"error\" is not an object");
    return errbuf_set(eb, ERR_HTTP, "locate: %s%s%s (status %ld)",
                      title ? title : "request refused", detail ? ": " : "", detail ? detail : "",
                      status);
}

static int parse_target(json_t *item, size_t idx, struct locate_target *t, struct errbuf *eb)
{
    if (!json_is_object(item))
        return errbuf_set(eb, ERR_PROTO,
                          "locate: malformed response: results[%zu] is not an object", idx);
    const char *names[] = {"machine", "hostname"};
    char **dst[] = {&t->machine, &t->hostname};
    for (int i = 0; i < 2; i++) {
        json_t *v = json_object_get(item, names[i]);
        if (v && !json_is_string(v))
            return errbuf_set(eb, ERR_PROTO,
                              "locate: malformed response: results[%zu].%s is not a string", idx,
                              names[i]);
        *dst[i] = xstrdup(v ? json_string_value(v) : "");
    }
    json_t *urls = json_object_get(item, "urls");
    if (!json_is_object(urls))
        return errbuf_set(
            eb, ERR_PROTO,
            "locate: malformed response: results[%zu].urls is missing or not an object", idx);
    const char *key;
    json_t *val;
    json_object_foreach(urls, key, val)
    {
        int scheme, dir;
        if (!url_key(key, &scheme, &dir))
            continue; /* another service's URL: not ours to judge */
        if (!json_is_string(val))
            return errbuf_set(
                eb, ERR_PROTO,
                "locate: malformed response: results[%zu].urls[\"%s\"] is not a string", idx, key);
        free(t->urls[scheme][dir]);
        t->urls[scheme][dir] = xstrdup(json_string_value(val));
    }
    return 0;
}

int locate_parse(const char *body, size_t len, long http_status, struct locate_result *out,
                 struct errbuf *eb)
{
    json_error_t jerr;
    int rc = 0;
    memset(out, 0, sizeof(*out));
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        if (http_status != 0 && http_status != 200)
            return errbuf_set(eb, ERR_HTTP, "locate: HTTP status %ld", http_status);
        return errbuf_set(eb, ERR_PROTO, "locate: malformed JSON response: %s (line %d, column %d)",
                          jerr.text, jerr.line, jerr.column);
    }
    if (!json_is_object(root)) {
        rc = errbuf_set(eb, ERR_PROTO, "locate: malformed response: not a JSON object");
        goto out;
    }
    json_t *err = json_object_get(root, "error");
    if (err && !json_is_null(err)) {
        rc = locate_error_object(err, http_status, eb);
        goto out;
    }
    if (http_status != 0 && http_status != 200) {
        rc = errbuf_set(eb, ERR_HTTP, "locate: HTTP status %ld", http_status);
        goto out;
    }
    json_t *results = json_object_get(root, "results");
    if (!results || json_is_null(results) ||
        (json_is_array(results) && json_array_size(results) == 0)) {
        rc = errbuf_set(eb, ERR_NOTFOUND, "locate: no available servers");
        goto out;
    }
    if (!json_is_array(results)) {
        rc = errbuf_set(eb, ERR_PROTO, "locate: malformed response: \"results\" is not an array");
        goto out;
    }
    size_t i;
    json_t *item;
    json_array_foreach(results, i, item)
    {
        if (out->ntargets == LOCATE_MAX_RESULTS)
            break;
        rc = parse_target(item, i, &out->targets[out->ntargets++], eb);
        if (rc != 0)
            goto out;
    }
out:
    json_decref(root);
    return rc;
}

struct fetch_body {
    char *data;
    size_t len;
    bool toobig;
};

static size_t fetch_write(char *ptr, size_t size, size_t nmemb, void *udata)
{
    struct fetch_body *b = udata;
    size_t n = size * nmemb;
    if (b->len + n > CLIENT_LOCATE_MAX_BODY) {
        b->toobig = true;
        return 0; /* makes curl fail with CURLE_WRITE_ERROR */
    }
    b->data = xrealloc(b->data, b->len + n + 1);
    memcpy(b->data + b->len, ptr, n);
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

int locate_fetch(const char *url, const struct locate_opts *opts, struct locate_result *out,
                 struct errbuf *eb)
{
    struct fetch_body body = {NULL, 0, false};
    char cerr[CURL_ERROR_SIZE] = "";
    long status = 0;
    int rc;

    memset(out, 0, sizeof(*out));
    CURL *h = curl_easy_init();
    if (!h)
        return errbuf_set(eb, ERR_IO, "locate: cannot initialise libcurl");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https,file");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, 3L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, opts->user_agent);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, opts->timeout_ms > 0 ? opts->timeout_ms : 1L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, fetch_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    if (opts->family == AF_INET)
        curl_easy_setopt(h, CURLOPT_IPRESOLVE, CURL_IPRESOLVE_V4);
    else if (opts->family == AF_INET6)
        curl_easy_setopt(h, CURLOPT_IPRESOLVE, CURL_IPRESOLVE_V6);
    if (opts->ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, opts->ca_file);
    if (opts->no_verify) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    CURLcode cc = curl_easy_perform(h);
    if (cc != CURLE_OK) {
        if (body.toobig)
            rc = errbuf_set(eb, ERR_TOOBIG, "locate: response larger than %u bytes",
                            CLIENT_LOCATE_MAX_BODY);
        else
            rc = errbuf_set(eb, cc == CURLE_OPERATION_TIMEDOUT ? ERR_TIMEOUT : ERR_IO,
                            "locate: %s: %s", url, cerr[0] ? cerr : curl_easy_strerror(cc));
        goto out;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (strncmp(url, "file:", 5) == 0)
        status = 0;
    rc = locate_parse(body.data ? body.data : "", body.len, status, out, eb);
out:
    curl_easy_cleanup(h);
    free(body.data);
    return rc;
}
