/* cmd_show_bundle.c - placeholder until the manifest stage lands. */
#include "cli/cli.h"
#include "common/util.h"

int show_bundle(const char *dir, bool json)
{
	(void)json;
	die(EXIT_SYSTEM, "%s: showing bundles is not implemented yet", dir);
}
