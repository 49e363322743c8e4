/* cmd_verify.c - placeholder until the verify stage lands. */
#include "cli/cli.h"
#include "common/util.h"

int cmd_verify(int argc, char **argv)
{
	(void)argc, (void)argv;
	die(EXIT_SYSTEM, "not implemented yet");
}
