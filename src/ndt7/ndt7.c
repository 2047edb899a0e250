/*
 * ndt7: message scaling, measurement JSON writer and the strict measurement
 * reader shared by server and client.
 *
 * Server measurements are written by hand (they are built about four times a
 * second per connection and sent and archived as the same bytes). Peer
 * measurements are parsed with jansson, type-checked, and re-serialised with
 * known fields only, so nothing a peer invents reaches an archive.
 */
#include "ndt7/ndt7.h"

#include "core/err.h"

#include <jansson.h>
#include <string.h>

const char *ndt7_direction_name(enum ndt7_direction d)
{
    return d == NDT7_DOWNLOAD ? "download" : "upload";
}

void ndt7_scaler_init(struct ndt7_scaler *s, size_t max)
{
    s->size = NDT7_MIN_MESSAGE;
    s->max = max;
    s->total = 0;
}

size_t ndt7_scaler_sent(struct ndt7_scaler *s)
{
    s->total += s->size;
    if (s->size < s->max && (uint64_t)s->size <= s->total / NDT7_SCALING_FRACTION) {
        s->size *= 2;
        if (s->size > s->max)
            s->size = s->max;
    }
    return s->size;
}

/* Append s as a JSON string. Input is ours (addresses, RFC 3339, UUIDs), but escape anyway. */
static int append_json_string(struct buf *out, const char *s)
{
    if (buf_append(out, "\"", 1))
        return ERR_TOOBIG;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        int r;
        if (*p == '"' || *p == '\\')
            r = buf_appendf(out, "\\%c", *p);
        else if (*p < 0x20)
            r = buf_appendf(out, "\\u%04x", *p);
        else
            r = buf_append(out, p, 1);
        if (r)
            return r;
    }
    return buf_append(out, "\"", 1);
}

int ndt7_appinfo_append(struct buf *out, const struct ndt7_appinfo *app)
{
    return buf_appendf(out, "{\"AppInfo\":{\"NumBytes\":%lld,\"ElapsedTime\":%lld}}",
                       (long long)app->num_bytes, (long long)app->elapsed_us);
}

int ndt7_measurement_append(struct buf *out, const struct ndt7_appinfo *app,
                            const struct ndt7_conninfo *ci, const struct bbrinfo *bbr,
                            const struct tcpinfo *ti, int64_t elapsed_us, double steady_mbps)
{
    int r = buf_append(out, "{", 1);
    if (!r && app)
        r = buf_appendf(out, "\"AppInfo\":{\"NumBytes\":%lld,\"ElapsedTime\":%lld},",
                        (long long)app->num_bytes, (long long)app->elapsed_us);
    if (!r)
        r = buf_append_str(out, "\"ConnectionInfo\":{\"Client\":");
    if (!r)
        r = append_json_string(out, ci->client);
    if (!r)
        r = buf_append_str(out, ",\"Server\":");
    if (!r)
        r = append_json_string(out, ci->server);
    if (!r && ci->uuid[0]) {
        r = buf_append_str(out, ",\"UUID\":");
        if (!r)
            r = append_json_string(out, ci->uuid);
    }
    if (!r)
        r = buf_append_str(out, ",\"StartTime\":");
    if (!r)
        r = append_json_string(out, ci->start_time);
    if (!r)
        r = buf_append_str(out, "},");
    if (!r && bbr) {
        r = bbrinfo_append_json(out, bbr, elapsed_us);
        if (!r)
            r = buf_append(out, ",", 1);
    }
    if (!r)
        r = tcpinfo_append_json(out, ti, elapsed_us);
    if (!r && steady_mbps >= 0)
        r = buf_appendf(out, ",\"Fathom\":{\"SteadyStateMbps\":%.3f}", steady_mbps);
    if (!r)
        r = buf_append(out, "}", 1);
    return r;
}

/* ---- Reading ------------------------------------------------------------ */

static const char *const bbrinfo_fields[] = {"BW", "MinRTT", "PacingGain", "CwndGain",
                                             "ElapsedTime"};
static const char *const appinfo_fields[] = {"NumBytes", "ElapsedTime"};
static const char *const conninfo_fields[] = {"Client", "Server", "UUID", "StartTime"};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* A JSON number that fits int64 exactly (integers; reals only when integral). */
static int get_int(json_t *v, int64_t *out)
{
    if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
        return 0;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d >= -9.2e18 && d <= 9.2e18 && d == (double)(int64_t)d) {
            *out = (int64_t)d;
            return 0;
        }
    }
    return ERR_PROTO;
}

/*
 * Check object `name` of root: numeric fields must be numbers; copy known
 * numeric fields into canon (when non-NULL) in the table's order.
 */
static int check_numeric_object(json_t *root, const char *name, const char *const *fields,
                                size_t nfields, json_t **obj_out, json_t *canon)
{
    json_t *obj = json_object_get(root, name);
    *obj_out = NULL;
    if (!obj || json_is_null(obj))
        return 0;
    if (!json_is_object(obj))
        return ERR_PROTO;
    json_t *copy = canon ? json_object() : NULL;
    for (size_t i = 0; i < nfields; i++) {
        json_t *v = json_object_get(obj, fields[i]);
        int64_t x;
        if (!v)
            continue;
        if (get_int(v, &x)) {
            json_decref(copy);
            return ERR_PROTO;
        }
        if (copy)
            json_object_set_new(copy, fields[i], json_integer((json_int_t)x));
    }
    if (copy)
        json_object_set_new(canon, name, copy);
    *obj_out = obj;
    return 0;
}

static int64_t field(json_t *obj, const char *name)
{
    int64_t x = 0;
    if (obj)
        get_int(json_object_get(obj, name), &x);
    return x;
}

static void copy_str(json_t *obj, const char *name, char *dst, size_t n)
{
    json_t *v = json_object_get(obj, name);
    const char *s = json_string_value(v);
    dst[0] = '\0';
    if (s && strlen(s) < n)
        memcpy(dst, s, strlen(s) + 1);
}

int ndt7_sample_parse(const char *json, size_t len, struct ndt7_sample *s, struct buf *canon)
{
    json_error_t jerr;
    memset(s, 0, sizeof(*s));
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return ERR_PROTO;
    int r = ERR_PROTO;
    json_t *c = canon ? json_object() : NULL;
    json_t *app, *tcp, *bbr, *conn = NULL;
    if (!json_is_object(root))
        goto out;
    if (check_numeric_object(root, "AppInfo", appinfo_fields, NELEM(appinfo_fields), &app, c) ||
        check_numeric_object(root, "TCPInfo", tcpinfo_json_fields, tcpinfo_json_nfields, &tcp, c) ||
        check_numeric_object(root, "BBRInfo", bbrinfo_fields, NELEM(bbrinfo_fields), &bbr, c))
        goto out;
    conn = json_object_get(root, "ConnectionInfo");
    if (conn && !json_is_null(conn)) {
        if (!json_is_object(conn))
            goto out;
        json_t *copy = c ? json_object() : NULL;
        for (size_t i = 0; i < NELEM(conninfo_fields); i++) {
            json_t *v = json_object_get(conn, conninfo_fields[i]);
            if (!v)
                continue;
            if (!json_is_string(v) || json_string_length(v) > 200) {
                json_decref(copy);
                goto out;
            }
            if (copy)
                json_object_set(copy, conninfo_fields[i], v);
        }
        if (copy)
            json_object_set_new(c, "ConnectionInfo", copy);
        s->has_conn = true;
        copy_str(conn, "Client", s->conn_client, sizeof(s->conn_client));
        copy_str(conn, "Server", s->conn_server, sizeof(s->conn_server));
        copy_str(conn, "UUID", s->conn_uuid, sizeof(s->conn_uuid));
    }
    s->has_app = app != NULL;
    s->app_num_bytes = field(app, "NumBytes");
    s->app_elapsed_us = field(app, "ElapsedTime");
    s->has_tcp = tcp != NULL;
    s->tcp_elapsed_us = field(tcp, "ElapsedTime");
    s->bytes_acked = field(tcp, "BytesAcked");
    s->bytes_received = field(tcp, "BytesReceived");
    s->bytes_sent = field(tcp, "BytesSent");
    s->bytes_retrans = field(tcp, "BytesRetrans");
    s->min_rtt_us = field(tcp, "MinRTT");
    s->rtt_us = field(tcp, "RTT");
    s->busy_time_us = field(tcp, "BusyTime");
    s->rwnd_limited_us = field(tcp, "RWndLimited");
    s->sndbuf_limited_us = field(tcp, "SndBufLimited");
    s->has_bbr = bbr != NULL;
    s->bbr_bw = field(bbr, "BW");
    s->bbr_min_rtt_us = field(bbr, "MinRTT");
    json_t *steady = json_object_get(json_object_get(root, "Fathom"), "SteadyStateMbps");
    s->has_steady = json_is_number(steady) && json_number_value(steady) >= 0;
    s->steady_mbps = s->has_steady ? json_number_value(steady) : -1;
    r = 0;
    if (c) {
        char *text = json_dumps(c, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (!text)
            r = ERR_PROTO;
        else if (buf_append_str(canon, text))
            r = ERR_TOOBIG;
        free(text);
    }
out:
    json_decref(c);
    json_decref(root);
    return r;
}
