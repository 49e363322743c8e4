/* cmd_manifest.c - placeholder until the manifest stage lands. */
#include "cli/cli.h"
#include "common/util.h"

int cmd_manifest(int argc, char **argv)
{
	(void)argc, (void)argv;
	die(EXIT_SYSTEM, "not implemented yet");
}
