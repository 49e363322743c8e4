/* cmd_keygen.c - placeholder until the keygen stage lands. */
#include "cli/cli.h"
#include "common/util.h"

int cmd_keygen(int argc, char **argv)
{
	(void)argc, (void)argv;
	die(EXIT_SYSTEM, "not implemented yet");
}
