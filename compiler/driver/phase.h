/* phase.h -- the driver's status line on a terminal (phase.c). */
#ifndef LUNAC_PHASE_H
#define LUNAC_PHASE_H

/* Show "lunac: WHAT ... N s" in place on stderr, when it is a terminal. */
void drv_phase(const char *what);

/* Erase the status line, if one is shown (before any other output). */
void drv_phase_end(void);

#endif
