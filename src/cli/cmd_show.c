/* cmd_show.c - placeholder. */
#include "cli/cli.h"
#include "common/util.h"

int cmd_show(int argc, char **argv)
{
	(void)argc, (void)argv;
	die(EXIT_SYSTEM, "not implemented yet");
}
