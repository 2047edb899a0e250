/* Unit-test runner: forks each registered test with a timeout. */
#include "harness.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_TESTS 512

static struct {
    const char *name;
    test_fn fn;
} tests[MAX_TESTS];
static int ntests;

void harness_register(const char *name, test_fn fn)
{
    if (ntests < MAX_TESTS) {
        tests[ntests].name = name;
        tests[ntests].fn = fn;
        ntests++;
    }
}

int main(int argc, char **argv)
{
    int passed = 0, failed = 0;
    unsigned timeout = 60;
    const char *t = getenv("TEST_TIMEOUT");
    if (t)
        timeout = (unsigned)strtoul(t, NULL, 10);
    for (int i = 0; i < ntests; i++) {
        if (argc > 1 && strcmp(argv[1], tests[i].name) != 0)
            continue;
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) {
            alarm(timeout);
            tests[i].fn();
            fflush(NULL);
            _exit(0);
        }
        int st = 0;
        waitpid(pid, &st, 0);
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
            printf("ok %d - %s\n", i + 1, tests[i].name);
            passed++;
        } else {
            if (WIFSIGNALED(st))
                printf("not ok %d - %s (signal %d%s)\n", i + 1, tests[i].name, WTERMSIG(st),
                       WTERMSIG(st) == SIGALRM ? ", timeout" : "");
            else
                printf("not ok %d - %s (exit %d)\n", i + 1, tests[i].name, WEXITSTATUS(st));
            failed++;
        }
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
