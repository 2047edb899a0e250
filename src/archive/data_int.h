/*
 * data_int: what the files of `fathom data` share (data.c: dispatch, ls,
 * show, export, erase, reindex, synth; data_publish.c: publish and verify).
 */
#ifndef FATHOM_ARCHIVE_DATA_INT_H
#define FATHOM_ARCHIVE_DATA_INT_H

#include "archive/index.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define DATA_DEFAULT_DATADIR "/var/lib/fathom"
#define DATA_MAX_DELAY_DAYS 365
#define DATA_RECORD_MAX ((size_t)64 << 20)

/* One option of a subcommand: drives getopt_long and --help (like serve's table). */
struct data_opt {
    const char *name;
    int has_arg;
    int id;
    const char *arg;
    const char *help;
};

/*
 * Parse argv against opts (getopt_long, no permutation of operands is
 * needed: operands are collected in order into operands[], at most
 * max_operands). For each option, handle(id, optarg, udata) returns 0, or an
 * exit status to stop with. --help prints usage (synopsis + table) and
 * returns -1; usage errors print a message and return 64.
 */
int data_parse(const char *cmd, const char *synopsis, const char *description,
               const struct data_opt *opts, size_t nopts, int argc, char **argv,
               int (*handle)(int id, const char *arg, void *udata), void *udata,
               const char **operands, int max_operands, int *noperands);

/* Print "fathom data CMD: MESSAGE" and the --help hint; returns 64 (EX_USAGE). */
int data_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "YYYY-MM-DD" → midnight UTC in ns. 0 or ERR_CONFIG. */
int data_parse_date(const char *s, uint64_t *ns);

/* A progress bar on stderr, drawn only when stderr is a terminal. */
struct progress {
    bool on;
    const char *what;
    int64_t total, done;
    int last_permille;
};
void progress_start(struct progress *p, const char *what, int64_t total);
void progress_step(struct progress *p);
void progress_end(struct progress *p);

/* Lowercase hex SHA-256 of n bytes (out: 65 bytes). */
void data_sha256_hex(const void *p, size_t n, char out[65]);

/* fsync the directory holding path (best effort; returns 0 or -errno). */
int data_fsync_parent(const char *path);

int data_publish_main(const char *datadir, int argc, char **argv);
int data_verify_main(int argc, char **argv);

#endif
