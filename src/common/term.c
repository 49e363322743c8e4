/* term.c - colour, sizes and width for human output (see term.h). */
#include "common/term.h"
#include "common/util.h"

#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static int decide(int fd)
{
	const char *no = getenv("NO_COLOR");
	if (no && no[0])
		return 0;
	const char *t = getenv("TERM");
	if (t && !strcmp(t, "dumb"))
		return 0;
	return isatty(fd);
}

bool term_color(FILE *f)
{
	static int out = -1, err = -1;
	if (f == stdout)
		return out < 0 ? (out = decide(STDOUT_FILENO)) : out;
	if (f == stderr)
		return err < 0 ? (err = decide(STDERR_FILENO)) : err;
	return false;
}

const char *term_style(FILE *f, enum term_style s)
{
	static const char *const esc[] = {
		[TS_RESET] = "\033[0m", [TS_BOLD] = "\033[1m",    [TS_DIM] = "\033[2m",
		[TS_RED] = "\033[31m",  [TS_GREEN] = "\033[32m",  [TS_YELLOW] = "\033[33m",
		[TS_CYAN] = "\033[36m",
	};
	return term_color(f) ? esc[s] : "";
}

void term_size(uint64_t n, char *out, size_t len)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double v = (double)n;
	size_t u = 0;
	for (; v >= 1024 && u + 1 < ARRAY_SIZE(units); u++)
		v /= 1024;
	if (u)
		snprintf(out, len, "%.1f %s", v, units[u]);
	else
		snprintf(out, len, "%llu B", (unsigned long long)n);
}

void term_words(unsigned long bits, const struct term_word *words, size_t n, char *out, size_t len)
{
	size_t w = 0;
	out[0] = '\0';
	for (size_t i = 0; i < n && w < len; i++)
		if (bits & words[i].bit)
			w += (size_t)snprintf(out + w, len - w, "%s%s", w ? ", " : "", words[i].word);
}

int term_width(void)
{
	struct winsize ws;
	if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40)
		return ws.ws_col;
	const char *c = getenv("COLUMNS");
	int n = c ? atoi(c) : 0;
	return n >= 40 && n <= 1000 ? n : 80;
}
