/*
 * writer: atomic archive files and the writer thread that produces them.
 *
 * Invariant: a file under a final name (ndt7-*.json.gz) is always complete.
 * It is written under a hidden temporary name (".tmp-<uuid>-XXXXXX") in the
 * same directory, fsynced, then given its final name by an atomic rename that
 * never replaces an existing file, and the directory is fsynced so the name
 * itself is durable. A crash at any point leaves at most a stray .tmp-* file,
 * which archive_cleanup_tmp() removes at the next start.
 *
 * The writer thread owns a FIFO of records guarded by one mutex; submitters
 * only take the mutex to append, so disk latency never reaches an event loop.
 */
#include "archive/archive.h"

#include "core/clock.h"
#include "core/log.h"
#include "core/xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define TMP_PREFIX ".tmp-"
/* Largest JSON document: two full measurement buffers plus everything else. */
#define JSON_MAX ((size_t)18 << 20)

static int fsync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) == 0 ? 0 : -errno;
    close(fd);
    return rc;
}

/*
 * mkdir -p with mode 0755. A directory we create is made durable by fsyncing
 * its parent, so a record's name never points into a directory that could
 * vanish in a crash.
 */
static int mkdir_p(const char *path, struct errbuf *eb)
{
    char p[PATH_MAX];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof(p))
        return errbuf_set(eb, -ENAMETOOLONG, "archive directory name too long");
    memcpy(p, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (p[i] != '/' && p[i] != '\0')
            continue;
        if (p[i - 1] == '/')
            continue;
        char saved = p[i];
        p[i] = '\0';
        if (mkdir(p, 0755) == 0) {
            char parent[PATH_MAX];
            char *slash = strrchr(p, '/');
            if (slash == p)
                snprintf(parent, sizeof(parent), "/");
            else if (slash)
                snprintf(parent, sizeof(parent), "%.*s", (int)(slash - p), p);
            else
                snprintf(parent, sizeof(parent), ".");
            int rc = fsync_dir(parent);
            if (rc)
                return errbuf_set(eb, rc, "cannot fsync directory %s: %s", parent, err_str(rc));
        } else if (errno != EEXIST) {
            int rc = -errno;
            return errbuf_set(eb, rc, "cannot create directory %s: %s", p, err_str(rc));
        } else {
            struct stat st;
            if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode))
                return errbuf_set(eb, -ENOTDIR, "cannot create directory %s: %s", p,
                                  err_str(-ENOTDIR));
        }
        p[i] = saved;
    }
    return 0;
}

int archive_gzip(const void *in, size_t n, int level, struct buf *out)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    /* windowBits 15 + 16 selects the gzip wrapper. */
    if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return ERR_IO;
    size_t cap = deflateBound(&zs, (uLong)n);
    uint8_t *o = buf_reserve(out, cap);
    if (!o) {
        deflateEnd(&zs);
        return ERR_TOOBIG;
    }
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)n;
    zs.next_out = o;
    zs.avail_out = (uInt)cap;
    int zr = deflate(&zs, Z_FINISH);
    deflateEnd(&zs);
    if (zr != Z_STREAM_END)
        return ERR_IO;
    buf_commit(out, cap - zs.avail_out);
    return 0;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (w == 0)
            return -EIO;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/*
 * Give tmp the name final without ever replacing an existing file:
 * renameat2(RENAME_NOREPLACE), else link+unlink, else (file systems with
 * neither, e.g. some FUSE) a plain rename after an existence check.
 */
static int publish(const char *tmp, const char *final)
{
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, final, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP)
        return -errno;
    if (link(tmp, final) == 0) {
        /* A left-over .tmp-* link to a complete file is harmless. */
        unlink(tmp);
        return 0;
    }
    if (errno != EPERM && errno != ENOTSUP && errno != EOPNOTSUPP && errno != EMLINK)
        return -errno;
    struct stat st;
    if (lstat(final, &st) == 0)
        return -EEXIST;
    return rename(tmp, final) == 0 ? 0 : -errno;
}

int archive_write_sync(const char *datadir, const struct archive_record *r, char *path_out,
                       size_t path_n, struct errbuf *eb)
{
    if (path_out && path_n)
        path_out[0] = '\0';
    if (!archive_uuid_valid(r->uuid))
        return errbuf_set(eb, ERR_CONFIG, "record UUID \"%.64s\" is not a safe file name", r->uuid);

    char rel[PATH_MAX], final[PATH_MAX], dir[PATH_MAX], tmp[PATH_MAX];
    archive_record_relpath(r, clock_real_ns(), rel, sizeof(rel));
    int len = snprintf(final, sizeof(final), "%s/%s", datadir, rel);
    if (len < 0 || (size_t)len >= sizeof(final))
        return errbuf_set(eb, -ENAMETOOLONG, "path under %s too long", datadir);
    const char *base = strrchr(final, '/') + 1;
    snprintf(dir, sizeof(dir), "%.*s", (int)(base - final - 1), final);
    len = snprintf(tmp, sizeof(tmp), "%s/" TMP_PREFIX "%s-XXXXXX", dir, r->uuid);
    if (len < 0 || (size_t)len >= sizeof(tmp))
        return errbuf_set(eb, -ENAMETOOLONG, "path under %s too long", datadir);

    struct buf json, gz;
    buf_init(&json, JSON_MAX);
    buf_init(&gz, JSON_MAX + JSON_MAX / 8 + 1024);
    int fd = -1;
    int rc = archive_record_json(r, &json);
    if (rc) {
        errbuf_set(eb, rc, "record %s: JSON larger than %zu bytes", r->uuid, JSON_MAX);
        goto out;
    }
    /* Level 1, as ndt-server's BestSpeed. */
    if ((rc = archive_gzip(buf_head(&json), json.len, 1, &gz))) {
        errbuf_set(eb, rc, "record %s: gzip failed", r->uuid);
        goto out;
    }
    if ((rc = mkdir_p(dir, eb)))
        goto out;

    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        rc = -errno;
        errbuf_set(eb, rc, "cannot create %s: %s", tmp, err_str(rc));
        goto out;
    }
    /* mkostemp creates 0600; archive files are world-readable like ndt-server's. */
    if (fchmod(fd, 0644) != 0 || (rc = write_all(fd, buf_head(&gz), gz.len)) != 0 ||
        fsync(fd) != 0) {
        if (rc == 0)
            rc = -errno;
        errbuf_set(eb, rc, "cannot write %s: %s", tmp, err_str(rc));
        goto out_unlink;
    }
    int cfd = fd;
    fd = -1;
    if (close(cfd) != 0) {
        rc = -errno;
        errbuf_set(eb, rc, "cannot write %s: %s", tmp, err_str(rc));
        goto out_unlink;
    }
    if ((rc = publish(tmp, final))) {
        errbuf_set(eb, rc, "cannot rename %s to %s: %s", tmp, base, err_str(rc));
        goto out_unlink;
    }
    /*
     * The record is complete under its final name; a failed directory fsync
     * only weakens durability of the name. Reporting failure now would invite
     * a retry and a duplicate record, so warn and succeed.
     */
    int drc = fsync_dir(dir);
    if (drc)
        log_warn_errno(drc, "archive: fsync of directory %s failed", dir);
    if (path_out && path_n) {
        char abs[PATH_MAX];
        if (final[0] != '/' && realpath(dir, abs))
            snprintf(path_out, path_n, "%s/%s", abs, base);
        else
            snprintf(path_out, path_n, "%s", final);
    }
    rc = 0;
    goto out;

out_unlink:
    if (fd >= 0)
        close(fd);
    fd = -1;
    unlink(tmp);
out:
    if (fd >= 0)
        close(fd);
    buf_free(&gz);
    buf_free(&json);
    return rc;
}

/* Process start as UTC ns, from /proc/self/stat starttime and CLOCK_BOOTTIME. */
static int process_start_ns(uint64_t *out)
{
    char line[1024];
    int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = read(fd, line, sizeof(line) - 1);
    close(fd);
    if (n <= 0)
        return ERR_IO;
    line[n] = '\0';
    /* Field 2 (comm) may hold spaces and parentheses: count from the last ')'. */
    char *p = strrchr(line, ')');
    if (!p)
        return ERR_PROTO;
    p++;
    unsigned long long start_ticks = 0;
    for (int field = 3; field <= 22; field++) {
        while (*p == ' ')
            p++;
        if (field == 22) {
            char *end;
            start_ticks = strtoull(p, &end, 10);
            if (end == p)
                return ERR_PROTO;
            break;
        }
        p = strchr(p, ' ');
        if (!p)
            return ERR_PROTO;
    }
    long hz = sysconf(_SC_CLK_TCK);
    struct timespec boot;
    if (hz <= 0 || clock_gettime(CLOCK_BOOTTIME, &boot) != 0)
        return ERR_IO;
    uint64_t since_boot = (uint64_t)boot.tv_sec * NS_PER_SEC + (uint64_t)boot.tv_nsec;
    uint64_t boot_real = clock_real_ns() - since_boot;
    *out = boot_real + (uint64_t)start_ticks * (NS_PER_SEC / (uint64_t)hz);
    return 0;
}

/* Remove stale temporary files in dirfd's tree, depth-limited to the ndt7/YYYY/MM/DD layout. */
static int cleanup_dir(int dirfd, int depth, uint64_t before_ns)
{
    DIR *d = fdopendir(dirfd);
    if (!d) {
        int rc = -errno;
        close(dirfd);
        return rc;
    }
    int removed = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        struct stat st;
        if (fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            continue;
        if (S_ISDIR(st.st_mode) && depth < 4) {
            int sub = openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub >= 0) {
                int n = cleanup_dir(sub, depth + 1, before_ns);
                if (n > 0)
                    removed += n;
            }
            continue;
        }
        uint64_t mtime = (uint64_t)st.st_mtim.tv_sec * NS_PER_SEC + (uint64_t)st.st_mtim.tv_nsec;
        if (S_ISREG(st.st_mode) && strncmp(e->d_name, TMP_PREFIX, strlen(TMP_PREFIX)) == 0 &&
            mtime < before_ns && unlinkat(dirfd, e->d_name, 0) == 0)
            removed++;
    }
    closedir(d);
    return removed;
}

int archive_cleanup_tmp(const char *datadir)
{
    uint64_t start;
    int rc = process_start_ns(&start);
    if (rc)
        return rc;
    int fd = open(datadir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -errno;
    return cleanup_dir(fd, 0, start);
}

struct queued {
    struct queued *next;
    struct archive_record rec;
};

struct archive_writer {
    char *datadir;
    archive_done_cb cb;
    void *udata;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t work; /* signalled: queue non-empty or stopping */
    pthread_cond_t idle; /* broadcast: queue empty and nothing in flight */
    struct queued *head, *tail;
    bool busy;
    bool stopping;
    uint64_t written, failed;
};

static void *writer_main(void *arg)
{
    struct archive_writer *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->head && !w->stopping)
            pthread_cond_wait(&w->work, &w->mu);
        struct queued *q = w->head;
        if (!q)
            break; /* stopping and drained */
        w->head = q->next;
        if (!w->head)
            w->tail = NULL;
        w->busy = true;
        pthread_mutex_unlock(&w->mu);

        char path[PATH_MAX];
        struct errbuf eb = {{0}};
        int rc = archive_write_sync(w->datadir, &q->rec, path, sizeof(path), &eb);
        if (rc)
            log_error("archive: record %s not written: %s", q->rec.uuid, eb.msg);
        pthread_mutex_lock(&w->mu);
        if (rc)
            w->failed++;
        else
            w->written++;
        pthread_mutex_unlock(&w->mu);
        if (w->cb)
            w->cb(&q->rec, rc, rc ? NULL : path, w->udata);
        archive_record_free(&q->rec);
        free(q);

        pthread_mutex_lock(&w->mu);
        w->busy = false;
        if (!w->head)
            pthread_cond_broadcast(&w->idle);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

struct archive_writer *archive_writer_start(const char *datadir, archive_done_cb cb, void *udata,
                                            struct errbuf *eb)
{
    if (mkdir_p(datadir, eb) != 0)
        return NULL;
    /* Prove the directory is writable now rather than at the first record. */
    char probe[PATH_MAX];
    int len = snprintf(probe, sizeof(probe), "%s/" TMP_PREFIX "probe-XXXXXX", datadir);
    if (len < 0 || (size_t)len >= sizeof(probe)) {
        errbuf_set(eb, -ENAMETOOLONG, "archive directory name too long");
        return NULL;
    }
    int fd = mkostemp(probe, O_CLOEXEC);
    if (fd < 0) {
        int rc = -errno;
        errbuf_set(eb, rc, "archive directory %s is not writable: %s", datadir, err_str(rc));
        return NULL;
    }
    close(fd);
    unlink(probe);

    struct archive_writer *w = xcalloc(1, sizeof(*w));
    w->datadir = xstrdup(datadir);
    w->cb = cb;
    w->udata = udata;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->work, NULL);
    pthread_cond_init(&w->idle, NULL);
    int rc = pthread_create(&w->thread, NULL, writer_main, w);
    if (rc != 0) {
        errbuf_set(eb, -rc, "cannot start writer thread: %s", err_str(-rc));
        pthread_cond_destroy(&w->idle);
        pthread_cond_destroy(&w->work);
        pthread_mutex_destroy(&w->mu);
        free(w->datadir);
        free(w);
        return NULL;
    }
    return w;
}

void archive_writer_submit(struct archive_writer *w, struct archive_record *r)
{
    struct queued *q = xmalloc(sizeof(*q));
    q->next = NULL;
    q->rec = *r;
    archive_record_init(r);
    pthread_mutex_lock(&w->mu);
    if (w->tail)
        w->tail->next = q;
    else
        w->head = q;
    w->tail = q;
    pthread_cond_signal(&w->work);
    pthread_mutex_unlock(&w->mu);
}

void archive_writer_flush(struct archive_writer *w)
{
    pthread_mutex_lock(&w->mu);
    while (w->head || w->busy)
        pthread_cond_wait(&w->idle, &w->mu);
    pthread_mutex_unlock(&w->mu);
}

void archive_writer_stop(struct archive_writer *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->stopping = true;
    pthread_cond_signal(&w->work);
    pthread_mutex_unlock(&w->mu);
    /* The thread drains the queue before it sees stopping with nothing left. */
    pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->idle);
    pthread_cond_destroy(&w->work);
    pthread_mutex_destroy(&w->mu);
    free(w->datadir);
    free(w);
}

void archive_writer_stats(struct archive_writer *w, uint64_t *written, uint64_t *failed)
{
    pthread_mutex_lock(&w->mu);
    if (written)
        *written = w->written;
    if (failed)
        *failed = w->failed;
    pthread_mutex_unlock(&w->mu);
}
