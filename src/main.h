/*
 * Entry points of the subcommands. Each takes argv with argv[0] being the
 * subcommand name and returns the process exit status.
 */
#ifndef FATHOM_MAIN_H
#define FATHOM_MAIN_H

#define EXIT_USAGE 64

int serve_main(int argc, char **argv);
int test_main(int argc, char **argv);
int demo_main(int argc, char **argv);
int data_main(int argc, char **argv);
int version_main(int argc, char **argv);

#endif
