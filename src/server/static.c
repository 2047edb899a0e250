/*
 * static: the files served at /. Loaded into memory once at start-up (from
 * --web DIR or from the copy compiled into the binary), so serving them never
 * touches the disk on a loop thread. Paths are matched exactly against the
 * loaded table: there is no file-system lookup a request could steer.
 */
#include "server/server.h"

#include "core/xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STATIC_MAX_TOTAL (64u << 20)
#define STATIC_MAX_DEPTH 8

struct embedded_file {
    const char *path;
    const unsigned char *data;
    size_t len;
};
extern const struct embedded_file fathom_embedded_files[];
extern const size_t fathom_embedded_count;

static const char *content_type(const char *path)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".txt", "text/plain; charset=utf-8"},
        {".md", "text/markdown; charset=utf-8"},
    };
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    return "application/octet-stream";
}

static void add_file(struct static_files *sf, const char *path, uint8_t *data, size_t len)
{
    sf->files = xrealloc(sf->files, (sf->n + 1) * sizeof(*sf->files));
    sf->files[sf->n].path = xstrdup(path);
    sf->files[sf->n].content_type = content_type(path);
    sf->files[sf->n].data = data;
    sf->files[sf->n].len = len;
    sf->n++;
}

static int load_file(int dirfd, const char *name, uint8_t **data, size_t *len, size_t budget)
{
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > budget) {
        close(fd);
        return ERR_TOOBIG;
    }
    uint8_t *p = xmalloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, p + got, (size_t)st.st_size - got);
        if (r <= 0) {
            free(p);
            close(fd);
            return r < 0 ? -errno : ERR_IO;
        }
        got += (size_t)r;
    }
    close(fd);
    *data = p;
    *len = got;
    return 0;
}

static int load_tree(struct static_files *sf, int dirfd, const char *prefix, int depth,
                     size_t *total, struct errbuf *eb)
{
    if (depth > STATIC_MAX_DEPTH)
        return 0;
    DIR *d = fdopendir(dirfd);
    if (!d) {
        close(dirfd);
        return errbuf_set(eb, -errno, "cannot read directory: %s", strerror(errno));
    }
    struct dirent *de;
    int r = 0;
    while (r == 0 && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char path[1024];
        if (snprintf(path, sizeof(path), "%s/%s", prefix, de->d_name) >= (int)sizeof(path))
            continue;
        struct stat st;
        if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            int sub = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (sub >= 0)
                r = load_tree(sf, sub, path, depth + 1, total, eb);
        } else if (S_ISREG(st.st_mode)) {
            uint8_t *data = NULL;
            size_t len = 0;
            int lr = load_file(dirfd, de->d_name, &data, &len, STATIC_MAX_TOTAL - *total);
            if (lr == ERR_TOOBIG)
                r = errbuf_set(eb, ERR_TOOBIG, "more than %u MiB of files", STATIC_MAX_TOTAL >> 20);
            else if (lr == 0) {
                *total += len;
                add_file(sf, path, data, len);
            }
        }
    }
    closedir(d);
    return r;
}

int static_load_dir(struct static_files *sf, const char *dir, struct errbuf *eb)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return errbuf_set(eb, -errno, "%s", strerror(errno));
    size_t total = 0;
    return load_tree(sf, fd, "", 0, &total, eb);
}

void static_load_embedded(struct static_files *sf)
{
    for (size_t i = 0; i < fathom_embedded_count; i++) {
        uint8_t *copy = xmalloc(fathom_embedded_files[i].len + 1);
        memcpy(copy, fathom_embedded_files[i].data, fathom_embedded_files[i].len);
        add_file(sf, fathom_embedded_files[i].path, copy, fathom_embedded_files[i].len);
    }
}

const struct static_file *static_find(const struct static_files *sf, const char *path)
{
    char want[1024];
    size_t n = strlen(path);
    if (n == 0 || path[0] != '/')
        return NULL;
    if (path[n - 1] == '/')
        snprintf(want, sizeof(want), "%sindex.html", path);
    else
        snprintf(want, sizeof(want), "%s", path);
    for (size_t i = 0; i < sf->n; i++)
        if (strcmp(sf->files[i].path, want) == 0)
            return &sf->files[i];
    return NULL;
}

void static_free(struct static_files *sf)
{
    for (size_t i = 0; i < sf->n; i++) {
        free(sf->files[i].path);
        free(sf->files[i].data);
    }
    free(sf->files);
    sf->files = NULL;
    sf->n = 0;
}
