/* term.h - human output on a terminal: colour only when the stream is a TTY
 * and NO_COLOR (https://no-color.org) is unset or empty, sizes in binary
 * units, and the terminal's width.  Data output (--json) never goes through
 * here: it is the same on a TTY and in a pipe. */
#ifndef SGXPY_TERM_H
#define SGXPY_TERM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum term_style {
	TS_RESET,
	TS_BOLD,
	TS_DIM,
	TS_RED,    /* removed, denied, differs */
	TS_GREEN,  /* added, ok */
	TS_YELLOW, /* changed (re-hashed, rights) */
	TS_CYAN,   /* names: images, paths in headings */
};

/* Colour for stream f (stdout or stderr): a TTY and NO_COLOR unset or empty.
 * Decided once per stream. */
bool term_color(FILE *f);
/* The escape sequence for style s on stream f, or "" without colour. */
const char *term_style(FILE *f, enum term_style s);
/* "1.2 MiB", "512 B". */
void term_size(uint64_t n, char *out, size_t len);
/* Flags in words: the words of the set bits, in table order, joined by ", "
 * ("" if none).  Truncated to fit len. */
struct term_word {
	unsigned long bit;
	const char *word;
};
void term_words(unsigned long bits, const struct term_word *words, size_t n, char *out, size_t len);
/* Columns of the terminal on stdout ($COLUMNS, TIOCGWINSZ), 80 when not a TTY. */
int term_width(void);

#endif
