/*
 * The library's allocator. Every allocation of xpr goes through these, so
 * that a fault-injection build (portable/fault.h) can make any of them fail;
 * in other builds they are the C library's functions.
 */
#ifndef XPR_ALLOC_H
#define XPR_ALLOC_H

#include <stdlib.h>

#ifdef XPR_FAULT_INJECTION
void *xpr__malloc(size_t size);
void *xpr__calloc(size_t count, size_t size);
void *xpr__realloc(void *p, size_t size);
#else
#define xpr__malloc(size) malloc(size)
#define xpr__calloc(count, size) calloc(count, size)
#define xpr__realloc(p, size) realloc(p, size)
#endif

#endif
