/* cmd_run.c - placeholder until the run stage lands. */
#include "cli/cli.h"
#include "common/util.h"

int cmd_run(int argc, char **argv)
{
	(void)argc, (void)argv;
	die(EXIT_SYSTEM, "not implemented yet");
}
