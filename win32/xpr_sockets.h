/* The socket headers for the files the platforms share: Winsock, through
 * its one include point. */
#ifndef XPR_SOCKETS_H
#define XPR_SOCKETS_H

#include "xpr_winsock.h"

#endif
