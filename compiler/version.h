/* version.h -- the compiler's version, recorded in every executable it builds. */
#ifndef LUNAC_VERSION_H
#define LUNAC_VERSION_H
#define LUNAC_VERSION "0.1.0"
#define LUNAC_VERSION_STRING "lunac " LUNAC_VERSION
#endif
