/* Placeholder until the server lands: fathom serve is not implemented yet. */
#include "main.h"

#include <stdio.h>

int serve_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "fathom serve: not implemented yet\n");
    return 1;
}
