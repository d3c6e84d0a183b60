/* The POSIX socket headers, for the files the platforms share. */
#ifndef XPR_SOCKETS_H
#define XPR_SOCKETS_H

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#endif
