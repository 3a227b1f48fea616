/*
** version.h -- the compiler's version, written into every model descriptor
** ("compiler": "lunac 0.1.0") and printed by `lunac --version`.
*/
#ifndef LUNAC_VERSION_H
#define LUNAC_VERSION_H

#define LUNAC_VERSION "0.1.0"
#define LUNAC_COMPILER "lunac " LUNAC_VERSION
#define LUNAC_VERSION_STRING LUNAC_COMPILER   /* what --version prints */

#endif
