/*
 * log: diagnostics on stderr, one line each, with level and time. Results are
 * data and never go through here. The level is checked before any argument is
 * evaluated. Lines never carry a client IP (privacy): name the test UUID.
 */
#ifndef FATHOM_CORE_LOG_H
#define FATHOM_CORE_LOG_H

enum log_level { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

extern enum log_level log_current_level;

/* Set the level; thread-unsafe, call at start-up. */
void log_set_level(enum log_level lvl);
/* Parse "error|warn|info|debug". Returns 0 or ERR_CONFIG. */
int log_parse_level(const char *s, enum log_level *out);

void log_write(enum log_level lvl, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define LOG_AT(lvl, errnum, ...)                                                                   \
    do {                                                                                           \
        if ((lvl) <= log_current_level)                                                            \
            log_write((lvl), (errnum), __VA_ARGS__);                                               \
    } while (0)

#define log_error(...) LOG_AT(LOG_ERROR, 0, __VA_ARGS__)
#define log_warn(...) LOG_AT(LOG_WARN, 0, __VA_ARGS__)
#define log_info(...) LOG_AT(LOG_INFO, 0, __VA_ARGS__)
#define log_debug(...) LOG_AT(LOG_DEBUG, 0, __VA_ARGS__)
/* The _errno variants append ": <description of code>", code being -errno or an ERR_*. */
#define log_error_errno(code, ...) LOG_AT(LOG_ERROR, (code), __VA_ARGS__)
#define log_warn_errno(code, ...) LOG_AT(LOG_WARN, (code), __VA_ARGS__)

#endif
