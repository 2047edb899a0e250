/*
 * fathom: one binary, several roles. Dispatches argv[1] to a subcommand.
 * Exit codes: 64 for usage errors (sysexits EX_USAGE), otherwise per subcommand.
 */
#include "main.h"
#include "core/log.h"

#include <stdio.h>
#include <string.h>

struct subcommand {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static const struct subcommand subcommands[] = {
    {"serve", serve_main, "run the ndt7 measurement server"},
    {"test", test_main, "run an ndt7 speed test (download and upload)"},
    {"demo", demo_main, "start a loopback server, run a full test, show the archived result"},
    {"data", data_main, "open-data tools: list, show, export, publish, verify, erase, reindex"},
    {"version", version_main, "print the version"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: fathom <command> [options]\n\n"
               "Fathom: an open, privacy-first Internet measurement platform (ndt7).\n\n"
               "commands:\n");
    for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
        fprintf(f, "  %-10s %s\n", subcommands[i].name, subcommands[i].summary);
    fprintf(f, "\nRun `fathom <command> --help` for the options of a command.\n");
}

int version_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("fathom %s (%s)\n", FATHOM_VERSION, FATHOM_GIT_COMMIT);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0)
        return version_main(argc - 1, argv + 1);
    for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
        if (strcmp(argv[1], subcommands[i].name) == 0)
            return subcommands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "fathom: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return EXIT_USAGE;
}
