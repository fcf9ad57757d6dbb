/* Growable arrays in their own mappings, grown by mremap. */
#include "sys/mapped_array.h"

#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

static size_t page_round(size_t bytes)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    return (bytes + page - 1) / page * page;
}

int ash_mapped_array_grow(void *vp, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    if (size == 0 || need > SIZE_MAX / 2 / size) {
        errno = ENOMEM;
        return -1;
    }
    /* Doubling costs only address space: pages are resident once written. */
    size_t ncap = *cap ? *cap : 1;
    while (ncap < need)
        ncap *= 2;
    size_t nbytes = page_round(ncap * size);
    void *old = *(void **)vp, *nv;
    if (old)
        nv = mremap(old, page_round(*cap * size), nbytes, MREMAP_MAYMOVE);
    else
        nv = mmap(NULL, nbytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (nv == MAP_FAILED)
        return -1;
    *(void **)vp = nv;
    *cap = nbytes / size;
    return 0;
}

void ash_mapped_array_free(void *p, size_t cap, size_t size)
{
    if (p)
        munmap(p, page_round(cap * size));
}
