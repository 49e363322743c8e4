/* cmd_sign.c - placeholder until the sign stage lands. */
#include "cli/cli.h"
#include "common/util.h"

int cmd_sign(int argc, char **argv)
{
	(void)argc, (void)argv;
	die(EXIT_SYSTEM, "not implemented yet");
}
